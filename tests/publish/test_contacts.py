"""How to reach a company: only the company's channels from public offers, never a person."""

from __future__ import annotations

from pathlib import Path

from ciblage.contacts import (
    annuaire_url,
    contact_channels,
    fixed_phone,
    osm_url,
    public_contact,
    role_email,
)
from ciblage.sources.offres_json import OFFRE_COLUMNS, flatten_offer
from tests.publish import synthetic as syn


def test_person_names_and_private_channels_are_dropped() -> None:
    got = public_contact(
        {
            "nom": "Mme Sophie Martin",
            "courriel": "sophie.martin@gmail.com",
            "telephone": "06 12 34 56 78",
            "coordonnees1": "M. Julien Durand",
            "coordonnees2": "12 RUE DE BOURGOGNE",
            "coordonnees3": "45000 ORLEANS",
        },
        {"nom": "SOCIETE X", "url": "https://www.x.fr"},
    )
    assert got == {
        "contact_url": None,
        "contact_courriel": None,
        "contact_telephone": None,
        "contact_adresse": "12 RUE DE BOURGOGNE — 45000 ORLEANS",
        "site_web": "https://www.x.fr",
    }
    assert "Martin" not in str(got) and "Durand" not in str(got)


def test_company_channels_are_kept() -> None:
    got = public_contact(
        {
            "courriel": "Pour postuler, utiliser le lien suivant : https://candidat.example/o/1",
            "telephone": "+33 2 38 12 34 56",
            "coordonnees1": "Courriel : recrutement@x.fr",
            "urlRecruteur": "https://www.x.fr/recrutement",
        },
        None,
    )
    assert got["contact_url"] == "https://candidat.example/o/1"
    assert got["contact_courriel"] == "recrutement@x.fr"
    assert got["contact_telephone"] == "02 38 12 34 56"
    assert got["site_web"] == "https://www.x.fr/recrutement"
    assert role_email("rh@x.fr") and role_email("candidatures.orleans@x.fr")
    assert not role_email("jean.dupont@x.fr") and not role_email("rhodes.marie@x.fr")
    assert fixed_phone("07 00 00 00 00") is None and fixed_phone("0238") is None


def test_offer_reader_never_reads_the_contact_name() -> None:
    flat = flatten_offer(
        {"id": "1", "contact": {"nom": "M. Pierre Leroy", "telephone": "0238000000"}}
    )
    assert set(flat) == set(OFFRE_COLUMNS)
    assert flat["contact_telephone"] == "02 38 00 00 00"
    assert "Leroy" not in repr(flat)


def test_public_pages() -> None:
    assert annuaire_url("123456789") == (
        "https://annuaire-entreprises.data.gouv.fr/entreprise/123456789"
    )
    assert "mlat=47.90290&mlon=1.90930" in (osm_url(47.9029, 1.9093) or "")
    assert osm_url(None, 1.0) is None
    ch = contact_channels({"contact_courriel": "rh@x.fr", "contact_telephone": "02 38 00 00 00"})
    assert [c["href"] for c in ch] == ["mailto:rh@x.fr", "tel:0238000000"]


def test_lists_show_contacts_of_public_offers_only(synth_settings) -> None:
    """The contact of a listed company is its latest offer's before as-of, with its date;
    a non-diffusible establishment's offer contact never reaches any row."""
    import polars as pl

    from ciblage.territories import parse_territory
    from ciblage.warehouse import connect
    from scoring.ranking import RankingOptions, rank_targets

    con = connect(Path(synth_settings.warehouse), read_only=True)
    try:
        df = rank_targets(con, synth_settings, syn.AS_OF, parse_territory("all"), RankingOptions())
    finally:
        con.close()
    many = df.filter(pl.col("siret") == syn.MANY).row(0, named=True)
    assert many["contact_url"] == "https://www.many.fr/carrieres/o1"
    assert many["contact_telephone"] == "02 38 00 00 01"
    assert str(many["contact_date"]) == "2026-10-02"  # o1, not o5 (after as-of)
    assert many["site_web"] == "https://www.many.fr"
    assert syn.P_ETAB not in set(df["siret"])
    assert "secret.fr" not in str(df.to_dicts()) and "apres-t" not in str(df.to_dicts())
    others = df.filter(pl.col("siret") != syn.MANY)
    assert others["contact_url"].null_count() == others.height


def test_no_output_file_holds_a_private_contact(synth_published) -> None:
    run = Path(synth_published["run_dir"])
    for path in list(run.rglob("*.html")) + list(run.rglob("*.csv")):
        text = path.read_text("utf-8", errors="ignore")
        assert "secret.fr" not in text and syn.P_ETAB not in text, path
