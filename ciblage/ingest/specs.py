"""The sources, declared once each; `SPECS` order is the load order (referentials first).

To add a source: write a reader if no existing one fits, `sql/<table>.sql` building
`<table>__new` from `{{ staging }}`, and append a `SourceSpec` here (see `spec.py`).
"""

from __future__ import annotations

from ciblage import formats
from ciblage.ingest.dpae import DPAE_DEPARTEMENT, DPAE_REGION_NA38, REF_DPAE_SECTEUR
from ciblage.ingest.readers import read_naf_sql, read_tabular
from ciblage.ingest.spec import Rule, SourceSpec
from ciblage.quality import Check
from ciblage.sources.offres_json import OFFRE_COLUMNS, offer_files, read_offres_source


def dep_of(commune: str) -> str:
    """SQL: département of an INSEE commune code (3 characters overseas)."""
    c = commune
    return f"CASE WHEN left({c}, 2) IN ('97', '98') THEN left({c}, 3) ELSE left({c}, 2) END"


def _case(mapping: dict[str, str], column: str) -> str:
    whens = " ".join(
        f"WHEN '{k}' THEN '{v.replace(chr(39), chr(39) * 2)}'" for k, v in mapping.items()
    )
    return f"CASE {column} {whens} END"


ROW_COUNT = Check("row_count_ratio", arg=0.98)  # not below 98 % of the previous load
SIRET_RULE = Rule("siret", "siret", "SIRET invalide")  # + why: « 13 chiffres au lieu de 14 »
COMMUNE_RE = "[0-9][0-9AB][0-9]{3}"
# Collectivités d'outre-mer (975, 977, 978, 98x) are outside the COG commune list.
IN_COG = ("ref_commune", "code_commune")
IN_COG_CHECK = "ref_commune.code_commune"

# ---- referentials ------------------------------------------------------------------------

