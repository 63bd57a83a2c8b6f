"""The ledger's own gauges (:mod:`ring_runtime.metrics`): open settlement sagas and money.

- ``ring.sagas.open{state}`` and ``ring.sagas.oldest_age{state}``: SettlementSagas not closed,
  by the state their last event left them in, and how long ago the oldest of each state
  started. A saga stuck in ``requested`` means a reservation never came back.
- ``ring.ledger.total{currency, purpose}``: the platform totals of ``GET /internal/totals``.

Both are read with one query each when a reader collects, never on the request path.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import psycopg
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic
from opentelemetry.metrics import Observation
from psycopg.rows import dict_row
from psycopg.sql import SQL, Identifier

from ring_ledger.application import Ledger
from ring_ledger.domain.saga import SagaState, SettlementSaga
from ring_ledger.projections import BooksProjection
from ring_ledger.totals import CurrencyTotals
from ring_runtime.settings import Settings

#: The state a saga is in after each of its events (``Closed`` sagas are not open).
STATE_AFTER: dict[type[SettlementSaga.Event], str] = {
    SettlementSaga.Started: "started",
    SettlementSaga.FundingRequested: SagaState.REQUESTED,
    SettlementSaga.FundsReserved: SagaState.RESERVED,
    SettlementSaga.FundsRejected: SagaState.REJECTED,
    SettlementSaga.CommissionSettled: SagaState.RESERVED,
    SettlementSaga.DisputeOutcomeExecuted: SagaState.RESERVED,
    SettlementSaga.EscrowRefunded: SagaState.RESERVED,
    SettlementSaga.Closed: SagaState.CLOSED,
}
_STATE_OF_TOPIC = {get_topic(cls): str(state) for cls, state in STATE_AFTER.items()}

#: Money figures of :class:`CurrencyTotals` reported as ``purpose``.
PURPOSES = tuple(name for name in CurrencyTotals.__struct_fields__ if name != "currency")


class LedgerGauges:
    """Samples open sagas and the platform totals."""

    def __init__(self, ledger: Ledger, books: BooksProjection, settings: Settings) -> None:
        self.ledger = ledger
        self.books = books
        self.database_url = settings.database_url
        self._events = SQL("{}.{}").format(
            Identifier(settings.db_schema), Identifier(f"{Ledger.name.lower()}_events")
        )

    def __call__(self) -> dict[str, list[Observation]]:
        open_sagas, oldest_age = self._sagas()
        return {
            "ring.sagas.open": open_sagas,
            "ring.sagas.oldest_age": oldest_age,
            "ring.ledger.total": list(self._totals()),
        }

    def _totals(self) -> Iterable[Observation]:
        for row in self.books.totals().currencies:
            for purpose in PURPOSES:
                attributes = {"currency": row.currency, "purpose": purpose}
                yield Observation(getattr(row, purpose), attributes)

    def _sagas(self) -> tuple[list[Observation], list[Observation]]:
        """Open sagas per state, and the age of the oldest one in each state."""
        query = SQL(
            "WITH last AS (SELECT DISTINCT ON (originator_id) originator_id, topic FROM {e} "
            "  WHERE topic = ANY(%(topics)s) ORDER BY originator_id, originator_version DESC) "
            "SELECT last.topic, count(*) AS n, min(first.notification_id) AS oldest "
            "FROM last JOIN {e} first ON first.originator_id = last.originator_id "
            "  AND first.originator_version = 1 "
            "GROUP BY last.topic"
        ).format(e=self._events)
        started = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {} "
            "WHERE notification_id = %s"
        ).format(self._events)
        counts: dict[str, int] = {}
        oldest: dict[str, datetime] = {}
        with psycopg.connect(self.database_url, row_factory=dict_row, connect_timeout=2) as conn:
            for row in conn.execute(query, {"topics": list(_STATE_OF_TOPIC)}).fetchall():
                state = _STATE_OF_TOPIC[row["topic"]]
                if state == SagaState.CLOSED:
                    continue
                counts[state] = counts.get(state, 0) + int(row["n"])
                first = conn.execute(started, (row["oldest"],)).fetchone()
                if first is None:
                    continue
                event = self.ledger.mapper.to_domain_event(StoredEvent(**first))
                if not isinstance(event, SettlementSaga.Started):
                    continue
                oldest[state] = min(event.timestamp, oldest.get(state, event.timestamp))
        now = datetime.now(UTC)
        return (
            [Observation(n, {"state": state}) for state, n in counts.items()],
            [
                Observation((now - began).total_seconds(), {"state": state})
                for state, began in oldest.items()
            ],
        )
