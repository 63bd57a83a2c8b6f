"""Wiring of the web app: ``create_app(settings)`` and the :data:`SERVICE` entry point.

A server-rendered litestar app (Jinja templates, htmx, no build step). It keeps no data of its
own: the browser's session is an encrypted cookie holding the user's gateway tokens, and every
page is made from public gateway API calls (:mod:`ring_web.gateway`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from litestar import Litestar, Response
from litestar.config.csrf import CSRFConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from ring_runtime.service import ServiceDefinition
from ring_runtime.settings import Settings
from ring_runtime.telemetry import configure_telemetry, http_telemetry, metrics_endpoint
from ring_web.config import WebConfig, web_config
from ring_web.gateway import TIMEOUT, ApiError, SignedOut
from ring_web.i18n import error_message
from ring_web.live import ChangeFeed, PollingChangeFeed
from ring_web.money import format_money
from ring_web.pages.account import ACCOUNT_HANDLERS
from ring_web.pages.admin import ADMIN_HANDLERS
from ring_web.pages.auth import AUTH_HANDLERS
from ring_web.pages.disputes import DISPUTE_HANDLERS
from ring_web.pages.orders import ORDER_HANDLERS
from ring_web.pages.support import AnyRequest, flash, render, translator, user
from ring_web.pages.tasks import TASK_HANDLERS

PACKAGE = Path(__file__).parent
log = logging.getLogger(__name__)

#: Security headers of every page (no inline script: the page script is a static file).
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _signed_out(request: AnyRequest, _: Exception) -> Response[Any]:
    request.clear_session()
    flash(request, "flash_signed_out_expired")
    return Redirect("/login", status_code=303)


def _not_allowed(request: AnyRequest, _: Exception) -> Response[Any]:
    if user(request):
        return render(request, "error.html", 403, message=translator(request)("error_wrong_role"))
    return Redirect("/login", status_code=303)


def _api_error(request: AnyRequest, error: ApiError) -> Response[Any]:
    t = translator(request)
    status = error.status if 400 <= error.status < 600 else 502
    return render(
        request, "error.html", status, message=error_message(t, error.code, error.message)
    )


def _http_error(request: AnyRequest, error: HTTPException) -> Response[Any]:
    t = translator(request)
    if isinstance(error, PermissionDeniedException) and "CSRF" in str(error.detail):
        return render(request, "error.html", 403, message=t("error_csrf"))
    key = {404: "error_not_found", 405: "error_not_found"}.get(
        error.status_code, "error_bad_request"
    )
    return render(request, "error.html", error.status_code, message=t(key))


def _internal(request: AnyRequest, error: Exception) -> Response[Any]:
    log.exception("page failed: %s %s", request.method, request.url.path, exc_info=error)
    return render(request, "error.html", 500, message=translator(request)("error_internal"))


def build_app(settings: Settings, web: WebConfig, feed: ChangeFeed | None = None) -> Litestar:
    """The web app; tests may pass a ``feed`` other than polling."""
    configure_telemetry(settings.service)
    client = httpx.AsyncClient(base_url=web.gateway_url, timeout=TIMEOUT)

    @contextlib.asynccontextmanager
    async def lifespan(_: Litestar) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await client.aclose()

    async def headers(response: Response[Any]) -> Response[Any]:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    engine = TemplateConfig(
        directory=PACKAGE / "templates", engine=JinjaTemplateEngine, engine_callback=_globals
    )
    csrf_secret = hashlib.sha256(b"ring-web csrf v1" + web.session_key).hexdigest()
    return Litestar(
        route_handlers=[
            *AUTH_HANDLERS,
            *TASK_HANDLERS,
            *ORDER_HANDLERS,
            *ACCOUNT_HANDLERS,
            *DISPUTE_HANDLERS,
            *ADMIN_HANDLERS,
            create_static_files_router(path="/static", directories=[PACKAGE / "static"]),
            metrics_endpoint,
        ],
        lifespan=[lifespan],
        state=State(
            {
                "gateway_client": client,
                "web_config": web,
                "settings": settings,
                "change_feed": feed or PollingChangeFeed(),
            }
        ),
        template_config=engine,
        middleware=[
            http_telemetry,
            CookieBackendConfig(
                secret=web.session_key,
                key="ring_session",
                secure=web.secure_cookies,
                httponly=True,
                samesite="lax",
                max_age=14 * 86400,
            ).middleware,
        ],
        csrf_config=CSRFConfig(
            secret=csrf_secret,
            cookie_name="ring_csrf",
            cookie_secure=web.secure_cookies,
            cookie_samesite="strict",
            cookie_httponly=True,
        ),
        after_request=headers,
        exception_handlers={
            SignedOut: _signed_out,
            NotAuthorizedException: _not_allowed,
            ApiError: _api_error,
            HTTPException: _http_error,
            Exception: _internal,
        },
    )


def _globals(engine: JinjaTemplateEngine) -> None:
    engine.engine.globals["money"] = format_money


def create_app(settings: Settings) -> Litestar:
    """The web process, configured from the environment."""
    return build_app(settings, web_config())


SERVICE = ServiceDefinition(name="web", create_app=create_app)
