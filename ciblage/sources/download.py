"""Fetch a configured source: a local path as is, or an URL downloaded under raw_dir.

National files are large (the SIRENE stock is ~2.5 GB zipped) and published monthly, so
a nightly run must not fetch them again when unchanged, must survive a flaky network
without starting over, and must never hand a truncated or tampered file to ingestion:
- layout `raw_dir/<source>/<YYYY-MM-DD>/<filename>` + `manifest.json` (url, size, sha256,
  ETag, Last-Modified, downloaded_at), so previous versions stay inspectable;
- conditional request (If-None-Match / If-Modified-Since) against the last good file;
  304, or a new file with the same sha256, returns the last good file;
- streamed to `<dir>/.partial`, resumed with `Range` (+ `If-Range`) after a cut;
- retries with exponential back-off on network errors, 429 and 5xx;
- optional expected `sha256` in the source's options, checked before the file is used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import httpx

from ciblage.config import Settings

log = logging.getLogger(__name__)
MANIFEST = "manifest.json"
PARTIAL = ".partial"
CHUNK = 1 << 20
Progress = Callable[[int, int | None], None]


class DownloadError(RuntimeError):
    """The source could not be fetched (after retries) or failed its checksum."""


class _Retryable(Exception):
    """A transient failure: network error, 429, 5xx or a body shorter than announced."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class DownloadResult:
    path: Path
    status: str  # "downloaded" | "resumed" | "unchanged"
    manifest: dict[str, Any]


def resolve_source(settings: Settings, name: str) -> Path | None:
    """Local file of source `name`: None if not configured, its `path`, or its downloaded URL.

    Source options read here: `sha256` (expected checksum), `filename`, `retries`,
    `backoff_seconds`, `timeout_seconds`.
    """
    src = settings.source(name)
    if src is None:
        return None
    if src.path is not None:
        return src.path
    if src.options.get("harvest") == "offres_api":  # job offers fetched from the API
        from ciblage.sources.offres_api import harvest_source

        return harvest_source(settings, name)
    if not src.url:
        return None
    opts = src.options
    result = download(
        src.url,
        settings.raw_dir / name,
        expected_sha256=opts.get("sha256"),
        filename=opts.get("filename"),
        retries=int(opts.get("retries", 5)),
        backoff=float(opts.get("backoff_seconds", 2.0)),
        timeout=float(opts.get("timeout_seconds", 60.0)),
    )
    return result.path


def download(
    url: str,
    source_dir: Path,
    *,
    expected_sha256: str | None = None,
    filename: str | None = None,
    retries: int = 5,
    backoff: float = 2.0,
    timeout: float = 60.0,
    today: date | None = None,
    client: httpx.Client | None = None,
    progress: Progress | None = None,
) -> DownloadResult:
    """Download `url` into `source_dir/<today>/`, or return the last good file if unchanged."""
    expected = expected_sha256.lower().strip() if expected_sha256 else None
    day_dir = source_dir / (today or date.today()).isoformat()
    last = last_good(source_dir, url)
    if last and expected and last["sha256"] != expected:
        last = None  # the configured version changed: the old file cannot be reused
    own_client = client is None
    http = client or httpx.Client(timeout=timeout, follow_redirects=True)
    try:
        attempt = 0
        while True:
            try:
                return _attempt(http, url, day_dir, last, expected, filename, progress)
            except _Retryable as exc:
                attempt += 1
                if attempt > retries:
                    raise DownloadError(
                        f"téléchargement de {url} en échec après {retries} nouvelles tentatives : "
                        f"{exc}"
                    ) from exc
                delay = _delay(exc, backoff, attempt)
                log.warning("download of %s: %s; retry %d in %.1fs", url, exc, attempt, delay)
                time.sleep(delay)
    finally:
        if own_client:
            http.close()


def _delay(exc: _Retryable, backoff: float, attempt: int) -> float:
    computed = backoff * 2 ** (attempt - 1)
    if exc.retry_after is not None:
        return min(max(exc.retry_after, computed), 300.0)
    return min(computed, 300.0)


def last_good(source_dir: Path, url: str | None = None) -> dict[str, Any] | None:
    """Manifest of the newest complete download (of `url` if given) whose file still exists."""
    if not source_dir.is_dir():
        return None
    for day in sorted((d for d in source_dir.iterdir() if d.is_dir()), reverse=True):
        path = day / MANIFEST
        if not path.is_file():
            continue
        manifest = _read_json(path)
        if not manifest or not manifest.get("file") or not manifest.get("sha256"):
            log.warning("ignoring unreadable download manifest %s", path)
            continue
        if url is not None and manifest.get("url") != url:
            continue
        if (day / manifest["file"]).is_file():
            manifest["path"] = str(day / manifest["file"])
            return manifest
    return None


