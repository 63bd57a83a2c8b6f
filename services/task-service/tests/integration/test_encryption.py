"""Stored event state is encrypted when CIPHER_TOPIC/CIPHER_KEY are set, and still relayed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import psycopg
import pytest
from eventsourcing.cryptography import AESCipher

from ring_events.task import TaskCreated
from ring_runtime.relay import OutboxRelay
from ring_runtime.store import create_application
from ring_runtime.testing import settings_for
from ring_task.application import Tasks
from ring_task.main import TRANSLATOR

pytestmark = pytest.mark.integration

SECRET_TITLE = "Translate the confidential merger memo"


def _stored_states(url: str, schema: str) -> list[bytes]:
    with psycopg.connect(url) as conn:
        return [bytes(r[0]) for r in conn.execute(f'SELECT state FROM "{schema}".tasks_events')]


@pytest.mark.parametrize("encrypted", [True, False])
def test_event_state_is_encrypted_only_when_configured(
    postgres_url: str, kafka_bootstrap: str, db_schema: str, encrypted: bool
) -> None:
    cipher = (
        {
            "CIPHER_TOPIC": "eventsourcing.cryptography:AESCipher",
            "CIPHER_KEY": AESCipher.create_key(32),
        }
        if encrypted
        else {}
    )
    settings = settings_for("task", postgres_url, kafka_bootstrap, db_schema, **cipher)
    tasks = create_application(Tasks, settings)
    try:
        task_id = tasks.create_task(
            uuid4(),
            title=SECRET_TITLE,
            deadline=datetime.now(UTC) + timedelta(days=1),
            commission_minor=500,
            currency="CNY",
            slots=1,
        )
        states = _stored_states(postgres_url, db_schema)
        assert len(states) == 1
        assert (SECRET_TITLE.encode() in states[0]) is not encrypted
        assert tasks.get_task(task_id).title == SECRET_TITLE

        relay = OutboxRelay(tasks, TRANSLATOR, settings, source="task")
        with relay.log.connect() as conn:
            rows = relay.log.read_batch(conn, 0)
        envelope = relay._envelope(rows[0])
        assert isinstance(envelope.event, TaskCreated)
        assert envelope.event.title == SECRET_TITLE  # integration events are decrypted
    finally:
        tasks.close()
