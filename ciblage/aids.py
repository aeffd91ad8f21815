"""Hiring aids that fit a job seeker's profile and a company, and why.

The aids themselves (names, amounts, sources, rules) live in the versioned reference file
`data/aides/aides_embauche.toml`, because they change with every finance law; this module
only evaluates their rules. Each verdict is « oui », « non » or « à vérifier » (a profile
field the counselor did not give), with the reasons in French, so the counselor can tell
the company exactly why an aid applies.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ciblage.config import PROJECT_ROOT

AIDS_FILE = PROJECT_ROOT / "data" / "aides" / "aides_embauche.toml"
SECTORS = ("tous", "prive", "non_marchand", "public")
GROUPS = ("rsa", "rqth", "qpv", "moins_26", "50_ans_et_plus", "chomage_longue_duree")
PROFILE_KEYS = {"rsa", "rqth", "qpv", "age_min", "age_max", "age_max_sauf_rqth"}
PROFILE_KEYS |= {"mois_chomage_min", "un_parmi"}
COMPANY_KEYS = {"secteur", "effectif_max"}
LONG_TERM_MONTHS = 12
# lower bound of each INSEE headcount band (employees)
BAND_MIN = {"NN": 0, "00": 0, "01": 1, "02": 3, "03": 6, "11": 10, "12": 20, "21": 50}
BAND_MIN |= {"22": 100, "31": 200, "32": 250, "41": 500, "42": 1000, "51": 2000}
BAND_MIN |= {"52": 5000, "53": 10000}
YES, NO, CHECK = "oui", "non", "à vérifier"


class AidsFileError(ValueError):
    """The aids reference file is malformed."""


@dataclass(frozen=True)
class Profile:
    rsa: bool = False
    rqth: bool = False
    qpv: bool = False
    age: int | None = None
    months_unemployed: int | None = None


@dataclass(frozen=True)
class Company:
    categorie_juridique: str | None = None
    tranche_effectifs: str | None = None

    @property
    def sector(self) -> str | None:
        cj = self.categorie_juridique or ""
        if not cj:
            return None
        if cj.startswith("7"):
            return "public"
        if cj[:2] in ("92", "93"):
            return "association"
        return "prive"


@dataclass(frozen=True)
class Aid:
    id: str
    nom: str
    resume: str
    source: str
    etat_au: str
    verifie_le: str
    profil: dict[str, Any]
    entreprise: dict[str, Any]


@dataclass
class Verdict:
    aid: Aid
    status: str = YES
    reasons: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        self.status = NO
        self.reasons.append(reason)

    def unknown(self, reason: str) -> None:
        if self.status != NO:
            self.status = CHECK
        self.reasons.append(reason)

    @property
    def freshness(self) -> str:
        if self.aid.verifie_le:
            return f"vérifié le {self.aid.verifie_le}"
        return f"règles de {self.aid.etat_au}, à vérifier sur la source"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.aid.id,
            "nom": self.aid.nom,
            "statut": self.status,
            "pourquoi": " ; ".join(self.reasons),
            "resume": self.aid.resume,
            "source": self.aid.source,
            "fraicheur": self.freshness,
        }


def load_aids(path: Path = AIDS_FILE) -> list[Aid]:
    """Parse and check the reference file (errors name the file, the aid and the key)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise AidsFileError(f"{path}: {exc}") from exc
    aids = []
    for i, item in enumerate(raw.get("aide", []), start=1):
        where = f"{path}: aide #{i} ({item.get('id', '?')})"
        for key in ("id", "nom", "resume", "source", "etat_au"):
            if not str(item.get(key, "")).strip():
                raise AidsFileError(f"{where}: field {key} is missing")
        if not str(item["source"]).startswith("https://"):
            raise AidsFileError(f"{where}: field source must be an https URL")
        profil, entreprise = dict(item.get("profil", {})), dict(item.get("entreprise", {}))
        if bad := set(profil) - PROFILE_KEYS:
            raise AidsFileError(f"{where}: unknown profil rule(s) {sorted(bad)}")
        if bad := set(entreprise) - COMPANY_KEYS:
            raise AidsFileError(f"{where}: unknown entreprise rule(s) {sorted(bad)}")
        if entreprise.get("secteur", "tous") not in SECTORS:
            raise AidsFileError(f"{where}: field secteur must be one of {SECTORS}")
        if bad := set(profil.get("un_parmi", [])) - set(GROUPS):
            raise AidsFileError(f"{where}: unknown un_parmi group(s) {sorted(bad)}")
        aids.append(
            Aid(
                id=str(item["id"]),
                nom=str(item["nom"]),
                resume=str(item["resume"]),
                source=str(item["source"]),
                etat_au=str(item["etat_au"]),
                verifie_le=str(item.get("verifie_le", "")),
                profil=profil,
                entreprise=entreprise,
            )
        )
    if not aids:
        raise AidsFileError(f"{path}: no [[aide]] entry")
    return aids


