"""Security headers on every answer; no-store on token answers; HSTS only over HTTPS."""

from __future__ import annotations

from litestar import Litestar, MediaType, get, post
from litestar.testing import TestClient

from ring_runtime.http import security_headers_middleware


@post("/v1/auth/login", sync_to_thread=False)
def login() -> dict[str, str]:
    return {"access_token": "t"}


@get("/docs", media_type=MediaType.HTML, sync_to_thread=False)
def docs() -> str:
    return "<html></html>"


APP = Litestar([login, docs], middleware=[security_headers_middleware])


def test_token_answers_are_never_stored_and_never_sniffed() -> None:
    with TestClient(APP) as client:
        answer = client.post("/v1/auth/login")
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in answer.headers  # plain HTTP


def test_html_gets_a_policy_and_https_gets_hsts() -> None:
    with TestClient(APP, base_url="https://ring.example") as client:
        answer = client.get("/docs")
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    assert answer.headers["strict-transport-security"].startswith("max-age=")
    assert "cache-control" not in answer.headers
