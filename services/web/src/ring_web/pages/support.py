"""What every page needs: the signed-in user, the gateway as that user, rendering in the user's
language, flash messages, and turning API errors into messages next to the field or action."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import NotAuthorizedException
from litestar.response import Redirect, Template

from ring_web.config import WebConfig
from ring_web.gateway import ApiError, Gateway
from ring_web.i18n import LANGUAGES, Translator, error_message

AnyRequest = Request[Any, Any, State]
#: Cookie holding the chosen language (also works signed out).
LANG_COOKIE = "ring_lang"
PARTY_A, PARTY_B, ADMIN = "party_a", "party_b", "admin"


class WrongRole(NotAuthorizedException):
    """The page belongs to another role (or to signed-in users only)."""


def language(request: AnyRequest) -> str:
    """The chosen language, else the browser's first supported one, else English."""
    chosen = request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    return "zh" if accept.startswith("zh") else "en"


def translator(request: AnyRequest) -> Translator:
    """The message catalogue of the request's language."""
    return Translator(language(request))


def session(request: AnyRequest) -> dict[str, Any]:
    """The browser's session; empty where the session middleware did not run (unknown path)."""
    found = request.scope.get("session")
    return found if isinstance(found, dict) else {}


def user(request: AnyRequest) -> dict[str, Any] | None:
    """The signed-in user (id, role, name, email), or ``None``."""
    found = session(request).get("user")
    return found if isinstance(found, dict) else None


def require(request: AnyRequest, *roles: str) -> dict[str, Any]:
    """The signed-in user if their role is one of ``roles``.

    Raises:
        WrongRole: not signed in, or another role.
    """
    found = user(request)
    if found is None or found.get("role") not in roles:
        raise WrongRole("sign in with an account that may open this page")
    return found


def gateway(request: AnyRequest, *, may_refresh: bool = True) -> Gateway:
    """The public API as the signed-in user of this browser."""
    client: httpx.AsyncClient = request.app.state.gateway_client
    return Gateway(client, request.session, may_refresh=may_refresh)


def config(request: AnyRequest) -> WebConfig:
    """The web app's configuration."""
    web: WebConfig = request.app.state.web_config
    return web


def flash(request: AnyRequest, key: str, level: str = "ok") -> None:
    """Show the message ``key`` on the next page rendered for this browser."""
    messages = list(request.session.get("flash", []))
    messages.append([level, key])
    request.session["flash"] = messages[-3:]


def render(request: AnyRequest, template: str, status_code: int = 200, **context: Any) -> Template:
    """``template`` in the user's language with the layout's context."""
    t = translator(request)
    messages = session(request).pop("flash", [])
    return Template(
        template_name=template,
        status_code=status_code,
        context={
            **context,
            "t": t,
            "lang": t.lang,
            "me": user(request),
            "flashes": [(level, t(key)) for level, key in messages],
            "path": request.url.path,
            "query": request.url.query,
        },
    )


def back(url: str, request: AnyRequest, key: str) -> Redirect:
    """Post/redirect/get with a confirmation on the next page."""
    flash(request, key)
    return Redirect(url, status_code=303)


def problem(request: AnyRequest, error: ApiError) -> str:
    """The user-facing sentence for an API error, in the user's language."""
    return error_message(translator(request), error.code, error.message)


def form_errors(request: AnyRequest, error: ApiError, fields: dict[str, str]) -> dict[str, str]:
    """Messages keyed by form field for an API error: a ``validation_failed`` answer names the
    API fields (mapped to form fields by ``fields``); anything else goes to the form's
    ``_form`` slot, shown next to the submit button."""
    t = translator(request)
    mapped = {
        fields[key]: t("error_field_invalid") for key in error.field_errors() if key in fields
    }
    return mapped or {"_form": problem(request, error)}
