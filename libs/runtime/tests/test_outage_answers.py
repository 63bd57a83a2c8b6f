"""While PostgreSQL is unreachable a request gets 503 with Retry-After, never a 500."""

from __future__ import annotations

import psycopg
from litestar import Litestar, get
from litestar.testing import TestClient

from ring_runtime.embedded import free_port
from ring_runtime.http import exception_handlers

UNREACHABLE = f"postgresql://postgres@127.0.0.1:{free_port()}/ring"


@get("/needs-the-store", sync_to_thread=True)
def needs_the_store() -> str:
    with psycopg.connect(UNREACHABLE, connect_timeout=2) as conn:
        conn.execute("SELECT 1")
    return "unreachable"


@get("/broken", sync_to_thread=False)
def broken() -> str:
    raise RuntimeError("a bug")


def test_an_unreachable_store_answers_503_with_retry_after() -> None:
    app = Litestar([needs_the_store, broken], exception_handlers=exception_handlers({}))
    with TestClient(app) as client:
        answer = client.get("/needs-the-store")
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        assert answer.json()["error"]["code"] == "dependency_unavailable"
        assert client.get("/broken").status_code == 500  # a bug stays a 500
