"""Downloads against a loopback HTTP server: resume, retries, conditional requests, sha256."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from datetime import date
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ciblage.config import load_settings
from ciblage.sources.download import DownloadError, download, resolve_source

DAY1, DAY2 = date(2026, 11, 2), date(2026, 11, 3)


class FileServer(ThreadingHTTPServer):
    """Serves one file with ETag/Last-Modified/Range, and can misbehave on demand."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.set_content(b"siren,nic,siret\n" + b"732829320,00074,73282932000074\n" * 5000)
        self.fail_next = 0  # answer 503 to the next N requests
        self.throttle_next = 0  # answer 429 (Retry-After: 0) to the next N requests
        self.cut_next = 0  # close the connection half-way through the next N bodies
        self.disposition: str | None = None  # Content-Disposition header to send
        self.validators = True  # send ETag / Last-Modified and honour conditional requests
        self.requests: list[dict[str, str]] = []

    def set_content(self, content: bytes) -> None:
        self.content = content
        self.etag = '"' + hashlib.md5(content).hexdigest() + '"'
        self.last_modified = formatdate(1_700_000_000 + len(content), usegmt=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/files/StockEtablissement_utf8.zip"


class Handler(BaseHTTPRequestHandler):
    server: FileServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        srv = self.server
        srv.requests.append(dict(self.headers.items()))
        if not self.path.startswith("/files/"):
            self.send_error(404)
            return
        if srv.fail_next:
            srv.fail_next -= 1
            self.send_error(503)
            return
        if srv.throttle_next:
            srv.throttle_next -= 1
            self.send_response(429)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, status = srv.content, 200
        if srv.validators:
            inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
            if inm == srv.etag or (inm is None and ims == srv.last_modified):
                self.send_response(304)
                self.end_headers()
                return
        rng, if_range = self.headers.get("Range"), self.headers.get("If-Range")
        start = 0
        if rng and srv.validators and if_range in (srv.etag, srv.last_modified):
            start = int(rng.removeprefix("bytes=").split("-")[0])
            body, status = srv.content[start:], 206
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if status == 206:
            total = len(srv.content)
            self.send_header("Content-Range", f"bytes {start}-{total - 1}/{total}")
        if srv.disposition:
            self.send_header("Content-Disposition", srv.disposition)
        if srv.validators:
            self.send_header("ETag", srv.etag)
            self.send_header("Last-Modified", srv.last_modified)
        self.end_headers()
        if srv.cut_next:
            srv.cut_next -= 1
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture()
def server() -> Iterator[FileServer]:
    srv = FileServer()
    thread = threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def fetch(server: FileServer, raw: Path, day: date = DAY1, **kw):
    kw.setdefault("backoff", 0.01)
    return download(server.url, raw / "sirene", today=day, **kw)


def test_fresh_download_writes_file_and_manifest(server: FileServer, tmp_path: Path) -> None:
    result = fetch(server, tmp_path)
    assert result.status == "downloaded"
    assert result.path == tmp_path / "sirene" / "2026-11-02" / "StockEtablissement_utf8.zip"
    assert result.path.read_bytes() == server.content
    manifest = json.loads((result.path.parent / "manifest.json").read_text())
    assert manifest["url"] == server.url
    assert manifest["size"] == len(server.content)
    assert manifest["sha256"] == hashlib.sha256(server.content).hexdigest()
    assert manifest["etag"] == server.etag
    assert manifest["last_modified"] == server.last_modified
    assert manifest["downloaded_at"].startswith("20")
    assert not (result.path.parent / ".partial").exists()


def test_unchanged_file_is_not_downloaded_again(server: FileServer, tmp_path: Path) -> None:
    first = fetch(server, tmp_path)
    second = fetch(server, tmp_path, day=DAY2)
    assert second.status == "unchanged"
    assert second.path == first.path
    assert server.requests[-1]["If-None-Match"] == server.etag
    assert not (tmp_path / "sirene" / "2026-11-03").exists()


def test_same_hash_without_validators_keeps_last_file(server: FileServer, tmp_path: Path) -> None:
    server.validators = False
    first = fetch(server, tmp_path)
    second = fetch(server, tmp_path, day=DAY2)
    assert second.status == "unchanged" and second.path == first.path
    assert len(server.requests) == 2  # downloaded, then recognised by its sha256
    assert not (tmp_path / "sirene" / "2026-11-03").exists()


def test_changed_file_is_downloaded_into_a_new_dated_folder(
    server: FileServer, tmp_path: Path
) -> None:
    first = fetch(server, tmp_path)
    server.set_content(server.content + b"443061841,00047,44306184100047\n")
    second = fetch(server, tmp_path, day=DAY2)
    assert second.status == "downloaded"
    assert second.path.parent.name == "2026-11-03"
    assert second.path.read_bytes() == server.content
    assert first.path.is_file()  # previous version kept for inspection


def test_retries_on_server_errors(server: FileServer, tmp_path: Path) -> None:
    server.fail_next = 2
    result = fetch(server, tmp_path)
    assert result.path.read_bytes() == server.content
    assert len(server.requests) == 3


def test_retry_after_on_429(server: FileServer, tmp_path: Path) -> None:
    server.throttle_next = 1
    assert fetch(server, tmp_path).status == "downloaded"
    assert len(server.requests) == 2


def test_gives_up_after_the_retries(server: FileServer, tmp_path: Path) -> None:
    server.fail_next = 10
    with pytest.raises(DownloadError, match="après 2 nouvelles tentatives : HTTP 503"):
        fetch(server, tmp_path, retries=2)
    assert len(server.requests) == 3


def test_client_error_is_not_retried(server: FileServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(server.url.replace("/files/", "/nothing/"), tmp_path / "x", backoff=0.01)
    assert len(server.requests) == 1


def test_cut_connection_is_resumed_with_range(server: FileServer, tmp_path: Path) -> None:
    server.cut_next = 1
    result = fetch(server, tmp_path)
    assert result.status == "resumed"
    assert result.path.read_bytes() == server.content
    half = len(server.content) // 2
    assert server.requests[1]["Range"] == f"bytes={half}-"
    assert server.requests[1]["If-Range"] == server.etag
    manifest = json.loads((result.path.parent / "manifest.json").read_text())
    assert manifest["sha256"] == hashlib.sha256(server.content).hexdigest()


def test_partial_of_an_old_version_is_not_resumed(server: FileServer, tmp_path: Path) -> None:
    server.cut_next = 1
    with pytest.raises(DownloadError):
        fetch(server, tmp_path, retries=0)  # leaves half a file behind
    server.set_content(b"a new version of the file\n" * 3000)
    result = fetch(server, tmp_path)
    # If-Range no longer matches: the server sends the whole new file, which replaces the part
    assert result.status == "downloaded"
    assert result.path.read_bytes() == server.content


def test_expected_sha256(server: FileServer, tmp_path: Path) -> None:
    good = hashlib.sha256(server.content).hexdigest()
    assert fetch(server, tmp_path, expected_sha256=good.upper()).status == "downloaded"
    with pytest.raises(DownloadError, match="somme de contrôle différente.*non utilisé"):
        fetch(server, tmp_path / "other", expected_sha256="0" * 64)
    assert not any((tmp_path / "other" / "sirene" / "2026-11-02").iterdir())


def test_resolve_source(server: FileServer, tmp_path: Path) -> None:
    local = tmp_path / "local.csv"
    local.write_text("x\n")
    sha = hashlib.sha256(server.content).hexdigest()
    cfg = tmp_path / "ciblage.toml"
    cfg.write_text(
        f"""
[paths]
raw = "raw"
[sources.sirene_etablissement]
url = "{server.url}"
sha256 = "{sha}"
backoff_seconds = 0.01
[sources.ref_communes]
path = "local.csv"
""",
        encoding="utf-8",
    )
    settings = load_settings(cfg)
    assert resolve_source(settings, "dpae_departement") is None
    assert resolve_source(settings, "ref_communes") == local
    path = resolve_source(settings, "sirene_etablissement")
    assert path is not None and path.read_bytes() == server.content
    assert path.parent.parent == tmp_path / "raw" / "sirene_etablissement"
    assert resolve_source(settings, "sirene_etablissement") == path  # unchanged: same file


def test_file_name_from_content_disposition_or_option(server: FileServer, tmp_path: Path) -> None:
    export = server.url.replace("StockEtablissement_utf8.zip", "exports/csv")
    server.disposition = 'attachment; filename="dpae-par-departement-x-grand-secteur.csv"'
    got = download(export, tmp_path / "dpae", today=DAY1, backoff=0.01)
    assert got.path.name == "dpae-par-departement-x-grand-secteur.csv"
    server.disposition = 'attachment; filename="../../evil.sh"'
    got = download(export, tmp_path / "other", today=DAY1, backoff=0.01)
    assert got.path.parent == tmp_path / "other" / "2026-11-02" and got.path.name == "evil.sh"
    server.disposition = None
    got = download(export, tmp_path / "x", today=DAY1, filename="dpae.csv", backoff=0.01)
    assert got.path.name == "dpae.csv"


def test_damaged_manifest_is_ignored(server: FileServer, tmp_path: Path) -> None:
    first = fetch(server, tmp_path)
    (first.path.parent / "manifest.json").write_text("{not json", encoding="utf-8")
    second = fetch(server, tmp_path, day=DAY2)
    assert second.status == "downloaded"  # no trusted previous file: fetched again
    assert second.path.read_bytes() == server.content
