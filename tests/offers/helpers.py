"""Offers test helpers: a loopback fake of the Offres API (token + search), and a loader.

It implements what the client relies on: client-credentials tokens that can expire,
`range=p-d` pages of at most 150, Content-Range `offres p-d/total`, 206/200/204, the
1,150-result cap (400 beyond index 1149), and injectable 429s with Retry-After.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlparse

import duckdb
import pyarrow as pa

from ciblage.sources.offres_json import SCHEMA, read_offres
from ciblage.warehouse import run_sql_file

CLIENT_ID, CLIENT_SECRET = "ciblage-test", "s3cret"


@dataclass
class FakeApi:
    offers: list[dict[str, Any]]
    url: str = ""
    tokens_issued: int = 0
    valid_tokens: set[str] = field(default_factory=set)
    searches: list[dict[str, str]] = field(default_factory=list)
    # Fault injection: answer the n-th search (1-based) with 429, revoke tokens at the n-th.
    throttle_at: set[int] = field(default_factory=set)
    retry_after: str = "7"
    expire_token_at: set[int] = field(default_factory=set)
    server_error_at: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def token_url(self) -> str:
        return f"{self.url}/connexion/oauth2/access_token?realm=%2Fpartenaire"

    @property
    def search_url(self) -> str:
        return f"{self.url}/partenaire/offresdemploi/v2/offres/search"


def _parse(ts: str) -> datetime:
    return datetime.strptime(ts, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def make_handler(api: FakeApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:  # keep test output clean
            pass

        def _send(self, status: int, body: Any = None, headers: dict | None = None) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            url = urlparse(self.path)
            form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
            ok = (
                url.path == "/connexion/oauth2/access_token"
                and parse_qs(url.query).get("realm") == ["/partenaire"]
                and form.get("grant_type") == ["client_credentials"]
                and form.get("client_id") == [CLIENT_ID]
                and form.get("client_secret") == [CLIENT_SECRET]
                and form.get("scope") == ["api_offresdemploiv2 o2dsoffre"]
            )
            if not ok:
                return self._send(401, {"error": "invalid_client"})
            with api.lock:
                api.tokens_issued += 1
                token = f"tok-{api.tokens_issued}"
                api.valid_tokens.add(token)
            self._send(200, {"access_token": token, "token_type": "Bearer", "expires_in": 1499})

        def do_GET(self) -> None:
            url = urlparse(self.path)
            if url.path != "/partenaire/offresdemploi/v2/offres/search":
                return self._send(404, {"message": "not found"})
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            with api.lock:
                api.searches.append(q)
                n = len(api.searches)
                if n in api.expire_token_at:
                    api.valid_tokens.clear()
                if n in api.throttle_at:
                    return self._send(
                        429, {"message": "Too Many Requests"}, {"Retry-After": api.retry_after}
                    )
                if n in api.server_error_at:
                    return self._send(503, {"message": "unavailable"})
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if token not in api.valid_tokens:
                    return self._send(401, {"message": "invalid token"})
            p, d = (int(x) for x in q["range"].split("-"))
            if d - p + 1 > 150 or d > 1149:
                return self._send(400, {"message": f"range {p}-{d} invalide (max 150, <1150)"})
            lo, hi = _parse(q["minCreationDate"]), _parse(q["maxCreationDate"])
            hits = sorted(
                (
                    o
                    for o in api.offers
                    if o["lieuTravail"]["commune"].startswith(q["departement"])
                    and lo <= _parse(o["dateCreation"]) <= hi
                ),
                key=lambda o: (o["dateCreation"], o["id"]),
            )
            if not hits:
                return self._send(204)
            page = hits[p : d + 1]
            last = p + len(page) - 1
            status = 200 if p == 0 and len(hits) <= d + 1 else 206
            headers = {"Content-Range": f"offres {p}-{last}/{len(hits)}", "Accept-Range": "150"}
            self._send(status, {"resultats": page, "filtresPossibles": []}, headers)

    return Handler


def make_offers(dep: str, n: int, start: datetime, span: timedelta) -> list[dict[str, Any]]:
    step = span / max(n, 1)
    return [
        {
            "id": f"{dep}{i:06d}",
            "intitule": "Agent d'entretien (H/F)",
            "dateCreation": (start + step * i).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "dateActualisation": (start + step * i).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "lieuTravail": {"libelle": f"{dep} - X", "commune": f"{dep}234", "codePostal": "45000"},
            "romeCode": "K2204",
            "entreprise": {"nom": f"ENTREPRISE {i % 97}"},
            "secteurActivite": "81",
            "typeContrat": "CDI",
            "nombrePostes": 1,
        }
        for i in range(n)
    ]


def load_offres(con: duckdb.DuckDBPyConnection, source: Any) -> dict[str, int]:
    """Stage a source with the reader and build `offre` + `offre_duplicate` by their SQL.

    The ingestion mechanism does the same plus row rules and quality checks; here the
    SQL's own guard (no id / bad dateCreation rows are not loaded) is what is tested.
    """
    reader = pa.RecordBatchReader.from_batches(SCHEMA, read_offres(source))
    con.complete()
    con.register("offres_batches", reader)
    con.execute("CREATE OR REPLACE TABLE stg_offres AS SELECT * FROM offres_batches")
    con.unregister("offres_batches")
    for table in ("offre", "offre_duplicate"):
        run_sql_file(con, table, staging="stg_offres")
        con.execute(f"DROP TABLE IF EXISTS {table}")
        con.execute(f"ALTER TABLE {table}__new RENAME TO {table}")
    read = con.execute("SELECT count(*) FROM stg_offres").fetchall()[0][0]
    loaded = con.execute("SELECT count(*) FROM offre").fetchall()[0][0]
    dup = con.execute("SELECT coalesce(sum(copies - 1), 0) FROM offre_duplicate").fetchall()[0][0]
    con.execute("DROP TABLE stg_offres")
    return {
        "rows_read": read,
        "rows_invalid": read - loaded - int(dup),
        "duplicates": int(dup),
        "rows_loaded": loaded,
    }
