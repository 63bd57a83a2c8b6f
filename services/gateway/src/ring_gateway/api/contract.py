"""``GET /asyncapi.json``: the analysts' contract of every public topic (AsyncAPI 3.0), next to
the HTTP API's OpenAPI document; generated from ``ring_events`` (see
:mod:`ring_events.asyncapi`; ``ring events asyncapi --examples tests/contract/golden`` adds the
golden examples)."""

from __future__ import annotations

from typing import Any

from litestar import get

from ring_events.asyncapi import asyncapi_document

_DOCUMENT = asyncapi_document()


@get("/asyncapi.json", operation_id="GetEventContract", tags=["contract"], include_in_schema=False)
async def event_contract() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of ``ring.*.events`` (public, like ``/schema``)."""
    return _DOCUMENT
