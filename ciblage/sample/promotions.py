"""Sample promotions ledger: what the sample's agencies did with their lists in one year.

Agencies are the sample's bassins d'emploi (the lists' default agency areas). Counselors
promote job seekers to active, diffusible establishments, partly the ones they know
(uniform) and partly the high-potential ones (weighted by the simulated hiring rate), and
the outcome depends on that same simulated rate over the next 3 months: a company that is
hiring answers and hires more often. So the impact report's "do high-potential companies
convert better?" has a true answer in the sample (yes), which the scores should recover.
A few companies get three unanswered promotions in the last weeks, as happens in the field,
so that the lists show cool-downs. The file is what an agency sends back: French headers
and labels, `;`, UTF-8 with BOM, dates as JJ/MM/AAAA.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import numpy as np

from ciblage.config import PROJECT_ROOT
from ciblage.sample.establishments import Establishment
from ciblage.sample.hiring import N_MONTHS, HiringResult, month_index
from ciblage.sample.referentials import Referentials

BASSINS_FILE = PROJECT_ROOT / "data" / "reference" / "lbb-pse_bassin-emploi_code-insee.csv"
HEADER = (
    "date_promotion",
    "code_agence",
    "siret",
    "code_rome",
    "id_conseiller",
    "id_demandeur",
    "canal",
    "resultat",
    "date_resultat",
)
FIRST_DAY = dt.date(2025, 11, 3)
LAST_DAY = dt.date(2026, 10, 30)
PROMOTIONS_PER_AGENCY_MONTH = 9  # mean; the experiment's scale (a few per counselor)
TARGETED_SHARE = 0.5  # half of the companies chosen by hiring rate, half "known" ones
PENDING_DAYS = 21  # outcomes of the last three weeks are often not known yet
SILENT_CASES = 4  # companies promoted 3 times without answer in the last weeks
CANALS = (("mail", 0.5), ("téléphone", 0.35), ("visite", 0.15))


def _bassins(estabs: list[Establishment]) -> dict[str, str]:
    wanted = {e.commune.code for e in estabs}
    with BASSINS_FILE.open(encoding="utf-8", newline="") as f:
        return {
            r["code_insee"]: r["code_bassin_emploi"]
            for r in csv.DictReader(f)
            if r["code_insee"] in wanted
        }


def _alive(estabs: list[Establishment]) -> tuple[np.ndarray, np.ndarray]:
    """Creation and closing days (ordinals) of diffusible establishments; others never live."""
    never = dt.date.max.toordinal()
    created = np.array([e.created.toordinal() if e.diffusible else never for e in estabs])
    closed = np.array([e.closed.toordinal() if e.closed else never for e in estabs])
    return created, closed


def _outcome(rng: np.random.Generator, rate3: float) -> str:
    """Hires over the next 3 months (simulated expectation) drive the company's answer."""
    hiring = 1 - np.exp(-0.6 * rate3)  # 0 for a company that will not hire, -> 1
    p_hire = 0.02 + 0.2 * hiring
    p_interview = 0.06 + 0.2 * hiring
    p_refusal = 0.18 + 0.05 * hiring
    p_silence = 1 - p_hire - p_interview - p_refusal
    labels = ("embauche", "entretien", "refus", "sans réponse")
    return labels[int(rng.choice(4, p=[p_hire, p_interview, p_refusal, p_silence]))]


def _row(
    rng: np.random.Generator,
    day: dt.date,
    agency: str,
    e: Establishment,
    rome: str,
    counselor: str,
    seeker: str,
    outcome: str,
) -> list[str]:
    canal = CANALS[int(rng.choice(3, p=[p for _, p in CANALS]))][0]
    pending = (LAST_DAY - day).days < PENDING_DAYS and rng.random() < 0.6
    answered = outcome not in ("sans réponse",) and not pending
    result_day = day + dt.timedelta(days=int(rng.integers(2, 35)))
    return [
        day.strftime("%d/%m/%Y"),
        agency,
        e.siret,
        rome,
        counselor,
        seeker,
        canal,
        "" if pending else outcome,
        result_day.strftime("%d/%m/%Y") if answered and result_day <= LAST_DAY else "",
    ]