def _attempt(
    http: httpx.Client,
    url: str,
    day_dir: Path,
    last: dict[str, Any] | None,
    expected: str | None,
    filename: str | None,
    progress: Progress | None,
) -> DownloadResult:
    part = day_dir / PARTIAL
    part_meta = day_dir / (PARTIAL + ".json")
    headers: dict[str, str] = {"Accept-Encoding": "identity"}
    if last:
        if last.get("etag"):
            headers["If-None-Match"] = last["etag"]
        if last.get("last_modified"):
            headers["If-Modified-Since"] = last["last_modified"]
    offset = 0
    meta = _read_json(part_meta) if part.is_file() else None
    validator = _resume_validator(meta) if meta and meta.get("url") == url else None
    if validator and part.stat().st_size:
        # If-Range: the server sends the rest only if the file is still the same version
        offset = part.stat().st_size
        headers["Range"] = f"bytes={offset}-"
        headers["If-Range"] = validator
    try:
        with http.stream("GET", url, headers=headers) as resp:
            if resp.status_code == 304 and last:
                log.info("%s unchanged (304), keeping %s", url, last["path"])
                return DownloadResult(Path(last["path"]), "unchanged", last)
            if resp.status_code == 416:
                part.unlink(missing_ok=True)
                raise _Retryable("server refused the resume range; restarting from zero")
            _raise_for_status(resp, url)
            resumed = resp.status_code == 206
            if resumed:
                start, total = _content_range(resp)
                if start != offset:
                    part.unlink(missing_ok=True)
                    raise _Retryable(f"server resumed at byte {start}, expected {offset}")
            else:
                offset = 0
                length = resp.headers.get("Content-Length")
                total = int(length) if length and length.isdigit() else None
            etag, modified = resp.headers.get("ETag"), resp.headers.get("Last-Modified")
            day_dir.mkdir(parents=True, exist_ok=True)
            part_meta.write_text(
                json.dumps({"url": url, "etag": etag, "last_modified": modified}),
                encoding="utf-8",
            )
            name = filename or _filename(resp, url)
            size = _stream_to(resp, part, append=resumed, total=total, progress=progress)
    except httpx.TransportError as exc:
        raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
    if total is not None and size != total:
        raise _Retryable(f"connection closed after {size} of {total} bytes")
    return _finish(
        url, day_dir, part, part_meta, name, size, etag, modified, last, expected, resumed
    )


def _resume_validator(meta: dict[str, Any]) -> str | None:
    """A strong ETag or a Last-Modified date (weak ETags are not allowed in If-Range)."""
    etag = meta.get("etag")
    if etag and not etag.startswith("W/"):
        return etag
    return meta.get("last_modified")


def _raise_for_status(resp: httpx.Response, url: str) -> None:
    code = resp.status_code
    if code == 429 or code >= 500:
        after = resp.headers.get("Retry-After", "")
        wait = float(after) if re.fullmatch(r"\d+(\.\d+)?", after) else None
        raise _Retryable(f"HTTP {code}", retry_after=wait)
    if code not in (200, 206):
        raise DownloadError(f"téléchargement de {url} en échec : HTTP {code} {resp.reason_phrase}")


def _content_range(resp: httpx.Response) -> tuple[int, int | None]:
    m = re.fullmatch(r"bytes (\d+)-\d+/(\d+|\*)", resp.headers.get("Content-Range", ""))
    if not m:
        raise _Retryable("206 response without a valid Content-Range")
    return int(m.group(1)), None if m.group(2) == "*" else int(m.group(2))


def _filename(resp: httpx.Response, url: str) -> str:
    disposition = resp.headers.get("Content-Disposition", "")
    m = re.search(r"filename\*=UTF-8''([^;]+)|filename=\"?([^\";]+)\"?", disposition)
    raw = (m.group(1) or m.group(2)) if m else Path(urlparse(url).path).name
    name = Path(unquote(raw)).name  # never a path from the server
    if not name or name.startswith("."):
        raise DownloadError(
            f"impossible de nommer le fichier téléchargé depuis {url} : renseigner `filename` "
            "dans les options de la source"
        )
    return name


def _stream_to(
    resp: httpx.Response, part: Path, *, append: bool, total: int | None, progress: Progress | None
) -> int:
    size = part.stat().st_size if append else 0
    with part.open("ab" if append else "wb") as fh:
        # no chunk_size: httpx would hold back a partial chunk that a cut connection then loses
        for chunk in resp.iter_bytes():
            fh.write(chunk)
            size += len(chunk)
            if progress:
                progress(size, total)
    return size


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _finish(
    url: str,
    day_dir: Path,
    part: Path,
    part_meta: Path,
    name: str,
    size: int,
    etag: str | None,
    modified: str | None,
    last: dict[str, Any] | None,
    expected: str | None,
    resumed: bool,
) -> DownloadResult:
    digest = _sha256(part)
    if expected and digest != expected:
        part.unlink()
        part_meta.unlink(missing_ok=True)
        raise DownloadError(
            f"somme de contrôle différente pour {url} : sha256 {expected} attendu, {digest} "
            f"reçu ({size:,} octets) ; le fichier est écarté, non utilisé"
        )
    part_meta.unlink(missing_ok=True)
    if last and last["sha256"] == digest:
        part.unlink()
        if not any(day_dir.iterdir()):
            day_dir.rmdir()
        log.info("%s re-downloaded but identical (sha256), keeping %s", url, last["path"])
        return DownloadResult(Path(last["path"]), "unchanged", last)
    target = day_dir / name
    part.replace(target)
    manifest = {
        "url": url,
        "file": name,
        "size": size,
        "sha256": digest,
        "etag": etag,
        "last_modified": modified,
        "downloaded_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp = day_dir / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tmp.replace(day_dir / MANIFEST)
    log.info("downloaded %s to %s (%d bytes, sha256 %s)", url, target, size, digest)
    manifest["path"] = str(target)
    return DownloadResult(target, "resumed" if resumed else "downloaded", manifest)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