REF_REGIONS = SourceSpec(
    name="ref_regions",
    tables=("ref_region",),
    columns=("REG", "LIBELLE"),
    reader=read_tabular,
    keys=("REG",),
    rules=(Rule("REG", "not_null", "code région manquant"),),
    checks=(Check("unique", "REG"),),
)
REF_DEPARTEMENTS = SourceSpec(
    name="ref_departements",
    tables=("ref_departement",),
    columns=("DEP", "REG", "LIBELLE"),
    reader=read_tabular,
    keys=("DEP",),
    rules=(Rule("DEP", "regex", "code département invalide", arg="[0-9][0-9AB][0-9]?"),),
    checks=(Check("unique", "DEP"),),
)
REF_BASSIN = SourceSpec(
    name="ref_bassin",
    tables=("ref_commune_bassin", "ref_bassin"),
    columns=("code_insee", "code_bassin_emploi"),
    reader=read_tabular,
    keys=("code_insee",),
    rules=(
        Rule("code_insee", "regex", "code commune invalide", arg=COMMUNE_RE),
        Rule("code_bassin_emploi", "not_null", "code bassin manquant"),
    ),
    checks=(Check("unique", "code_insee"), Check("not_null", "code_bassin_emploi")),
    description="Pôle emploi's commune -> bassin d'emploi table (older COG vintage)",
)
REF_POSTAL = SourceSpec(
    name="ref_postal",
    tables=("ref_code_postal",),
    columns=("Code_commune_INSEE", "Code_postal", "Libelle_acheminement", "coordonnees_gps"),
    reader=read_tabular,
    delimiter=";",
    rules=(
        Rule("Code_commune_INSEE", "regex", "code commune invalide", arg=COMMUNE_RE),
        Rule(
            "coordonnees_gps",
            "regex",
            "coordinates are not 'lat, lon'",
            arg=r"-?[0-9.]+, *-?[0-9.]+",
        ),
    ),
    description="La Poste base officielle des codes postaux (older vintage)",
)
REF_COMMUNES = SourceSpec(
    name="ref_communes",
    tables=("ref_commune",),
    columns=("TYPECOM", "COM", "REG", "DEP", "LIBELLE", "COMPARENT"),
    reader=read_tabular,
    keys=("TYPECOM", "COM"),
    rules=(
        Rule("COM", "regex", "code commune invalide", arg=COMMUNE_RE),
        Rule("TYPECOM", "in_set", "type de commune inconnu", arg=("COM", "ARM", "COMD", "COMA")),
    ),
    checks=(Check("not_null", "COM"), Check("regex", "COM", arg=COMMUNE_RE)),
    depends=("ref_bassin", "ref_postal"),
)
REF_NAF = SourceSpec(
    name="ref_naf",
    tables=("ref_naf",),
    columns=(
        "sous_classe_a_732",
        "intitule_de_la_naf_rev_2",
        "division_a_88",
        "section_a_38",
        "section_a_21",
        "section_a_10",
    ),
    reader=read_naf_sql,
    keys=("sous_classe_a_732",),
    rules=(
        Rule(
            "sous_classe_a_732",
            "regex",
            "invalid NAF code",
            arg="[0-9]{4}[A-Z]",
            when="sous_classe_a_732 <> 'RIEN'",
        ),
    ),
    checks=(Check("unique", "sous_classe_a_732"),),
    templates={"grand_secteur": _case(formats.DPAE_GRAND_SECTEUR_BY_A21, "section_a_21")},
)
REF_ROME = SourceSpec(
    name="ref_rome",
    tables=("ref_rome",),
    columns=("code_rome", "libelle_rome", "code_rome_parent"),
    reader=read_tabular,
    keys=("code_rome",),
    rules=(Rule("code_rome", "regex", "code ROME invalide", arg="[A-N][0-9]{4}"),),
    checks=(Check("unique", "code_rome"), Check("not_null", "code_rome_parent")),
)
REF_ROME_APPELLATION = SourceSpec(
    name="ref_rome_appellation",
    tables=("ref_rome_appellation",),
    columns=("code_ogr", "libelle_appellation_long", "code_rome", "code_rome_parent"),
    reader=read_tabular,
    keys=("code_ogr",),
    rules=(Rule("code_rome", "regex", "code ROME invalide", arg="[A-N][0-9]{4}"),),
    checks=(Check("unique", "code_ogr"),),
)
REF_NAF_ROME = SourceSpec(
    name="ref_naf_rome",
    tables=("ref_naf_rome",),
    columns=("rome_id", "rome_label", "naf_id", "hirings"),
    reader=read_tabular,
    newlines_in_values=True,
    rules=(
        Rule("rome_id", "regex", "code ROME invalide", arg="[A-N][0-9]{4}"),
        Rule("naf_id", "in_table", "code NAF absent de la NAF rév. 2", arg=("ref_naf", "naf_code")),
        Rule("hirings", "int", "embauches non entières"),
    ),
    checks=(Check("not_null", "naf_id"),),
    depends=("ref_naf",),
)
REF_TENSION = SourceSpec(
    name="ref_tension",
    tables=("ref_tension",),
    columns=("fap_code", "tension_pct", "rome_code"),
    reader=read_tabular,
    newlines_in_values=True,
    rules=(
        Rule("rome_code", "regex", "code ROME invalide", arg="[A-N][0-9]{4}"),
        Rule("tension_pct", "number", "tension non numérique"),
    ),
    checks=(Check("between", "tension_pct", arg=(0, 100), mostly=0.99),),
)

# ---- SIRENE ---------------------------------------------------------------------------

