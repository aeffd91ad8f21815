"""Client of France Travail's Offres d'emploi API v2 (francetravail.io), harvesting to files.

The API answers one search with at most 1,150 offers (ranges `p-d` of at most 150, the
last index 1149). A national harvest therefore queries one département and one creation
window at a time and halves the window until each half fits under the cap. Every page is
saved verbatim as a search-response JSON file under `<raw>/offres/<date>/`, so the
ingestion reads harvested pages and hand-delivered exports with the same reader, and a
failed ingestion can be replayed without calling the API again.

Credentials come from environment variables named in `[offres_api]` of ciblage.toml
(never from the file itself). Base URLs are configurable so tests use a loopback server.
Progress (one step per département) goes through `ciblage.progress`, like every stage: a
bar in a terminal, the same lines in the logs. `OffresApiError` messages reach the user as
the command's one-line error: French; log lines stay English.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import httpx

from ciblage import progress

log = logging.getLogger(__name__)

TOKEN_URL = "https://entreprise.francetravail.fr/connexion/oauth2/access_token?realm=%2Fpartenaire"
SEARCH_URL = "https://api.francetravail.io/partenaire/offresdemploi/v2/offres/search"
SCOPE = "api_offresdemploiv2 o2dsoffre"
PAGE_SIZE = 150  # largest range the API accepts
RESULT_CAP = 1150  # offers one query can page through (last range 1000-1149)
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_CONTENT_RANGE = re.compile(r"(\d+)\s*-\s*(\d+)\s*/\s*(\d+|\*)")
_API_TIME = "%Y-%m-%dT%H:%M:%SZ"


class OffresApiError(RuntimeError):
    """The API refused a request for a reason retrying cannot fix, or retries ran out."""


@dataclass(frozen=True)
class OffresApiSettings:
    client_id: str
    client_secret: str
    token_url: str = TOKEN_URL
    search_url: str = SEARCH_URL
    scope: str = SCOPE
    page_size: int = PAGE_SIZE
    result_cap: int = RESULT_CAP
    max_retries: int = 6
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 120.0
    timeout_seconds: float = 30.0
    # The API allows a few calls per second per application; spacing them avoids 429s.
    min_interval_seconds: float = 0.12

    @classmethod
    def from_config(
        cls, section: Mapping[str, Any], environ: Mapping[str, str] = os.environ
    ) -> OffresApiSettings:
        """Settings from `[offres_api]`; the secret is read from the named env variables."""
        id_var = section.get("client_id_env", "FT_CLIENT_ID")
        secret_var = section.get("client_secret_env", "FT_CLIENT_SECRET")
        missing = [v for v in (id_var, secret_var) if not environ.get(v)]
        if missing:
            raise OffresApiError(
                "identifiants de l'API Offres d'emploi absents : définir la ou les variables "
                "d'environnement "
                + ", ".join(missing)
                + " (application inscrite sur francetravail.io, scope "
                + f"'{SCOPE}')"
            )
        known = {f for f in cls.__dataclass_fields__ if f not in ("client_id", "client_secret")}
        opts = {k: v for k, v in section.items() if k in known}
        return cls(client_id=environ[id_var], client_secret=environ[secret_var], **opts)


@dataclass
class HarvestReport:
    files: list[Path] = field(default_factory=list)
    offers: int = 0
    requests: int = 0
    retries: int = 0
    token_refreshes: int = 0
    window_splits: int = 0
    # (département, start, end, total) of one-second windows still above the cap.
    truncated: list[tuple[str, str, str, int]] = field(default_factory=list)


@dataclass
class _Page:
    status: int
    body: dict[str, Any]
    total: int | None

    @property
    def offers(self) -> list[Any]:
        return self.body.get("resultats") or []


def api_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(_API_TIME)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def parse_content_range(value: str | None) -> tuple[int, int, int | None] | None:
    """(first, last, total) from `offres 0-149/3450`; total None when `*`."""
    m = _CONTENT_RANGE.search(value or "")
    if not m:
        return None
    total = None if m.group(3) == "*" else int(m.group(3))
    return int(m.group(1)), int(m.group(2)), total


class OffresApiClient:
    """OAuth2 client-credentials session over the search endpoint, with retries."""

    def __init__(
        self,
        settings: OffresApiSettings,
        http: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._http = http or httpx.Client(timeout=settings.timeout_seconds)
        self._sleep = sleep
        self._token: str | None = None
        self._token_expires = 0.0
        self._last_call = 0.0
        self.report = HarvestReport()

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OffresApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- authentication ------------------------------------------------------------
    def token(self, force: bool = False) -> str:
        """A valid access token, fetched again when expired (with a 60 s margin)."""
        if not force and self._token and time.monotonic() < self._token_expires:
            return self._token
        s = self.settings
        data = {
            "grant_type": "client_credentials",
            "client_id": s.client_id,
            "client_secret": s.client_secret,
            "scope": s.scope,
        }
        resp = self._send("POST", s.token_url, data=data)
        if resp.status_code != 200:
            raise OffresApiError(
                f"demande de jeton à {s.token_url} refusée : HTTP {resp.status_code} "
                f"{resp.text[:200]!r} (vérifier l'identifiant, le secret et le scope)"
            )
        payload = resp.json()
        if "access_token" not in payload:
            raise OffresApiError(f"réponse de jeton sans access_token : {payload!r:.200}")
        self._token = payload["access_token"]
        ttl = float(payload.get("expires_in", 1499))
        self._token_expires = time.monotonic() + max(0.0, ttl - 60)
        if force:
            self.report.token_refreshes += 1
        return self._token

    # ---- HTTP with retries ---------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """One logical request: retried on 429/5xx and network errors, with back-off."""
        s = self.settings
        for attempt in range(s.max_retries + 1):
            wait = s.min_interval_seconds - (time.monotonic() - self._last_call)
            if wait > 0:
                self._sleep(wait)
            self._last_call = time.monotonic()
            self.report.requests += 1
            try:
                resp = self._http.request(method, url, **kwargs)
            except httpx.TransportError as exc:
                if attempt == s.max_retries:
                    raise OffresApiError(
                        f"{method} {url} : {exc!r} malgré les nouvelles tentatives"
                    ) from exc
                delay = min(s.max_wait_seconds, s.backoff_seconds * 2**attempt)
                log.warning("%s %s: %r, retry in %.1fs", method, url, exc, delay)
            else:
                if resp.status_code not in RETRY_STATUSES:
                    return resp
                if attempt == s.max_retries:
                    raise OffresApiError(
                        f"{method} {url} : HTTP {resp.status_code} après {attempt} nouvelles "
                        "tentatives"
                    )
                backoff = s.backoff_seconds * 2**attempt
                hinted = parse_retry_after(resp.headers.get("Retry-After"))
                delay = min(s.max_wait_seconds, hinted if hinted is not None else backoff)
                log.warning("%s %s: HTTP %s, retry in %.1fs", method, url, resp.status_code, delay)
            self.report.retries += 1
            self._sleep(delay)
        raise AssertionError("unreachable")

    def search_page(self, departement: str, start: datetime, end: datetime, first: int) -> _Page:
        """One page of offers created in [start, end] in a département."""
        s = self.settings
        params = {
            "departement": departement,
            "minCreationDate": api_time(start),
            "maxCreationDate": api_time(end),
            # The last reachable index is cap - 1: a wider range is refused with 400.
            "range": f"{first}-{min(first + s.page_size, s.result_cap) - 1}",
        }
        refreshed = False
        while True:
            headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
            resp = self._send("GET", s.search_url, params=params, headers=headers)
            if resp.status_code == 401 and not refreshed:
                refreshed = True  # token expired or revoked early: one fresh token
                self.token(force=True)
                continue
            break
        if resp.status_code == 204:
            return _Page(204, {}, 0)
        if resp.status_code not in (200, 206):
            raise OffresApiError(
                f"GET {s.search_url} {params} : HTTP {resp.status_code} {resp.text[:300]!r}"
            )
        try:
            body = resp.json()
        except ValueError as exc:
            raise OffresApiError(
                f"GET {s.search_url} {params} : la réponse n'est pas du JSON"
            ) from exc
        if not isinstance(body, dict) or not isinstance(body.get("resultats", []), list):
            raise OffresApiError(f"GET {s.search_url} {params} : pas de liste 'resultats'")
        rng = parse_content_range(resp.headers.get("Content-Range"))
        total = rng[2] if rng else None
        if total is None and resp.status_code == 200:
            total = first + len(body.get("resultats") or [])
        return _Page(resp.status_code, body, total)

    # ---- harvesting ----------------------------------------------------------------
    def harvest(
        self,
        departements: Iterable[str],
        start: datetime,
        end: datetime,
        out_dir: Path,
        bar: progress.Stage | None = None,
    ) -> HarvestReport:
        """Save every offer created in [start, end] in the départements as page files;
        `bar` (a `ciblage.progress` stage counting départements) advances after each."""
        out_dir.mkdir(parents=True, exist_ok=True)
        for dep in departements:
            self._harvest_window(dep, start, end, out_dir)
            if bar is not None:
                bar.advance(1, item=f"{dep}, {progress.fmt_count(self.report.offers)} offres")
        return self.report

    def _harvest_window(self, dep: str, start: datetime, end: datetime, out_dir: Path) -> None:
        s = self.settings
        page = self.search_page(dep, start, end, 0)
        if page.status == 204 or page.total == 0:
            return
        if page.total is not None and page.total > s.result_cap:
            if end - start >= timedelta(seconds=2):
                mid = start + (end - start) // 2
                mid = mid.replace(microsecond=0)
                self.report.window_splits += 1
                self._harvest_window(dep, start, mid, out_dir)
                self._harvest_window(dep, mid + timedelta(seconds=1), end, out_dir)
                return
            log.warning(
                "département %s, %s..%s: %s offers in a window too short to split; "
                "only the first %s are reachable",
                dep,
                api_time(start),
                api_time(end),
                page.total,
                s.result_cap,
            )
            self.report.truncated.append((dep, api_time(start), api_time(end), page.total))
        limit = min(page.total if page.total is not None else s.result_cap, s.result_cap)
        first = 0
        while True:
            self._save(page, dep, start, end, first, out_dir)
            got = len(page.offers)
            first += got
            if page.status == 200 or got < s.page_size or first >= limit:
                return
            page = self.search_page(dep, start, end, first)
            if page.status == 204:
                return

    def _save(
        self, page: _Page, dep: str, start: datetime, end: datetime, first: int, out_dir: Path
    ) -> None:
        name = (
            f"offres_{dep}_{start.astimezone(UTC):%Y%m%dT%H%M%S}"
            f"_{end.astimezone(UTC):%Y%m%dT%H%M%S}_{first:04d}.json"
        )
        path = out_dir / name
        tmp = path.with_suffix(".json.part")
        tmp.write_text(json.dumps(page.body, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)  # atomic: a crash never leaves half a page for the reader
        self.report.files.append(path)
        self.report.offers += len(page.offers)


def fetch_offres(
    section: Mapping[str, Any],
    raw_dir: Path,
    departements: Iterable[str] | None = None,
    days: int | None = None,
    today: date | None = None,
    environ: Mapping[str, str] = os.environ,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    folder: str = "offres",
) -> HarvestReport:
    """Harvest the offers created in the last `days` days into `<raw_dir>/<folder>/<today>/`.

    `section` is `[offres_api]` of ciblage.toml: credentials env names, URLs, and the
    default `departements` and `days`.
    """
    settings = OffresApiSettings.from_config(section, environ)
    deps = list(departements or section.get("departements") or [])
    if not deps:
        raise OffresApiError(
            "aucun département à collecter : renseigner departements dans [offres_api] "
            "ou passer --departement"
        )
    today = today or datetime.now(UTC).date()
    n_days = int(days or section.get("days", 31))
    end = datetime(today.year, today.month, today.day, tzinfo=UTC) - timedelta(seconds=1)
    start = end - timedelta(days=n_days) + timedelta(seconds=1)
    out_dir = Path(raw_dir) / folder / today.isoformat()
    with (
        progress.stage(f"collecte {folder}", total=len(deps), unit="départements") as bar,
        OffresApiClient(settings, http=http, sleep=sleep) as client,
    ):
        report = client.harvest(deps, start, end, out_dir, bar=bar)
        bar.outcome = (
            f"{progress.fmt_count(report.offers)} offres en {len(report.files)} pages, "
            f"{report.requests} requêtes"
        )
    return report


def harvest_source(settings: Any, name: str) -> Path:
    """Harvest `[offres_api]` into `<raw>/<name>/<today>/` and return `<raw>/<name>`.

    Used when `[sources.<name>] harvest = "offres_api"`: each ingest run fetches the
    recent offers; the whole folder (every harvest) is then read, and an offer seen in
    several harvests keeps its latest version.
    """
    report = fetch_offres(settings.section("offres_api"), settings.raw_dir, folder=name)
    log.info(
        "%s: %d offers harvested in %d pages (%d requests, %d window splits)",
        name,
        report.offers,
        len(report.files),
        report.requests,
        report.window_splits,
    )
    return Path(settings.raw_dir) / name
