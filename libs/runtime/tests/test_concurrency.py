"""The one retry-on-conflict runner: re-runs a command whose save lost its race, then gives up
with the one error every service answers 409 ``concurrent_update``."""

from __future__ import annotations

import pytest
from eventsourcing.persistence import IntegrityError
from litestar import Litestar, post
from litestar.testing import TestClient

from ring_runtime.concurrency import MAX_ATTEMPTS, ConcurrentUpdate, retrying
from ring_runtime.http import exception_handlers


def test_a_command_that_loses_races_is_run_again_until_its_save_wins() -> None:
    runs: list[int] = []

    def command() -> str:
        runs.append(1)
        if len(runs) < 3:
            raise IntegrityError("version taken")
        return "saved"

    assert retrying(command) == "saved"
    assert len(runs) == 3


def test_a_command_that_always_loses_gives_up_after_the_policy_s_attempts() -> None:
    runs: list[int] = []

    def command() -> None:
        runs.append(1)
        raise IntegrityError("version taken")

    with pytest.raises(ConcurrentUpdate):
        retrying(command)
    assert len(runs) == MAX_ATTEMPTS


def test_a_business_refusal_is_not_retried() -> None:
    runs: list[int] = []

    def command() -> None:
        runs.append(1)
        raise ValueError("no slot left")

    with pytest.raises(ValueError, match="no slot left"):
        retrying(command)
    assert len(runs) == 1


@post("/contended", sync_to_thread=False)
def contended() -> None:
    raise ConcurrentUpdate("gave up")


def test_giving_up_is_a_409_with_its_code_in_every_service() -> None:
    app = Litestar([contended], exception_handlers=exception_handlers({}))
    with TestClient(app) as client:
        answer = client.post("/contended")
        assert answer.status_code == 409
        assert answer.json()["error"]["code"] == "concurrent_update"