def _groups(p: Profile) -> dict[str, bool | None]:
    """Which priority groups the profile belongs to (None = unknown)."""
    return {
        "rsa": p.rsa,
        "rqth": p.rqth,
        "qpv": p.qpv,
        "moins_26": None if p.age is None else p.age < 26,
        "50_ans_et_plus": None if p.age is None else p.age >= 50,
        "chomage_longue_duree": None
        if p.months_unemployed is None
        else p.months_unemployed >= LONG_TERM_MONTHS,
    }


_GROUP_LABEL = {
    "rsa": "bénéficiaire du RSA",
    "rqth": "reconnu travailleur handicapé (RQTH)",
    "qpv": "réside en quartier prioritaire (QPV)",
    "moins_26": "moins de 26 ans",
    "50_ans_et_plus": "50 ans ou plus",
    "chomage_longue_duree": f"inscrit depuis {LONG_TERM_MONTHS} mois ou plus",
}


def _check_profile(v: Verdict, rules: dict[str, Any], p: Profile) -> None:
    for flag in ("rsa", "rqth", "qpv"):
        if rules.get(flag):
            if getattr(p, flag):
                v.reasons.append(_GROUP_LABEL[flag])
            else:
                v.fail(f"réservé aux personnes : {_GROUP_LABEL[flag]}")
    if "age_min" in rules or "age_max" in rules or "age_max_sauf_rqth" in rules:
        lo = rules.get("age_min")
        hi = rules.get("age_max", rules.get("age_max_sauf_rqth"))
        no_limit = "age_max_sauf_rqth" in rules and p.rqth
        if p.age is None:
            v.unknown("âge non renseigné")
        elif lo is not None and p.age < lo:
            v.fail(f"âge minimum {lo} ans")
        elif hi is not None and p.age > hi and not no_limit:
            v.fail(f"âge maximum {hi} ans")
        else:
            v.reasons.append(
                f"{p.age} ans" + (" (pas de limite d'âge avec la RQTH)" if no_limit else "")
            )
    if "mois_chomage_min" in rules:
        need = int(rules["mois_chomage_min"])
        if p.months_unemployed is None:
            v.unknown("durée d'inscription non renseignée")
        elif p.months_unemployed < need:
            v.fail(f"au moins {need} mois d'inscription requis")
        else:
            v.reasons.append(f"inscrit depuis {p.months_unemployed} mois")
    if groups := rules.get("un_parmi"):
        known = _groups(p)
        hits = [g for g in groups if known[g]]
        if hits:
            v.reasons.append("public prioritaire : " + ", ".join(_GROUP_LABEL[g] for g in hits))
        elif any(known[g] is None for g in groups):
            v.unknown("public prioritaire à confirmer (âge ou durée d'inscription inconnus)")
        else:
            v.fail("le profil n'appartient à aucun public prioritaire")


def _check_company(v: Verdict, rules: dict[str, Any], c: Company) -> None:
    wanted = rules.get("secteur", "tous")
    sector = c.sector
    if wanted != "tous":
        if sector is None:
            v.unknown("catégorie juridique de l'employeur inconnue")
        else:
            ok = {
                "prive": sector != "public",
                "public": sector == "public",
                "non_marchand": sector in ("public", "association"),
            }[wanted]
            label = {
                "prive": "employeur privé",
                "public": "employeur public",
                "association": "association ou fondation",
            }[sector]
            if ok:
                v.reasons.append(label)
            else:
                need = {
                    "prive": "employeurs privés",
                    "public": "employeurs publics",
                    "non_marchand": "employeurs du secteur non marchand",
                }[wanted]
                v.fail(f"réservé aux {need} ({label})")
    if "effectif_max" in rules:
        band_min = BAND_MIN.get(c.tranche_effectifs or "")
        if band_min is None:
            v.unknown("effectif de l'entreprise inconnu")
        elif band_min > int(rules["effectif_max"]):
            v.fail(f"réservé aux entreprises de {rules['effectif_max']} salariés au plus")


def evaluate(aid: Aid, profile: Profile | None, company: Company | None) -> Verdict:
    """Verdict for one aid; a None side (no profile: lists; no company) is not judged."""
    v = Verdict(aid)
    if profile is not None:
        _check_profile(v, aid.profil, profile)
    if company is not None:
        _check_company(v, aid.entreprise, company)
    if v.status == YES and not v.reasons:
        v.reasons.append("ouvert à tout demandeur d'emploi et à tout employeur")
    return v


def applicable_aids(
    profile: Profile | None, company: Company | None, aids: list[Aid] | None = None
) -> list[Verdict]:
    """Every aid's verdict, applicable first, then to check, then not applicable."""
    order = {YES: 0, CHECK: 1, NO: 2}
    verdicts = [evaluate(a, profile, company) for a in (aids or load_aids())]
    return sorted(verdicts, key=lambda v: order[v.status])