def simulate_promotions(
    rng: np.random.Generator,
    estabs: list[Establishment],
    hiring: HiringResult,
    ref: Referentials,
) -> list[list[str]]:
    bassin_of = _bassins(estabs)
    by_agency: dict[str, list[int]] = {}
    for i, e in enumerate(estabs):
        if e.commune.code in bassin_of:
            by_agency.setdefault(bassin_of[e.commune.code], []).append(i)
    created, closed = _alive(estabs)
    days = [FIRST_DAY + dt.timedelta(days=k) for k in range((LAST_DAY - FIRST_DAY).days + 1)]
    workdays = [d for d in days if d.weekday() < 5]
    rows: list[list[str]] = []
    seekers = 0
    counselors_of: dict[str, list[str]] = {}
    for agency in sorted(by_agency):
        members = np.array(by_agency[agency])
        counselors = [f"C{agency}{k:02d}" for k in range(1, int(rng.integers(3, 8)) + 1)]
        counselors_of[agency] = counselors
        n = int(rng.poisson(PROMOTIONS_PER_AGENCY_MONTH * 12 * min(1.0, len(members) / 400)))
        seeker = ""
        for _ in range(n):
            day = workdays[int(rng.integers(len(workdays)))]
            pool = members[
                (created[members] <= day.toordinal()) & (closed[members] > day.toordinal())
            ]
            if not len(pool):
                continue
            t = min(month_index(day), N_MONTHS - 1)
            rate = hiring.expected[pool, t : t + 3].sum(axis=1)
            weights = (1 - TARGETED_SHARE) / len(pool) + TARGETED_SHARE * rate / rate.sum()
            i = int(rng.choice(pool, p=weights / weights.sum()))
            shares = ref.rome_shares[estabs[i].naf.code]
            rome = shares[int(rng.choice(len(shares), p=[s for _, s in shares]))][0]
            if not seeker or rng.random() < 0.6:  # a profile goes to 2-3 companies on average
                seekers += 1
                seeker = f"DE{seekers:06d}"
            rate3 = float(hiring.expected[i, t : t + 3].sum())
            counselor = counselors[int(rng.integers(len(counselors)))]
            outcome = _outcome(rng, rate3)
            rows.append(_row(rng, day, agency, estabs[i], rome, counselor, seeker, outcome))
    agencies = sorted(by_agency)
    for agency in rng.choice(agencies, size=min(SILENT_CASES, len(agencies)), replace=False):
        members = np.array(by_agency[str(agency)])
        alive = members[
            (created[members] <= LAST_DAY.toordinal()) & (closed[members] > LAST_DAY.toordinal())
        ]
        rows.extend(
            _silent_case(rng, str(agency), alive, estabs, ref, counselors_of[str(agency)], seekers)
        )
        seekers += 3
    rows.sort(key=lambda r: (r[0][6:] + r[0][3:5] + r[0][:2], r[1], r[2], r[5]))
    return rows


def _silent_case(
    rng: np.random.Generator,
    agency: str,
    alive: np.ndarray,
    estabs: list[Establishment],
    ref: Referentials,
    counselors: list[str],
    seekers: int,
) -> list[list[str]]:
    """Three promotions without answer in September-October (cool-down in the lists)."""
    if not len(alive):
        return []
    e = estabs[int(alive[int(rng.integers(len(alive)))])]
    rome = max(ref.rome_shares[e.naf.code], key=lambda s: s[1])[0]
    first = dt.date(2026, 9, 1) + dt.timedelta(days=int(rng.integers(0, 20)))
    return [
        _row(
            rng,
            first + dt.timedelta(days=12 * k),
            agency,
            e,
            rome,
            counselors[k % len(counselors)],
            f"DE{seekers + k + 1:06d}",
            "sans réponse",
        )
        for k in range(3)
    ]


def write_promotions(
    rng: np.random.Generator,
    out: Path,
    estabs: list[Establishment],
    hiring: HiringResult,
    ref: Referentials,
) -> Path:
    """`promotions/promotions_sample.csv`, as an agency's French Excel saves it."""
    rows = simulate_promotions(rng, estabs, hiring, ref)
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    path = out / "promotions" / "promotions_sample.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\ufeff" + buf.getvalue(), encoding="utf-8")
    return path
