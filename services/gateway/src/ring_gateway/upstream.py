"""Calls to the internal services through one shared ``httpx.AsyncClient``.

The acting user and role go in a signed actor assertion (``X-Ring-Assertion``,
:mod:`ring_runtime.identity`); correlation id and ``traceparent`` travel on.
An upstream's answer (status and JSON body, errors included) is handed back unchanged; an
upstream that cannot be reached gives 503 ``upstream_unavailable``, never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx
import msgspec
from opentelemetry import propagate

from ring_gateway.tokens import Principal
from ring_runtime.context import current_event_context
from ring_runtime.http import CORRELATION_HEADER
from ring_runtime.identity import ASSERTION_HEADER, AssertionSigner

log = logging.getLogger("ring.gateway.upstream")


@dataclass(frozen=True)
class UpstreamResponse:
    """What an internal service answered."""

    status: int
    body: bytes
    content_type: str
    retry_after: str | None = None  # a 503 ``catching_up`` says when to retry (decision 0009)
    #: Of :data:`PASSED_HEADERS`, those the service set (a download's name and nosniff).
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        """The body decoded as JSON."""
        return msgspec.json.decode(self.body)


#: Response headers of a service that reach the client: a file download must stay a download
#: (``Content-Disposition: attachment``) and keep its ``nosniff``, or a browser may render it.
PASSED_HEADERS = ("content-disposition", "x-content-type-options")


class UpstreamUnavailable(Exception):
    """An internal service did not answer."""

    code = "upstream_unavailable"


class Upstreams:
    """The internal services by name: task, matching, voucher, ledger, dispute."""

    def __init__(
        self, client: httpx.AsyncClient, base_urls: Mapping[str, str], signer: AssertionSigner
    ) -> None:
        self.client = client
        self.base_urls = dict(base_urls)
        self.signer = signer

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        actor: Principal | None = None,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> UpstreamResponse:
        """Send one request to ``service`` and return its answer, whatever the status.

        Raises:
            UpstreamUnavailable: connection refused, timed out or broken.
        """
        sent = self.request_headers(actor, headers)
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self.client.request(
                method,
                self.base_urls[service] + path,
                json=json,
                params=query or None,
                content=content,
                headers=sent,
            )
        except httpx.HTTPError as error:
            log.warning("%s %s on %s failed: %r", method, path, service, error)
            raise UpstreamUnavailable(
                f"the {service} service is unavailable; retry later"
            ) from None
        return UpstreamResponse(
            status=response.status_code,
            body=response.content,
            content_type=response.headers.get("content-type", "application/json"),
            retry_after=response.headers.get("retry-after"),
            headers={k: response.headers[k] for k in PASSED_HEADERS if k in response.headers},
        )

    def request_headers(
        self, actor: Principal | None, headers: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """``headers`` plus the caller's signed assertion, the correlation id the client
        named (if any) and the trace context: what every request to an internal service
        carries (streams included)."""
        sent: dict[str, str] = dict(headers or {})
        if actor is not None:
            sent[ASSERTION_HEADER] = self.signer.sign(actor.user_id, str(actor.role))
        context = current_event_context()
        if context.chosen:  # else each service joins the lifecycle of what the command acts on
            sent[CORRELATION_HEADER] = context.correlation_id
        propagate.inject(sent)
        return sent

    async def healthy(self, service: str) -> bool:
        """Whether ``service`` answers its ``/health``."""
        try:
            response = await self.client.get(self.base_urls[service] + "/health", timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code == 200
