"""Register, sign in, sign out, language; the home page sends each role to its start page."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Response, get, post
from litestar.response import Redirect, Template

from ring_web.gateway import ApiError, Gateway, PublicGateway, SignedOut, store_tokens
from ring_web.i18n import LANGUAGES
from ring_web.pages.support import (
    ADMIN,
    LANG_COOKIE,
    PARTY_A,
    PARTY_B,
    AnyRequest,
    back,
    form_errors,
    render,
    translator,
    user,
)

#: Where each role starts.
HOME = {PARTY_A: "/tasks", PARTY_B: "/board", ADMIN: "/admin/disputes"}


def _public(request: AnyRequest) -> PublicGateway:
    return PublicGateway(request.app.state.gateway_client)


async def _sign_in(request: AnyRequest, email: str, password: str) -> str:
    """Exchange the credentials for the gateway's tokens, kept in the encrypted session, and
    remember who signed in; the role's start page.

    Raises:
        ApiError: the gateway refused the credentials.
        SignedOut: the new tokens were refused at once.
    """
    tokens = await _public(request).login(email, password)
    request.session.clear()
    store_tokens(request.session, tokens)
    me = await Gateway(request.app.state.gateway_client, request.session).call("GET", "/v1/me")
    request.session["user"] = {
        "id": me["id"],
        "role": me["role"],
        "name": me["display_name"],
        "email": me["email"],
    }
    return HOME.get(me["role"], "/")


@get("/", sync_to_thread=False)
def home(request: AnyRequest) -> Redirect:
    """Signed in: the role's start page; otherwise the sign-in page."""
    found = user(request)
    return Redirect(HOME.get(found["role"], "/login") if found else "/login", status_code=303)


@get("/login", sync_to_thread=False)
def login_page(request: AnyRequest) -> Template:
    """The sign-in form."""
    return render(request, "login.html", form={}, errors={})


@post("/login")
async def login(request: AnyRequest) -> Template | Redirect:
    """Exchange the credentials for the gateway's tokens, kept in the encrypted session."""
    form = dict(await request.form())
    email, password = str(form.get("email", "")).strip(), str(form.get("password", ""))
    t = translator(request)
    errors: dict[str, str] = {}
    if not email:
        errors["email"] = t("error_required")
    if not password:
        errors["password"] = t("error_required")
    if not errors:
        try:
            start = await _sign_in(request, email, password)
        except ApiError as error:
            errors = form_errors(request, error, {"email": "email", "password": "password"})
        except SignedOut:
            errors = {"_form": t("error_invalid_credentials")}
        else:
            return back(start, request, "flash_signed_in")
    form.pop("password", None)
    return render(request, "login.html", status_code=400, form=form, errors=errors)


@get("/register", sync_to_thread=False)
def register_page(request: AnyRequest) -> Template:
    """The registration form."""
    return render(request, "register.html", form={"role": PARTY_A}, errors={})


@post("/register")
async def register(request: AnyRequest) -> Template | Redirect:
    """Create a Party A or Party B account, then sign in with it."""
    form = dict(await request.form())
    t = translator(request)
    values = {k: str(form.get(k, "")).strip() for k in ("email", "display_name", "role")}
    password = str(form.get("password", ""))
    errors: dict[str, str] = {}
    if "@" not in values["email"]:
        errors["email"] = t("error_email")
    if len(password) < 8:
        errors["password"] = t("error_password_short")
    if not values["display_name"]:
        errors["display_name"] = t("error_required")
    if values["role"] not in (PARTY_A, PARTY_B):
        errors["role"] = t("error_required")
    if not errors:
        try:
            await _public(request).register(
                values["email"], password, values["role"], values["display_name"]
            )
        except ApiError as error:
            errors = form_errors(
                request,
                error,
                {"email": "email", "password": "password", "display_name": "display_name"},
            )
            if error.code == "email_taken":
                errors = {"email": t("error_email_taken")}
        else:
            try:
                start = await _sign_in(request, values["email"], password)
            except (ApiError, SignedOut):
                return back("/login", request, "flash_registered")
            return back(start, request, "flash_registered")
    return render(request, "register.html", status_code=400, form=values, errors=errors)


@post("/logout")
async def logout(request: AnyRequest) -> Redirect:
    """End the gateway session and forget the tokens."""
    refresh = request.session.get("refresh_token") if request.session else None
    if refresh:
        await _public(request).logout(refresh)
    request.clear_session()
    return Redirect("/login", status_code=303)


@get("/lang/{code:str}", sync_to_thread=False)
def switch_language(request: AnyRequest, code: str, next: str = "/") -> Redirect:
    """Remember the chosen language and go back to the page (same-site paths only)."""
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = Redirect(target, status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


@get("/health", sync_to_thread=False)
def health() -> dict[str, Any]:
    """Liveness: the web process is up."""
    return {"status": "ok"}


@get("/ready")
async def ready(request: AnyRequest) -> Response[dict[str, str]]:
    """Readiness: the gateway answers its health check (503 otherwise)."""
    try:
        answer = await request.app.state.gateway_client.get("/health")
        ok = answer.status_code == 200
    except httpx.HTTPError:
        ok = False
    return Response(
        {"status": "ready" if ok else "unavailable", "gateway": "ok" if ok else "unreachable"},
        status_code=200 if ok else 503,
    )


AUTH_HANDLERS = [
    home,
    login_page,
    login,
    register_page,
    register,
    logout,
    switch_language,
    health,
    ready,
]
