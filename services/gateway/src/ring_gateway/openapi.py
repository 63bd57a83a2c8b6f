"""What the OpenAPI document cannot learn from the handlers, declared once after it is built.

Handlers declare their success answers (with an example). The error answers are the same for
all of them: the shared error model ``{"error": {"code", "message", "details"}}`` (litestar's
default 400 body would be wrong) for the statuses the gateway itself produces and those the
services' answers pass through with. Uploads are forwarded to their service as raw bodies, so
their handlers declare no body: their multipart (and JSON) request bodies are declared here.
What the gateway enforces is declared too (:func:`document_enforcement`): which operations are
public, and that request bodies refuse unknown fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args

import msgspec
from litestar import Litestar
from litestar.enums import ParamType
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import (
    Encoding,
    Link,
    OpenAPI,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Parameter,
    Reference,
    RequestBody,
    Schema,
)
from litestar.routes import HTTPRoute

ERROR_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["error"],
    properties={
        "error": Schema(
            type=OpenAPIType.OBJECT,
            required=["code", "message"],
            properties={
                "code": Schema(type=OpenAPIType.STRING, description="Stable error code"),
                "message": Schema(type=OpenAPIType.STRING),
                "details": Schema(description="Code-specific details, or null"),
            },
        )
    },
    description="Every error answer",
)

#: status → description, for every ``/v1`` operation (the services' answers pass through).
API_ERRORS: dict[int, str] = {
    400: "Malformed request (validation_failed, invalid_idempotency_key, …)",
    401: "Missing, invalid, expired or revoked token (invalid_token), a refresh token used "
    "twice (refresh_token_reused: sign in again), or wrong credentials",
    403: "The caller's role or identity may not do this",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state, or a request with this key is in flight",
    422: "Not allowed in the current state, or Idempotency-Key reused with another body",
    503: "A service the operation needs did not answer (upstream_unavailable), or a fact the "
    "decision depends on is still on its way between services (catching_up): retry after the "
    "`Retry-After` seconds; never a refusal based on stale data",
}
#: Any operation taking a body (``ring_runtime.http.screen_request``).
BODY_ERRORS: dict[int, str] = {
    415: "The body is neither JSON nor (for uploads) multipart (unsupported_media_type)"
}
#: ``/v1/auth/*`` is rate limited (``Retry-After``).
AUTH_ERRORS: dict[int, str] = {429: "Too many attempts (rate_limited, see Retry-After)"}


#: Accepted by every ``/v1`` operation (and echoed on its answer).
CORRELATION_PARAMETER = Parameter(
    name="X-Correlation-ID",
    param_in=ParamType.HEADER,
    required=False,
    schema=Schema(type=OpenAPIType.STRING, max_length=200),
    description="Names the business transaction this request belongs to: every event it "
    "causes, in every service, is recorded under it (see GET /v1/admin/audit/trails/{id}). "
    "Without it, a command on a task or an order joins that task's lifecycle correlation (one "
    "id from creation to settlement); any other request starts a new one. The answer carries "
    "the id the gateway used in the same header.",
)


def _error(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={
            "application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/Error"))
        },
    )


def document_errors(openapi: OpenAPI) -> None:
    """Declare the error answers of every ``/v1`` operation in ``openapi`` (in place)."""
    components = openapi.components
    if components.schemas is None:
        components.schemas = {}
    components.schemas["Error"] = ERROR_SCHEMA
    for path, item in (openapi.paths or {}).items():
        if not path.startswith("/v1/"):
            continue
        errors = {**API_ERRORS, **(AUTH_ERRORS if path.startswith("/v1/auth/") else {})}
        for method in ("get", "put", "post", "delete", "patch"):
            operation = getattr(item, method, None)
            if operation is None:
                continue
            responses = operation.responses if operation.responses is not None else {}
            declared = {**errors, **(BODY_ERRORS if method != "get" else {})}
            for status, description in declared.items():
                # Replaces litestar's generic 400 (its body is not what the gateway sends).
                if status == 400 or str(status) not in responses:
                    responses[str(status)] = _error(description)
            operation.responses = responses
            operation.parameters = [*(operation.parameters or []), CORRELATION_PARAMETER]


_TOO_LARGE = "A file (or the whole upload) is larger than allowed (file_too_large)"
_WRONG_TYPE = "A file is not of an accepted type, judged by its content (unsupported_file_type)"
#: operationId → errors of an upload beyond those of every operation.
UPLOAD_ERRORS: dict[str, dict[int, str]] = {
    "SubmitVoucher": {413: _TOO_LARGE, 415: _WRONG_TYPE},
    "AddEvidence": {413: _TOO_LARGE},
}
_BINARY = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
_STATEMENT = Schema(type=OpenAPIType.STRING, min_length=1, max_length=10_000)
_ACCEPTED_TYPES = "image/png, image/jpeg, image/gif, image/webp, application/pdf, application/zip"

#: operationId → request body of the operations whose body the gateway forwards untouched.
UPLOADS: dict[str, RequestBody] = {
    "SubmitVoucher": RequestBody(
        required=True,
        description="Proof of completion: one or more `files` parts and an optional `note`.",
        content={
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["files"],
                    properties={
                        "files": Schema(type=OpenAPIType.ARRAY, items=_BINARY, min_items=1),
                        "note": Schema(type=OpenAPIType.STRING, max_length=2000),
                    },
                ),
                encoding={"files": Encoding(content_type=_ACCEPTED_TYPES)},
            )
        },
    ),
    "AddEvidence": RequestBody(
        required=True,
        description="A statement (optionally naming an uploaded file by its SHA-256), or a "
        "multipart upload of one `file` with its `statement`.",
        content={
            "application/json": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["statement"],
                    properties={
                        "statement": _STATEMENT,
                        "sha256": Schema(type=OpenAPIType.STRING, pattern="^[0-9a-f]{64}$"),
                    },
                    additional_properties=False,
                )
            ),
            "multipart/form-data": OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    required=["file", "statement"],
                    properties={"file": _BINARY, "statement": _STATEMENT},
                ),
            ),
        },
    ),
}


def document_uploads(openapi: OpenAPI) -> None:
    """Declare the request bodies and extra errors of the upload operations (in place)."""
    for item in (openapi.paths or {}).values():
        operation = item.post
        if operation is None or operation.operation_id not in UPLOADS:
            continue
        operation.request_body = UPLOADS[operation.operation_id]
        responses = operation.responses if operation.responses is not None else {}
        for status, description in UPLOAD_ERRORS[operation.operation_id].items():
            responses[str(status)] = _error(description)
        operation.responses = responses


_METHODS = ("get", "put", "post", "delete", "patch")


def document_enforcement(app: Litestar) -> None:
    """Declare what the handlers enforce but litestar does not write into the schema (in place).

    - An operation whose handler takes no ``principal`` is public (``security: []``): health,
      readiness, register, login, refresh, logout. The document's default is the bearer token.
    - A request body whose Struct sets ``forbid_unknown_fields`` declares
      ``additionalProperties: false``: an unknown field is a 400, not silently dropped.
    """
    handlers = {
        handler.operation_id: handler
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if isinstance(handler, HTTPRouteHandler) and isinstance(handler.operation_id, str)
    }
    openapi = app.openapi_schema
    schemas = openapi.components.schemas or {}
    for item in (openapi.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            handler = handlers.get(operation.operation_id) if operation is not None else None
            if operation is None or handler is None:
                continue
            parameters = handler.parsed_fn_signature.parameters
            if "principal" not in parameters:
                operation.security = []
            body = parameters.get("data")
            if body is None or not _refuses_unknown_fields(body.annotation):
                continue
            if isinstance(operation.request_body, RequestBody):
                for media in operation.request_body.content.values():
                    _close(media.schema, schemas)


def _refuses_unknown_fields(declared: Any) -> bool:
    """Whether a body annotation is a Struct (or an optional one) that refuses unknown fields."""
    members = [t for t in get_args(declared) if t is not type(None)] or [declared]
    return all(
        isinstance(t, type)
        and issubclass(t, msgspec.Struct)
        and t.__struct_config__.forbid_unknown_fields
        for t in members
    )


def _close(schema: Schema | Reference | None, components: Mapping[str, Schema | Reference]) -> None:
    """``additionalProperties: false`` on ``schema``'s object (through refs and compositions)."""
    if isinstance(schema, Reference):
        _close(components.get(schema.ref.rpartition("/")[2]), components)
    elif isinstance(schema, Schema):
        for member in (*(schema.all_of or ()), *(schema.one_of or ()), *(schema.any_of or ())):
            _close(member, components)
        if schema.type == OpenAPIType.OBJECT:
            schema.additional_properties = False