SIRENE_GEOLOC = SourceSpec(
    name="sirene_geoloc",
    tables=("etablissement_geoloc",),
    columns=("siret", "qualite_xy", "y_latitude", "x_longitude"),
    reader=read_tabular,
    header=formats.SIRENE_GEOLOC_COLUMNS,
    delimiter=";",
    member=formats.SIRENE_GEOLOC_CSV,
    keys=("siret",),
    rules=(
        SIRET_RULE,
        Rule("y_latitude", "number", "latitude non numérique"),
        Rule("x_longitude", "number", "longitude non numérique"),
    ),
    checks=(Check("luhn", "siret", mostly=0.99), Check("unique", "siret", mostly=0.99), ROW_COUNT),
    required=False,
)
SIRENE_UNITE_LEGALE = SourceSpec(
    name="sirene_unite_legale",
    tables=("unite_legale",),
    columns=(
        "siren",
        "statutDiffusionUniteLegale",
        "dateCreationUniteLegale",
        "trancheEffectifsUniteLegale",
        "categorieEntreprise",
        "etatAdministratifUniteLegale",
        "nomUniteLegale",
        "nomUsageUniteLegale",
        "prenomUsuelUniteLegale",
        "prenom1UniteLegale",
        "denominationUniteLegale",
        "categorieJuridiqueUniteLegale",
        "activitePrincipaleUniteLegale",
        "economieSocialeSolidaireUniteLegale",
        "societeMissionUniteLegale",
    ),
    reader=read_tabular,
    header=formats.SIRENE_UNITE_LEGALE_COLUMNS,
    member=formats.SIRENE_UNITE_LEGALE_CSV,
    keys=("siren",),
    rules=(
        Rule("siren", "siren", "SIREN invalide"),
        Rule("dateCreationUniteLegale", "date", "date illisible"),
        Rule("etatAdministratifUniteLegale", "in_set", "état inconnu", arg=("A", "C")),
    ),
    checks=(
        Check("unique", "siren", mostly=0.99),
        Check("luhn", "siren", mostly=0.99),
        Check("date_parse", "dateCreationUniteLegale", arg="%Y-%m-%d", mostly=0.99),
        ROW_COUNT,
    ),
)
_ETAB_COMMUNE = "codeCommuneEtablissement"
SIRENE_ETABLISSEMENT = SourceSpec(
    name="sirene_etablissement",
    tables=("etablissement", "etablissement_commune"),
    columns=(
        "siren",
        "nic",
        "siret",
        "statutDiffusionEtablissement",
        "dateCreationEtablissement",
        "trancheEffectifsEtablissement",
        "anneeEffectifsEtablissement",
        "etablissementSiege",
        "complementAdresseEtablissement",
        "numeroVoieEtablissement",
        "indiceRepetitionEtablissement",
        "typeVoieEtablissement",
        "libelleVoieEtablissement",
        "codePostalEtablissement",
        "libelleCommuneEtablissement",
        _ETAB_COMMUNE,
        "dateDebut",
        "etatAdministratifEtablissement",
        "enseigne1Etablissement",
        "denominationUsuelleEtablissement",
        "activitePrincipaleEtablissement",
        "nomenclatureActivitePrincipaleEtablissement",
        "caractereEmployeurEtablissement",
    ),
    reader=read_tabular,
    header=formats.SIRENE_ETABLISSEMENT_COLUMNS,
    member=formats.SIRENE_ETABLISSEMENT_CSV,
    keys=("siret",),
    rules=(
        SIRET_RULE,
        Rule(
            "siret",
            "in_set",
            "SIRET does not start with its SIREN + NIC",
            arg=("ok",),
            expr="CASE WHEN siret = siren || nic THEN 'ok' ELSE 'mismatch' END",
        ),
        Rule("dateCreationEtablissement", "date", "date illisible"),
        Rule("dateDebut", "date", "date illisible"),
        Rule("etatAdministratifEtablissement", "in_set", "état inconnu", arg=("A", "F")),
        Rule(
            "activitePrincipaleEtablissement",
            "in_table",
            "code NAF absent de la NAF rév. 2",
            arg=("ref_naf", "naf"),
            when="nomenclatureActivitePrincipaleEtablissement = 'NAFRev2'",
        ),
        Rule(
            _ETAB_COMMUNE,
            "in_table",
            "commune absente du COG",
            arg=IN_COG,
            # Closed establishments keep the commune code of their time; COM outside the COG.
            when="etatAdministratifEtablissement = 'A' "
            f"AND left({_ETAB_COMMUNE}, 3) NOT IN ('975', '977', '978') "
            f"AND left({_ETAB_COMMUNE}, 2) <> '98'",
        ),
    ),
    checks=(
        Check("not_null", "siret"),
        Check("unique", "siret", mostly=0.99),
        Check("luhn", "siret", mostly=0.99),
        Check(
            "regex",
            "activitePrincipaleEtablissement",
            arg=r"[0-9]{2}\.[0-9]{2}[A-Z]?",
            mostly=0.95,
            critical=False,
        ),
        Check("date_parse", "dateCreationEtablissement", arg="%Y-%m-%d", mostly=0.99),
        Check("in_table", _ETAB_COMMUNE, arg=IN_COG_CHECK, mostly=0.95, critical=False),
        ROW_COUNT,
    ),
    partition=dep_of(_ETAB_COMMUNE),
    depends=("sirene_unite_legale", "sirene_geoloc", "ref_naf", "ref_communes"),
    # Closed before the history starts: never in any snapshot's population (the feature
    # SQL keeps establishments not closed before the snapshot) nor the establishment of an
    # offer a feature counts, about half of the 43 M national rows. A row whose state or
    # date does not read stays, for the row rules.
    history=(
        "etatAdministratifEtablissement IS DISTINCT FROM 'F' "
        "OR try_cast(dateDebut AS DATE) IS NULL "
        "OR try_cast(dateDebut AS DATE) >= DATE '{since}'"
    ),
)

