"""Domain rules of webhooks: backoff schedule, disabling, secrets, targets, signatures, routing."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from ring_events import dispute, ledger, task, voucher
from ring_events.notifications import (
    EVENT_TYPES,
    signature,
    signature_header,
    verify_signature,
)
from ring_notification.config import NotificationConfig
from ring_notification.domain import (
    DisablePolicy,
    EndpointHealth,
    RetryPolicy,
    SigningSecrets,
    Subscription,
    UnknownEventType,
    UnsafeTarget,
    check_target,
    next_health,
)
from ring_notification.integration import DisputeParties, drafts_for, notification_id
from ring_runtime.settings import SettingsError

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


# -- backoff ------------------------------------------------------------------------------------


def test_the_default_schedule_doubles_from_ten_seconds_to_six_hours_over_days() -> None:
    policy = RetryPolicy()
    schedule = policy.schedule()
    assert schedule[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert max(schedule) == timedelta(hours=6)
    assert len(schedule) == 19  # 20 attempts: 19 waits
    assert timedelta(days=2) < sum(schedule, timedelta()) < timedelta(days=3)


def test_retries_stop_after_the_last_attempt() -> None:
    policy = RetryPolicy(first_delay=timedelta(seconds=1), max_attempts=3)
    assert policy.next_attempt(1, NOW) == NOW + timedelta(seconds=1)
    assert policy.next_attempt(2, NOW) == NOW + timedelta(seconds=2)
    assert policy.next_attempt(3, NOW) is None


def test_the_delay_never_exceeds_the_cap_even_after_many_attempts() -> None:
    policy = RetryPolicy(max_delay=timedelta(minutes=5), max_attempts=1000)
    assert policy.delay(500) == timedelta(minutes=5)


# -- disabling -----------------------------------------------------------------------------------


def test_an_endpoint_is_disabled_only_after_enough_failures_over_enough_time() -> None:
    policy = DisablePolicy(after_failures=3, after=timedelta(hours=1))
    health = EndpointHealth()
    for minutes in (0, 10, 20):
        health, disable = next_health(health, False, policy, NOW + timedelta(minutes=minutes))
        assert not disable  # three failures, but within 20 minutes
    health, disable = next_health(health, False, policy, NOW + timedelta(hours=1))
    assert disable
    assert health.consecutive_failures == 4
    assert health.failing_since == NOW


def test_one_success_ends_the_failure_streak() -> None:
    policy = DisablePolicy(after_failures=2, after=timedelta(0))
    health, _ = next_health(EndpointHealth(), False, policy, NOW)
    health, disable = next_health(health, True, policy, NOW)
    assert (health, disable) == (EndpointHealth(), False)
    health, disable = next_health(health, False, policy, NOW)
    assert not disable


# -- secrets and signatures ----------------------------------------------------------------------


def test_a_rotated_secret_signs_beside_its_successor_until_the_overlap_ends() -> None:
    secrets = SigningSecrets("old").rotated("new", NOW, timedelta(hours=1))
    assert secrets.valid(NOW) == ["new", "old"]
    assert secrets.valid(NOW + timedelta(hours=1)) == ["new"]
    assert SigningSecrets("old").rotated("new", NOW, timedelta(0)).valid(NOW) == ["new"]


def test_a_receiver_verifies_the_signature_in_a_few_lines() -> None:
    body = b'{"id":"1","type":"order.settled"}'
    header = signature_header(["whsec_a", "whsec_b"], 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=")
    assert signature("whsec_a", 1_700_000_000, body) in header
    assert verify_signature("whsec_a", header, body, now=1_700_000_100)
    assert verify_signature("whsec_b", header, body, now=1_700_000_100)
    assert not verify_signature("whsec_c", header, body, now=1_700_000_100)
    assert not verify_signature("whsec_a", header, body + b" ", now=1_700_000_100)
    assert not verify_signature("whsec_a", header, body, now=1_700_000_000 + 301)  # replayed
    assert not verify_signature("whsec_a", "v1=abc", body, now=int(time.time()))


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(b"k", b"42.{}", hashlib.sha256).hexdigest()
    assert signature("k", 42, b"{}") == expected


# -- targets -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "addresses"),
    [
        ("http://hooks.example.com/x", ["93.184.216.34"]),
        ("https://127.0.0.1/x", ["127.0.0.1"]),
        ("https://10.0.0.1/x", ["10.0.0.1"]),
        ("https://192.168.1.5/x", ["192.168.1.5"]),
        ("https://172.16.0.9/x", ["172.16.0.9"]),
        ("https://169.254.169.254/x", ["169.254.169.254"]),
        ("https://[fe80::1]/x", ["fe80::1%eth0"]),
        ("https://[::1]/x", ["::1"]),
        ("https://mixed.example.com/x", ["93.184.216.34", "10.0.0.1"]),
        ("https://nowhere.example.com/x", []),
        ("https://user:pw@hooks.example.com/x", ["93.184.216.34"]),
        ("ftp://hooks.example.com/x", ["93.184.216.34"]),
    ],
)
def test_production_refuses_unsafe_targets(url: str, addresses: list[str]) -> None:
    with pytest.raises(UnsafeTarget):
        check_target(url, addresses, production=True)


def test_production_accepts_public_https_and_development_accepts_local() -> None:
    check_target("https://hooks.example.com/ring", ["93.184.216.34"], production=True)
    check_target("http://127.0.0.1:9000/hook", [], production=False)
    with pytest.raises(UnsafeTarget):
        check_target("file:///etc/passwd", [], production=False)


def test_production_mode_comes_from_ring_env() -> None:
    assert NotificationConfig.from_environ({"RING_ENV": "production"}).production
    assert not NotificationConfig.from_environ({}).production
    with pytest.raises(SettingsError):
        NotificationConfig.from_environ({"RING_ENV": "staging"})


# -- subscriptions and routing -------------------------------------------------------------------


def test_subscriptions_name_catalogue_types_only() -> None:
    assert Subscription.of([]).accepts("order.settled")
    assert Subscription.of(["order.settled"]).accepts("order.settled")
    assert not Subscription.of(["order.settled"]).accepts("task.published")
    with pytest.raises(UnknownEventType):
        Subscription.of(["order.teleported"])


def test_each_event_reaches_exactly_its_parties() -> None:
    owner, provider, order_id, task_id = uuid4(), uuid4(), uuid4(), uuid4()
    parties: dict[str, Any] = {
        "order_id": order_id,
        "task_id": task_id,
        "owner_id": owner,
        "provider_id": provider,
    }
    settled = task.OrderSettled(**parties, commission_minor=1, currency="CNY", occurred_at=NOW)
    (to_owner, to_provider) = drafts_for(settled, "e1")
    assert {to_owner.party_id, to_provider.party_id} == {owner, provider}
    assert to_owner.type == "order.settled"
    assert to_owner.id == to_provider.id == notification_id("e1", "order.settled")
    assert to_owner.data["commission_minor"] == 1
    assert "type" not in to_owner.data

    expired = task.TaskExpired(task_id=task_id, owner_id=owner, occurred_at=NOW)
    assert [(d.party_id, d.type) for d in drafts_for(expired, "e2")] == [(owner, "task.expired")]

    clean = voucher.VoucherSubmitted(voucher_id=uuid4(), **parties, files=(), occurred_at=NOW)
    assert drafts_for(clean, "e3") == []
    flagged = voucher.VoucherSubmitted(
        voucher_id=uuid4(), **parties, files=(), flags=("duplicate_content",), occurred_at=NOW
    )
    assert [(d.party_id, d.type) for d in drafts_for(flagged, "e4")] == [(owner, "voucher.flagged")]

    responded = dispute.DisputeResponded(
        dispute_id=uuid4(), order_id=order_id, responded_by=owner, statement="no", occurred_at=NOW
    )
    assert drafts_for(responded, "e5") == []  # parties unknown: nobody is told
    known = drafts_for(responded, "e5", DisputeParties(owner, provider))
    assert {d.party_id for d in known} == {owner, provider}

    paid = ledger.WithdrawalPaid(
        withdrawal_id=uuid4(), party_id=provider, amount_minor=5, currency="CNY", occurred_at=NOW
    )
    assert [(d.party_id, d.type) for d in drafts_for(paid, "e6")] == [(provider, "payout.paid")]
    deposited = ledger.FundsDeposited(
        deposit_id=uuid4(),
        party_id=owner,
        amount_minor=5,
        currency="CNY",
        provider="simulated",
        provider_reference="r",
        occurred_at=NOW,
    )
    assert drafts_for(deposited, "e7") == []


def test_every_routed_type_is_in_the_documented_catalogue() -> None:
    from ring_notification.integration import DISPUTE_TYPES, ORDER_TYPES, TASK_TYPES

    routed = {*TASK_TYPES.values(), *ORDER_TYPES.values(), *DISPUTE_TYPES.values()}
    routed |= {"voucher.flagged", "payout.paid", "webhook_endpoint.disabled"}
    assert routed == set(EVENT_TYPES)


def test_the_documented_receiver_snippet_verifies_real_deliveries() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[4] / "docs" / "notifications.md"
    snippet = docs.read_text().split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, object] = {}
    exec(snippet, namespace)
    verify = namespace["verify"]
    assert callable(verify)
    body = b'{"id":"x"}'
    header = signature_header(["whsec_new", "whsec_old"], int(time.time()), body)
    assert verify("whsec_old", header, body)
    assert not verify("whsec_other", header, body)
    assert not verify("whsec_new", header, body + b"!")