def _link(operation_id: str, **parameters: str) -> Link:
    return Link(operation_id=operation_id, parameters=parameters)


_TASK_ID = "$response.body#/id"
#: operationId → status → the operations its answer leads to (OpenAPI links): the main flows,
#: which clients and stateful test tools (schemathesis) follow from one answer to the next.
LINKS: dict[str, dict[str, dict[str, Link]]] = {
    "CreateTask": {
        "201": {
            "GetTask": _link("GetTask", task_id=_TASK_ID),
            "PublishTask": _link("PublishTask", task_id=_TASK_ID),
            "CancelTask": _link("CancelTask", task_id=_TASK_ID),
        }
    },
    "PublishTask": {"202": {"GetTask": _link("GetTask", task_id="$request.path.task_id")}},
    "TakeOrder": {"201": {"GetOrder": _link("GetOrder", order_id="$response.body#/id")}},
    "CreateDeposit": {
        "201": {"GetWallet": _link("GetWallet", currency="$response.body#/currency")}
    },
}


def document_links(openapi: OpenAPI) -> None:
    """Declare :data:`LINKS` on their operations' answers (in place)."""
    for item in (openapi.paths or {}).values():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if operation is None or operation.operation_id not in LINKS:
                continue
            for status, links in LINKS[operation.operation_id].items():
                answer = (operation.responses or {}).get(status)
                if isinstance(answer, OpenAPIResponse):
                    answer.links = {**(answer.links or {}), **links}