# ---- per-SIRET hires (DPAE aggregates: ciblage/ingest/dpae.py) ------------------------------

HIRES_SIRET = SourceSpec(
    name="hires_siret",
    tables=("hires_siret",),
    columns=formats.HIRES_SIRET_COLUMNS,
    header=formats.HIRES_SIRET_COLUMNS,
    reader=read_tabular,
    delimiter=";",
    keys=("siret", "mois", "code_rome"),
    rules=(
        SIRET_RULE,
        Rule("mois", "month", "mois ni AAAA-MM ni AAAA-MM-JJ"),
        Rule("mois", "not_null", "mois manquant"),
        Rule("code_rome", "regex", "code ROME invalide", arg="[A-N][0-9]{4}"),
        Rule("nombre_embauches", "regex", "embauches non entières ou négatives", arg="[0-9]+"),
    ),
    checks=(Check("luhn", "siret", mostly=0.99), Check("not_null", "mois")),
    required=False,
)

# ---- France Travail job offers (Offres d'emploi API v2 JSON) ----------------------------

# dateCreation as the API writes it: 2026-03-02T09:00:00.000Z, 2019-01-23T13:32:22+01:00
ISO_DATETIME = (
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?"
)
OFFRES = SourceSpec(
    name="offres",
    # offre: one row per offer id (latest dateActualisation); offre_duplicate: the copies
    # folded into it, so that deduplication is counted, not silent.
    tables=("offre", "offre_duplicate"),
    columns=OFFRE_COLUMNS,
    reader=read_offres_source,
    cache_files=offer_files,  # monthly files: the next night changes the current month's
    rules=(
        Rule("offre_id", "not_null", "identifiant d'offre manquant"),
        Rule("date_creation", "not_null", "dateCreation manquante"),
        Rule("date_creation", "regex", "dateCreation non ISO 8601", arg=ISO_DATETIME),
    ),
    checks=(
        # a few offers without id go to quarantine; many mean a wrong file format
        Check("not_null", "offre_id", mostly=0.95),
        Check("regex", "code_rome", arg="[A-N][0-9]{4}", mostly=0.99),
        Check("regex", "secteur_activite", arg="[0-9]{2}", mostly=0.95, critical=False),
        Check("in_table", "code_commune", arg=IN_COG_CHECK, mostly=0.95, critical=False),
        Check("luhn", "entreprise_siret", mostly=0.9, critical=False),
        # A harvest covers a rolling window: a smaller load is reported, not refused.
        Check("row_count_ratio", arg=0.5, critical=False),
    ),
    partition=dep_of("code_commune"),
    required=False,
    description="Offres d'emploi API v2: search responses and JSON lines (folder or file)",
)

SPECS: list[SourceSpec] = [
    REF_REGIONS,
    REF_DEPARTEMENTS,
    REF_BASSIN,
    REF_POSTAL,
    REF_COMMUNES,
    REF_NAF,
    REF_DPAE_SECTEUR,
    REF_ROME,
    REF_ROME_APPELLATION,
    REF_NAF_ROME,
    REF_TENSION,
    SIRENE_GEOLOC,
    SIRENE_UNITE_LEGALE,
    SIRENE_ETABLISSEMENT,
    OFFRES,
    DPAE_DEPARTEMENT,
    DPAE_REGION_NA38,
    HIRES_SIRET,
]


def registry() -> dict[str, SourceSpec]:
    return {s.name: s for s in SPECS}
