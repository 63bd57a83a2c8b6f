"""The error answers every public operation can give, declared once in the OpenAPI document.

Handlers declare their success answers (with an example); the error answers are the same for
all of them, so they are added here after the document is built: the shared error model
``{"error": {"code", "message", "details"}}`` (litestar's default 400 body would be wrong) for
the statuses the gateway itself produces and those the services' answers pass through with.
"""

from __future__ import annotations

from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Reference,
    Schema,
)

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
    401: "Missing, invalid or expired token, or wrong credentials",
    403: "The caller's role or identity may not do this",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state, or a request with this key is in flight",
    422: "Not allowed in the current state, or Idempotency-Key reused with another body",
    503: "A service the operation needs did not answer",
}
#: ``/v1/auth/*`` is rate limited (``Retry-After``).
AUTH_ERRORS: dict[int, str] = {429: "Too many attempts (rate_limited, see Retry-After)"}


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
            for status, description in errors.items():
                # Replaces litestar's generic 400 (its body is not what the gateway sends).
                if status == 400 or str(status) not in responses:
                    responses[str(status)] = _error(description)
            operation.responses = responses
