"""The ledger's books: read models of its own events, so totals and audits never replay history.

:class:`BooksProjection` keeps three tables in the ledger's schema, fed exactly once by an
:class:`~ring_runtime.local_projection.OwnEventsFollower` (each batch of events and the position
commit in one transaction):

- ``account_balances``: one row per account with its posted and pending debits and credits;
- ``escrow_obligations``: one row per funded task escrow with its open slots;
- ``platform_flows``: per currency, the confirmed deposits, settled fees and requested / paid
  withdrawals that the platform's own accounts must mirror (``ring ledger check`` rule 4).

Reads go through :meth:`BooksProjection.reading`, which first applies whatever the log holds
beyond the tables, under the follower's lock: a read sees every acknowledged write and never
half of one save (a transfer's debit without its credit). A read costs one small query per
table, however long the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import msgspec
import psycopg
from psycopg.sql import SQL, Composed, Identifier, Placeholder

from ring_ledger.application import Ledger
from ring_ledger.domain import Account, AccountKey, Escrow, PlatformFlows
from ring_ledger.domain.accounts import Purpose
from ring_ledger.queries import FLOW_EVENTS, flow_step
from ring_ledger.totals import LedgerTotals, totals_of
from ring_runtime.local_projection import LocalHandler, OwnEventsFollower
from ring_runtime.projection import ProjectionStore
from ring_runtime.settings import Settings
from ring_runtime.store import create_application

Connection = psycopg.Connection[dict[str, Any]]

#: The columns of ``platform_flows`` besides its currency.
FLOWS = (
    "deposits_confirmed_minor",
    "fees_settled_minor",
    "payouts_paid_minor",
    "payouts_pending_minor",
)
#: The four figures of an account row, in the order the delta functions return them.
FIGURES = ("debits_posted", "credits_posted", "debits_pending", "credits_pending")


@dataclass(frozen=True, slots=True)
class AccountRow:
    """An account as the books hold it (satisfies the audit's ``AccountFigures``)."""

    id: UUID
    owner: str
    purpose: Purpose
    currency: str
    must_not_go_negative: bool
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    version: int

    @property
    def key(self) -> AccountKey:
        """The account's business identity."""
        return AccountKey(self.owner, self.purpose, self.currency)

    @property
    def balance(self) -> int:
        """Posted balance: credits minus debits."""
        return self.credits_posted - self.debits_posted

    @property
    def available(self) -> int:
        """Posted balance less debits reserved by pending transfers."""
        return self.balance - self.debits_pending

    def figures(self) -> tuple[int, int, int, int]:
        """Posted and pending debits and credits (see :data:`FIGURES`)."""
        return (self.debits_posted, self.credits_posted, self.debits_pending, self.credits_pending)


@dataclass(frozen=True, slots=True)
class EscrowRow:
    """A task escrow as the books hold it (satisfies the audit's ``EscrowFigures``)."""

    id: UUID
    task_id: str
    owner_id: str
    currency: str
    slots: int
    open_slots: int
    slot_minor: int
    version: int

    @property
    def obligation_minor(self) -> int:
        """What the escrow account must hold: open slots x (commission + fee)."""
        return self.open_slots * self.slot_minor


class BooksProjection:
    """Writes and reads the ledger's books (``account_balances``, ``escrow_obligations``,
    ``platform_flows``)."""

    def __init__(self, ledger: Ledger, settings: Settings) -> None:
        self.store = ProjectionStore(settings.database_url, settings.db_schema, "ledger_books")
        self.accounts_table = self.store.table("account_balances")
        self.escrows_table = self.store.table("escrow_obligations")
        self.flows_table = self.store.table("platform_flows")
        #: Where ``ring ledger check`` keeps its checkpoint (:mod:`ring_ledger.checks`).
        self.checkpoints_table = self.store.table("ledger_checkpoints")
        handlers: dict[type[Any], LocalHandler] = {
            Account.Opened: self._opened,  # type: ignore[attr-defined]
            Escrow.Funded: self._funded,  # type: ignore[attr-defined]
            Escrow.OrderSettled: self._slot_settled,  # type: ignore[attr-defined]
            Escrow.SlotsReleased: self._slots_released,  # type: ignore[attr-defined]
        }
        for flowing in FLOW_EVENTS:
            handlers.setdefault(flowing, self._flowed)
        for posting in POSTINGS:
            handlers[posting] = self._posted
        self.follower = OwnEventsFollower("ledger-books", ledger, self.store, handlers)

    @property
    def tables(self) -> list[str]:
        """The tables the ledger's events determine (``ring projections rebuild`` compares)."""
        return ["account_balances", "escrow_obligations", "platform_flows"]

    def open(self) -> None:
        """Create the tables and apply what was recorded while the service was down."""
        self.store.open([*self.follower.ddl(), *self.ddl()])
        self.follower.catch_up()

    def close(self) -> None:
        """Close the connection pool."""
        self.store.close()

    def ddl(self) -> list[Composed]:
        """Statements creating the three tables."""
        money = "bigint NOT NULL DEFAULT 0"
        return [
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, owner text NOT NULL, "
                "purpose text NOT NULL, currency text NOT NULL, "
                "must_not_go_negative boolean NOT NULL, "
                + ", ".join(f"{figure} {money}" for figure in FIGURES)
                + ", version int NOT NULL)"
            ).format(self.accounts_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (id uuid PRIMARY KEY, task_id text NOT NULL, "
                "owner_id text NOT NULL, currency text NOT NULL, slots int NOT NULL, "
                "open_slots int NOT NULL, slot_minor bigint NOT NULL, version int NOT NULL)"
            ).format(self.escrows_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (currency text PRIMARY KEY, "
                + ", ".join(f"{flow} {money}" for flow in FLOWS)
                + ")"
            ).format(self.flows_table),
            SQL(
                "CREATE TABLE IF NOT EXISTS {} (name text PRIMARY KEY, "
                "notification_id bigint NOT NULL, checked_at timestamptz NOT NULL DEFAULT now())"
            ).format(self.checkpoints_table),
        ]

    # ----------------------------------------------------------------------------- reads

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection on books that hold every save committed so far (see module doc)."""
        with self.follower.caught_up() as conn:
            yield conn

    def totals(self) -> LedgerTotals:
        """Money per currency and purpose, summed by PostgreSQL (one row per currency and
        purpose reaches Python; the sums are linear, so :func:`totals_of` applies to them)."""
        with self.reading() as conn:
            rows = conn.execute(
                SQL(
                    "SELECT purpose, currency, bool_and(must_not_go_negative) AS flag, {} "
                    "FROM {} GROUP BY purpose, currency"
                ).format(
                    SQL(", ").join(
                        SQL("sum({c})::bigint AS {c}").format(c=Identifier(c)) for c in FIGURES
                    ),
                    self.accounts_table,
                )
            ).fetchall()
        return totals_of(
            AccountRow(
                id=UUID(int=0),
                owner="",
                purpose=Purpose(row["purpose"]),
                currency=row["currency"],
                must_not_go_negative=row["flag"],
                debits_posted=row["debits_posted"],
                credits_posted=row["credits_posted"],
                debits_pending=row["debits_pending"],
                credits_pending=row["credits_pending"],
                version=0,
            )
            for row in rows
        )

    def follower_position(self, conn: Connection) -> int:
        """The last notification id the books hold (read inside :meth:`reading`)."""
        row = conn.execute(
            SQL("SELECT notification_id FROM {} WHERE name = %s").format(self.follower.positions),
            (self.follower.name,),
        ).fetchone()
        return int(row["notification_id"]) if row else 0

    def accounts(self, conn: Connection) -> list[AccountRow]:
        """Every account in the books."""
        rows = conn.execute(SQL("SELECT * FROM {}").format(self.accounts_table)).fetchall()
        return [AccountRow(**{**row, "purpose": Purpose(row["purpose"])}) for row in rows]

    def escrows(self, conn: Connection) -> list[EscrowRow]:
        """Every task escrow in the books."""
        rows = conn.execute(SQL("SELECT * FROM {}").format(self.escrows_table)).fetchall()
        return [EscrowRow(**row) for row in rows]

    def flows(self, conn: Connection) -> list[PlatformFlows]:
        """The platform's flows per currency."""
        rows = conn.execute(SQL("SELECT * FROM {}").format(self.flows_table)).fetchall()
        return [PlatformFlows(**row) for row in rows]

    def account(self, conn: Connection, account_id: UUID) -> AccountRow | None:
        """One account of the books, or None."""
        row = conn.execute(
            SQL("SELECT * FROM {} WHERE id = %s").format(self.accounts_table), (account_id,)
        ).fetchone()
        return None if row is None else AccountRow(**{**row, "purpose": Purpose(row["purpose"])})

    def escrow(self, conn: Connection, escrow_id: UUID) -> EscrowRow | None:
        """One task escrow of the books, or None."""
        row = conn.execute(
            SQL("SELECT * FROM {} WHERE id = %s").format(self.escrows_table), (escrow_id,)
        ).fetchone()
        return None if row is None else EscrowRow(**row)

    # ----------------------------------------------------------------------------- writes

    def _opened(self, event: Any, conn: Connection) -> None:
        conn.execute(
            SQL(
                "INSERT INTO {} (id, owner, purpose, currency, must_not_go_negative, version) "
                "VALUES (%s, %s, %s, %s, %s, %s)"
            ).format(self.accounts_table),
            (
                event.originator_id,
                event.owner,
                Purpose(event.purpose).value,
                event.currency,
                event.must_not_go_negative,
                event.originator_version,
            ),
        )

    def _posted(self, event: Any, conn: Connection) -> None:
        deltas = POSTINGS[type(event)](event)
        conn.execute(
            SQL("UPDATE {} SET {}, version = %s WHERE id = %s").format(
                self.accounts_table, _increments(FIGURES)
            ),
            (*deltas, event.originator_version, event.originator_id),
        )

    def _funded(self, event: Any, conn: Connection) -> None:
        conn.execute(
            SQL(
                "INSERT INTO {} (id, task_id, owner_id, currency, slots, open_slots, slot_minor, "
                "version) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            ).format(self.escrows_table),
            (
                event.originator_id,
                event.task_id,
                event.owner_id,
                event.currency,
                event.slots,
                event.slots,
                event.commission_minor + event.fee_minor,
                event.originator_version,
            ),
        )

    def _slot_settled(self, event: Any, conn: Connection) -> None:
        currency = self._close_slots(event, 1, conn)
        self._add_flow(conn, currency, "fee_settled", event.fee_minor)

    def _slots_released(self, event: Any, conn: Connection) -> None:
        self._close_slots(event, event.slots, conn)

    def _close_slots(self, event: Any, slots: int, conn: Connection) -> str:
        row = conn.execute(
            SQL(
                "UPDATE {} SET open_slots = open_slots - %s, version = %s WHERE id = %s "
                "RETURNING currency"
            ).format(self.escrows_table),
            (slots, event.originator_version, event.originator_id),
        ).fetchone()
        assert row is not None, f"escrow {event.originator_id} settled before it was funded"
        return str(row["currency"])

    def _flowed(self, event: Any, conn: Connection) -> None:
        step = flow_step(event)
        if step is not None:
            self._add_flow(conn, event.currency, *step)

    def _add_flow(self, conn: Connection, currency: str, step: str, amount_minor: int) -> None:
        delta = PlatformFlows(currency)
        getattr(delta, step)(amount_minor)
        deltas = {c: getattr(delta, c) for c in FLOWS}
        conn.execute(
            SQL(
                "INSERT INTO {} AS f (currency, {}) VALUES (%s, {}) "
                "ON CONFLICT (currency) DO UPDATE SET {}"
            ).format(
                self.flows_table,
                SQL(", ").join(map(Identifier, FLOWS)),
                SQL(", ").join(Placeholder() for _ in FLOWS),
                SQL(", ").join(
                    SQL("{c} = f.{c} + EXCLUDED.{c}").format(c=Identifier(c)) for c in FLOWS
                ),
            ),
            (currency, *deltas.values()),
        )


def _increments(columns: tuple[str, ...]) -> Composed:
    return SQL(", ").join(SQL("{c} = {c} + %s").format(c=Identifier(c)) for c in columns)


def _resolved(event: Any, side: str) -> tuple[int, int, int, int]:
    if side == "debit":
        return (event.posted_minor, 0, -event.reserved_minor, 0)
    return (0, event.posted_minor, 0, -event.reserved_minor)


#: Each posting event of an account and the change it makes to :data:`FIGURES`.
POSTINGS: dict[type[Any], Any] = {
    Account.Debited: lambda e: (e.amount_minor, 0, 0, 0),  # type: ignore[attr-defined]
    Account.Credited: lambda e: (0, e.amount_minor, 0, 0),  # type: ignore[attr-defined]
    Account.DebitReserved: lambda e: (0, 0, e.amount_minor, 0),  # type: ignore[attr-defined]
    Account.CreditReserved: lambda e: (0, 0, 0, e.amount_minor),  # type: ignore[attr-defined]
    Account.ReservedDebitResolved: lambda e: _resolved(e, "debit"),  # type: ignore[attr-defined]
    Account.ReservedCreditResolved: lambda e: _resolved(e, "credit"),  # type: ignore[attr-defined]
}

#: Events opening or changing an account or an escrow row, besides :data:`POSTINGS`.
BOOKED_AGGREGATE_EVENTS: tuple[type[Any], ...] = (
    Account.Opened,  # type: ignore[attr-defined]
    Escrow.Funded,  # type: ignore[attr-defined]
    Escrow.OrderSettled,  # type: ignore[attr-defined]
    Escrow.SlotsReleased,  # type: ignore[attr-defined]
)


def books_in(settings: Settings, schema: str) -> BooksProjection:
    """The books of the ledger ``settings`` name, written to ``schema`` (a rebuild's scratch)."""
    return BooksProjection(
        create_application(Ledger, settings), msgspec.structs.replace(settings, db_schema=schema)
    )
