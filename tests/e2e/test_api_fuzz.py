"""Schemathesis over the gateway's published OpenAPI, against the whole running platform.

Every operation gets a bounded, derandomized number of generated requests (so CI is stable and
takes a few minutes), valid ones and invalid ones, sent with a real token: an admin's for
``/v1/admin/*``, otherwise valid ones as a registered party A and as a party B, invalid ones as
the party A (validation answers them before any role check). Checks: no 5xx, only documented
statuses, and bodies and content types that match the documented schema.

A short stateful run follows the schema's OpenAPI links (create a task, then read, publish or
cancel it; take an order, then read it; deposit, then read the wallet) as a party A: ids made
by one answer are used in the next request, so the generated requests reach real objects.

Uses schemathesis' Python API (``operation.as_strategy``) rather than ``@schema.parametrize()``
with ``schemathesis.pytest.from_fixture``: the schema only exists once the platform runs, and
the lazy loader of schemathesis 4.32 fails on pytest 9 (``'Function' object has no attribute
'_nodeid'``).
"""

from __future__ import annotations

import os
from typing import Any
from uuid import uuid4

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode

from ring_runtime.settings import SERVICE_PORTS
from ring_runtime.testing import admin_create

pytestmark = pytest.mark.e2e

GATEWAY = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
PASSWORD = "correct horse 9!"
# Per operation, role and generation mode (valid and invalid requests). CI keeps the default;
# RING_FUZZ_EXAMPLES=100 is a deeper local run.
EXAMPLES = int(os.environ.get("RING_FUZZ_EXAMPLES", "15"))
#: Scenarios of the stateful run, each up to STATEFUL_STEPS linked calls (about a minute).
STATEFUL_SCENARIOS = int(os.environ.get("RING_FUZZ_SCENARIOS", "20"))
STATEFUL_STEPS = 4
#: Operations whose answer never ends (a Server-Sent Events stream): each generated request would
#: wait for its read timeout. The stream has its own tests (tests/e2e/test_notifications.py).
ENDLESS = frozenset({"/v1/events/stream"})

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    content_type_conformance,
]


def _token(email: str) -> str:
    login = httpx.post(f"{GATEWAY}/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


@pytest.fixture(scope="module")
def tokens(platform: dict[str, str]) -> dict[str, str]:
    """Access tokens of a fresh party A, a fresh party B and a fresh admin."""
    emails = {}
    for role in ("party_a", "party_b"):
        emails[role] = f"fuzz-{role}-{uuid4().hex[:8]}@ring.test"
        registered = httpx.post(
            f"{GATEWAY}/v1/auth/register",
            json={"email": emails[role], "password": PASSWORD, "role": role, "display_name": "F"},
        )
        assert registered.status_code == 201, registered.text
    emails["admin"] = f"fuzz-admin-{uuid4().hex[:8]}@ring.test"
    admin_create(platform, emails["admin"], PASSWORD)
    return {role: _token(email) for role, email in emails.items()}


def fuzz(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> str | None:
    """Run ``EXAMPLES`` generated requests against one operation; the failure, if any."""

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
    )
    def check(case: Any) -> None:
        if isinstance(case.query, dict) and "wait_for" in case.query:
            # A generated wait that is well formed would hold the request for its whole
            # timeout (10 s by default): the long-poll itself has its own tests.
            case.query["timeout"] = 0.1
        case.call_and_validate(headers=headers, checks=CHECKS, timeout=30)

    try:
        check()
    except Unsatisfiable as error:
        # An operation with no parameter, body or security requirement (/health, /ready) has
        # no invalid request a client could send: nothing to try in the negative mode.
        if mode is GenerationMode.NEGATIVE:
            return None
        return f"{operation.label} ({mode.value}): {error}"
    except (Exception, BaseExceptionGroup) as error:  # schemathesis' FailureGroup
        return f"{operation.label} ({mode.value}): {error}"
    return None


def test_no_server_error_and_schema_conformance(
    platform: dict[str, str], tokens: dict[str, str]
) -> None:
    schema = schemathesis.openapi.from_url(f"{GATEWAY}/schema/openapi.json", timeout=10)
    results = list(schema.get_all_operations())
    operations = [result.ok() for result in results if isinstance(result, Ok)]
    assert len(operations) == len(results), [r for r in results if not isinstance(r, Ok)]
    assert len(operations) >= 40
    failures: list[str] = []
    runs = 0
    for operation in operations:
        if operation.path in ENDLESS:
            continue
        admin = operation.path.startswith("/v1/admin/")
        for role in ("admin",) if admin else ("party_a", "party_b"):
            headers = {"Authorization": f"Bearer {tokens[role]}"}
            # Invalid requests are refused by parameter and body validation, which runs before
            # any handler looks at the caller's role: one role sends them. Valid ones reach the
            # role checks and the services, so every role sends those.
            modes = [GenerationMode.POSITIVE]
            if role in ("admin", "party_a"):
                modes.append(GenerationMode.NEGATIVE)
            for mode in modes:
                runs += 1
                failure = fuzz(operation, mode, headers)
                if failure:
                    failures.append(f"as {role}: {failure}")
    assert runs >= 2 * len(operations)
    assert not failures, "\n\n".join(failures)


def test_linked_flows_stay_within_the_schema(
    platform: dict[str, str], tokens: dict[str, str]
) -> None:
    """Schemathesis' state machine over the OpenAPI links, as a party A with money."""
    deposit = httpx.post(
        f"{GATEWAY}/v1/wallet/deposits",
        json={"amount_minor": 10**9, "currency": "CNY"},
        headers={"Authorization": f"Bearer {tokens['party_a']}", "Idempotency-Key": "fuzz"},
    )
    assert deposit.status_code == 201, deposit.text
    schema = schemathesis.openapi.from_url(f"{GATEWAY}/schema/openapi.json", timeout=10)
    headers = {"Authorization": f"Bearer {tokens['party_a']}"}

    class AsPartyA(schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            if isinstance(case.query, dict) and "wait_for" in case.query:
                case.query["timeout"] = 0.1
            return {"headers": headers, "timeout": 30}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs)

    AsPartyA.run(
        settings=settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
    )
