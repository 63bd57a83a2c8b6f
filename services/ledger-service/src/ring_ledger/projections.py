"""The ledger's books: read models of its own events, so totals and audits never replay history.

:class:`BooksProjection` keeps three tables in the ledger's schema, fed exactly once by an
:class:`~ring_runtime.local_projection.OwnEventsFollower` (each batch of events and the position
commit in one transaction):

- ``account_balances``: one row per account with its posted and pending debits and credits;
- ``escrow_obligations``: one row per funded task escrow with its open slots;
- ``platform_flows``: per currency, the confirmed deposits, settled fees and requested / paid
  withdrawals that the platform's own accounts must mirror (``ring ledger check`` rule 4).

The follower hands over a batch of up to a thousand events at once; the batch is folded in
memory into one change per row (:class:`BooksChanges`: the sums of an account's postings, the
slots an escrow closed, the flows per currency) and written with one statement per table.
Catching up from zero with a long log is then bound by decoding the events, not by a database
round trip per event (decision 0016).

Reads go through :meth:`BooksProjection.reading`, which first applies whatever the log holds
beyond the tables, under the follower's lock: a read sees every acknowledged write and never
half of one save (a transfer's debit without its credit). A read costs one small query per
table, however long the history.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
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
from ring_runtime.local_projection import OwnEventsFollower
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
        self.follower = OwnEventsFollower.in_batches(
            "ledger-books", ledger, self.store, BOOKED_EVENTS, self._apply
        )
        self._statements = _BooksStatements(self)

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

    def _apply(self, events: Sequence[object], conn: Connection) -> None:
        changes = BooksChanges()
        for event in events:
            changes.add(event)
        self._statements.write(changes, conn)


@dataclass(slots=True)
class BooksChanges:
    """What a batch of the ledger's events changes in the books, folded into one change per
    row: the sums are linear, so applying them at once equals applying each event in turn."""

    #: Rows of accounts opened in the batch (inserted before any posting is added).
    opened: list[tuple[Any, ...]] = field(default_factory=list)
    #: Per account: the four :data:`FIGURES` deltas and the last version seen.
    postings: dict[UUID, list[int]] = field(default_factory=dict)
    #: Rows of escrows funded in the batch.
    funded: list[tuple[Any, ...]] = field(default_factory=list)
    #: Per escrow: slots closed, the last version seen and the fees settled.
    closed: dict[UUID, list[int]] = field(default_factory=dict)
    #: Per currency: the flows' change.
    flows: dict[str, PlatformFlows] = field(default_factory=dict)

    def add(self, event: object) -> None:
        """Fold ``event`` in."""
        if isinstance(event, Account.Change):
            row = self.postings.setdefault(event.originator_id, [0, 0, 0, 0, 0])
            for index, delta in enumerate(event.figures):
                row[index] += delta
            row[4] = event.originator_version
        elif isinstance(event, Account.Opened):
            self.opened.append(
                (
                    event.originator_id,
                    event.owner,
                    Purpose(event.purpose).value,
                    event.currency,
                    event.must_not_go_negative,
                    event.originator_version,
                )
            )
        elif isinstance(event, Escrow.Funded):
            self.funded.append(
                (
                    event.originator_id,
                    event.task_id,
                    event.owner_id,
                    event.currency,
                    event.slots,
                    event.slots,
                    event.commission_minor + event.fee_minor,
                    event.originator_version,
                )
            )
        elif isinstance(event, Escrow.OrderSettled):
            self._close(event, 1, event.fee_minor)
        elif isinstance(event, Escrow.SlotsReleased):
            self._close(event, event.slots, 0)
        else:
            step = flow_step(event)
            if step is not None:
                assert step.currency is not None, "an escrow's steps are folded above"
                self.flow(step.currency, step.step, step.amount_minor)

    def flow(self, currency: str, step: str, amount_minor: int) -> None:
        """Add one :class:`PlatformFlows` step in ``currency``."""
        getattr(self.flows.setdefault(currency, PlatformFlows(currency)), step)(amount_minor)

    def _close(self, event: Escrow.Event, slots: int, fee_minor: int) -> None:
        row = self.closed.setdefault(event.originator_id, [0, 0, 0])
        row[0] += slots
        row[1] = event.originator_version
        row[2] += fee_minor


class _BooksStatements:
    """The statements writing a :class:`BooksChanges`, composed once."""

    def __init__(self, books: BooksProjection) -> None:
        self.open_accounts = SQL(
            "INSERT INTO {} (id, owner, purpose, currency, must_not_go_negative, version) "
            "SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], "
            "%s::boolean[], %s::int[])"
        ).format(books.accounts_table)
        self.post = SQL(
            "UPDATE {} AS a SET {}, version = v.version FROM unnest(%s::uuid[], {}, %s::int[]) "
            "AS v(id, {}, version) WHERE a.id = v.id"
        ).format(
            books.accounts_table,
            SQL(", ").join(SQL("{c} = a.{c} + v.{c}").format(c=Identifier(c)) for c in FIGURES),
            SQL(", ").join(SQL("%s::bigint[]") for _ in FIGURES),
            SQL(", ").join(map(Identifier, FIGURES)),
        )
        self.fund = SQL(
            "INSERT INTO {} (id, task_id, owner_id, currency, slots, open_slots, slot_minor, "
            "version) SELECT * FROM unnest(%s::uuid[], %s::text[], %s::text[], %s::text[], "
            "%s::int[], %s::int[], %s::bigint[], %s::int[])"
        ).format(books.escrows_table)
        self.close_slots = SQL(
            "UPDATE {} AS e SET open_slots = e.open_slots - v.slots, version = v.version "
            "FROM unnest(%s::uuid[], %s::int[], %s::int[]) AS v(id, slots, version) "
            "WHERE e.id = v.id RETURNING e.id, e.currency"
        ).format(books.escrows_table)
        self.add_flows = SQL(
            "INSERT INTO {} AS f (currency, {}) VALUES (%s, {}) "
            "ON CONFLICT (currency) DO UPDATE SET {}"
        ).format(
            books.flows_table,
            SQL(", ").join(map(Identifier, FLOWS)),
            SQL(", ").join(Placeholder() for _ in FLOWS),
            SQL(", ").join(
                SQL("{c} = f.{c} + EXCLUDED.{c}").format(c=Identifier(c)) for c in FLOWS
            ),
        )

    def write(self, changes: BooksChanges, conn: Connection) -> None:
        """Write ``changes``: new rows first, then the sums onto them."""
        if changes.opened:
            conn.execute(self.open_accounts, _columns(changes.opened, 6))
        if changes.postings:
            rows = [(key, *row) for key, row in changes.postings.items()]
            conn.execute(self.post, _columns(rows, 6))
        if changes.funded:
            conn.execute(self.fund, _columns(changes.funded, 8))
        if changes.closed:
            rows = [(key, slots, version) for key, (slots, version, _) in changes.closed.items()]
            closed = conn.execute(self.close_slots, _columns(rows, 3)).fetchall()
            missing = set(changes.closed) - {row["id"] for row in closed}
            assert not missing, f"escrows {missing} settled before they were funded"
            for row in closed:
                fee_minor = changes.closed[row["id"]][2]
                if fee_minor:
                    changes.flow(row["currency"], "fee_settled", fee_minor)
        for currency, delta in changes.flows.items():
            conn.execute(self.add_flows, (currency, *(getattr(delta, c) for c in FLOWS)))


def _columns(rows: Sequence[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` as ``width`` column arrays (for ``unnest``)."""
    return [[row[column] for row in rows] for column in range(width)] if rows else []


#: Each posting event of an account (its :attr:`~Account.Change.figures` change :data:`FIGURES`).
POSTING_EVENTS: tuple[type[Account.Change], ...] = (
    Account.Debited,
    Account.Credited,
    Account.DebitReserved,
    Account.CreditReserved,
    Account.ReservedDebitResolved,
    Account.ReservedCreditResolved,
)

#: Events opening or changing an account or an escrow row, besides :data:`POSTING_EVENTS`.
BOOKED_AGGREGATE_EVENTS: tuple[type[object], ...] = (
    Account.Opened,
    Escrow.Funded,
    Escrow.OrderSettled,
    Escrow.SlotsReleased,
)


#: Every event the books fold in: postings, openings, escrow changes and the platform's flows.
BOOKED_EVENTS: tuple[type[object], ...] = tuple(
    dict.fromkeys([*POSTING_EVENTS, *BOOKED_AGGREGATE_EVENTS, *FLOW_EVENTS])
)


def books_in(settings: Settings, schema: str) -> BooksProjection:
    """The books of the ledger ``settings`` name, written to ``schema`` (a rebuild's scratch)."""
    return BooksProjection(
        create_application(Ledger, settings), msgspec.structs.replace(settings, db_schema=schema)
    )
