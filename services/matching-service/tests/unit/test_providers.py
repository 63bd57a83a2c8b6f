"""Provider qualification, admin decisions, suspension and Party A's blocklist."""

from __future__ import annotations

from uuid import UUID, uuid4

import msgspec
import pytest

from ring_events.registry import decoder_for
from ring_events.topics import MATCHING_EVENTS
from ring_matching.application import Providers
from ring_matching.domain import (
    AlreadyVerified,
    CannotBlockSelf,
    IllegalTransition,
    InvalidQualification,
    NotYourself,
    ProviderNotFound,
    ReasonRequired,
    Verification,
)
from ring_matching.integration import DOMAIN_TO_PUBLIC

from .conftest import NOW


def _submit(app: Providers, provider: UUID, skills: list[str] | None = None) -> None:
    app.submit_qualification(
        provider,
        provider,
        kind="certificate",
        reference="CVAT-42",
        skills=skills or ["Labeling", " python ", "labeling"],
        now=NOW,
    )


def test_first_submission_registers_the_provider_pending_review(
    app: Providers, provider: UUID
) -> None:
    _submit(app, provider)
    found = app.get_provider(provider)
    assert found.id == provider
    assert found.verification is Verification.PENDING
    assert found.skills == ("labeling", "python")
    assert not found.may_take_orders


def test_verified_provider_may_take_orders_until_suspended(
    app: Providers, provider: UUID, admin: UUID
) -> None:
    _submit(app, provider)
    assert app.verify(provider, admin, now=NOW).may_take_orders
    suspended = app.suspend(provider, admin, "fake vouchers", now=NOW)
    assert suspended.suspended
    assert not suspended.may_take_orders
    reinstated = app.reinstate(provider, admin, now=NOW)
    assert reinstated.verification is Verification.VERIFIED
    assert reinstated.may_take_orders


def test_rejection_needs_a_reason_and_allows_resubmission(
    app: Providers, provider: UUID, admin: UUID
) -> None:
    _submit(app, provider)
    with pytest.raises(ReasonRequired):
        app.reject(provider, admin, "  ", now=NOW)
    rejected = app.reject(provider, admin, "certificate expired", now=NOW)
    assert rejected.verification is Verification.REJECTED
    assert rejected.decision_reason == "certificate expired"
    assert rejected.decided_by == admin
    _submit(app, provider, ["python"])
    assert app.get_provider(provider).verification is Verification.PENDING
    assert app.verify(provider, admin, now=NOW).skills == ("python",)


def test_decisions_need_a_pending_qualification(
    app: Providers, provider: UUID, admin: UUID
) -> None:
    _submit(app, provider)
    app.verify(provider, admin, now=NOW)
    with pytest.raises(IllegalTransition):
        app.verify(provider, admin, now=NOW)
    with pytest.raises(IllegalTransition):
        app.reject(provider, admin, "too late", now=NOW)
    with pytest.raises(AlreadyVerified):
        _submit(app, provider)
    with pytest.raises(IllegalTransition):
        app.reinstate(provider, admin, now=NOW)


def test_only_the_provider_submits_its_qualification(app: Providers, provider: UUID) -> None:
    with pytest.raises(NotYourself):
        app.submit_qualification(
            provider, uuid4(), kind="certificate", reference="x", skills=["a"], now=NOW
        )
    with pytest.raises(ProviderNotFound):
        app.get_provider(provider)


@pytest.mark.parametrize(
    ("kind", "reference", "skills"),
    [("", "ref", ["a"]), ("cert", " ", ["a"]), ("cert", "ref", [" "])],
)
def test_incomplete_qualifications_are_refused(
    app: Providers, provider: UUID, kind: str, reference: str, skills: list[str]
) -> None:
    with pytest.raises(InvalidQualification):
        app.submit_qualification(
            provider, provider, kind=kind, reference=reference, skills=skills, now=NOW
        )


def test_unknown_provider_cannot_be_decided(app: Providers, admin: UUID) -> None:
    with pytest.raises(ProviderNotFound):
        app.verify(uuid4(), admin, now=NOW)


def test_blocking_is_per_owner_and_idempotent(app: Providers, owner: UUID, provider: UUID) -> None:
    assert app.block(owner, owner, provider, now=NOW).blocked == {provider}
    assert app.block(owner, owner, provider, now=NOW).blocked == {provider}
    assert app.unblock(owner, owner, provider, now=NOW).blocked == set()
    assert app.unblock(owner, owner, provider, now=NOW).blocked == set()
    other = uuid4()
    assert app.block(other, other, provider, now=NOW).blocked == {provider}
    with pytest.raises(NotYourself):
        app.block(owner, other, provider, now=NOW)
    with pytest.raises(CannotBlockSelf):
        app.block(owner, owner, owner, now=NOW)


def test_every_public_event_fits_the_matching_contract(
    app: Providers, provider: UUID, admin: UUID, owner: UUID
) -> None:
    _submit(app, provider)
    app.reject(provider, admin, "blurry scan", now=NOW)
    _submit(app, provider)
    app.verify(provider, admin, now=NOW)
    app.suspend(provider, admin, now=NOW)
    app.reinstate(provider, admin, now=NOW)
    app.block(owner, owner, provider, now=NOW)
    app.unblock(owner, owner, provider, now=NOW)
    decoder = decoder_for(MATCHING_EVENTS)
    tags = []
    for notification in app.notification_log.select(1, 10):
        domain_event = app.mapper.to_domain_event(notification)
        translate = DOMAIN_TO_PUBLIC.get(type(domain_event))
        if translate is not None:
            public = translate(domain_event)
            assert decoder.decode(msgspec.json.encode(public)) == public
            tags.append(type(public).__struct_config__.tag)
    assert tags == [
        "provider.registered.v1",
        "provider.qualification_submitted.v1",
        "provider.rejected.v1",
        "provider.qualification_submitted.v1",
        "provider.verified.v1",
        "provider.suspended.v1",
        "provider.reinstated.v1",
        "provider.blocked.v1",
        "provider.unblocked.v1",
    ]
