"""The ledger's books on real PostgreSQL: totals past the snapshot interval, the incremental
``ledger check`` and what it catches."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from uuid import UUID

import psycopg
import pytest
from click.testing import CliRunner
from psycopg.sql import SQL, Identifier

from ring_ledger.application import SNAPSHOT_INTERVAL, Ledger
from ring_ledger.checks import LedgerCheck
from ring_ledger.projections import BooksProjection, books_in
from ring_ledger.totals import CurrencyTotals, LedgerTotals
from ring_runtime.commands.projections import projections
from ring_runtime.rebuild import rebuild_and_compare
from ring_runtime.settings import Settings
from ring_runtime.store import create_application

pytestmark = pytest.mark.integration

DEPOSITS, DEPOSIT = SNAPSHOT_INTERVAL + 7, 1_000
SLOTS, SETTLED, COMMISSION, FEE = SNAPSHOT_INTERVAL + 3, SNAPSHOT_INTERVAL + 1, 300, 15
OWNER, TASK = UUID(int=0xA), UUID(int=0x7)
PROVIDERS = [UUID(int=0xB00 + n) for n in range(SETTLED)]
LATE_DEPOSITORS = [UUID(int=0xC00 + n) for n in range(7)]


@pytest.fixture
def books(ledger_settings: Settings) -> Iterator[tuple[Ledger, BooksProjection]]:
    ledger = create_application(Ledger, ledger_settings)
    books = BooksProjection(ledger, ledger_settings)
    books.open()
    yield ledger, books
    books.close()
    ledger.close()


def _post_known_money(ledger: Ledger) -> None:
    for n in range(DEPOSITS):
        ledger.create_deposit(OWNER, DEPOSIT, "CNY", f"deposit-{n}")
    ledger.request_funding(TASK, OWNER, SLOTS, COMMISSION, FEE, "CNY")
    for n, provider in enumerate(PROVIDERS):
        ledger.settle_commission(TASK, UUID(int=0xD00 + n), provider, COMMISSION, FEE)
    ledger.request_withdrawal(PROVIDERS[0], 100, "CNY", "payout-0")


def test_totals_past_the_snapshot_interval(books: tuple[Ledger, BooksProjection]) -> None:
    ledger, projection = books
    _post_known_money(ledger)
    expected = LedgerTotals(
        currencies=[
            CurrencyTotals(
                currency="CNY",
                fee_revenue_minor=SETTLED * FEE,
                escrow_held_minor=(SLOTS - SETTLED) * (COMMISSION + FEE),
                wallets_held_minor=DEPOSITS * DEPOSIT
                - SLOTS * (COMMISSION + FEE)
                + SETTLED * COMMISSION,
                deposits_minor=DEPOSITS * DEPOSIT,
                payouts_pending_minor=100,
            )
        ]
    )
    assert projection.totals() == expected  # the books, caught up on read
    assert ledger.check() == []  # the full audit from the aggregates (snapshots) agrees


def test_incremental_check_verifies_only_what_changed(
    books: tuple[Ledger, BooksProjection],
) -> None:
    ledger, projection = books
    _post_known_money(ledger)
    check = LedgerCheck(ledger, projection)
    first = check.run()
    assert first.violations == []
    assert first.verified == first.accounts + first.escrows  # from notification 0
    ledger.create_deposit(OWNER, DEPOSIT, "CNY", "one-more")
    second = check.run()
    assert second.violations == []
    assert second.from_position == first.to_position
    assert second.verified == 2  # deposit clearing and the owner's wallet


def test_check_catches_books_and_platform_disagreeing(
    books: tuple[Ledger, BooksProjection], postgres_url: str, db_schema: str
) -> None:
    ledger, projection = books
    _post_known_money(ledger)
    check = LedgerCheck(ledger, projection)
    assert check.run().violations == []
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(
            f'UPDATE "{db_schema}".account_balances SET credits_posted = credits_posted + 1, '
            "debits_posted = debits_posted + 1 WHERE purpose = 'fee_revenue'"
        )
        conn.execute(f'UPDATE "{db_schema}".platform_flows SET deposits_confirmed_minor = 1')
    codes = {v.code for v in check.run().violations}
    assert "platform_mismatch" in codes  # deposit clearing no longer matches the deposits
    assert "books_mismatch" in {v.code for v in check.run(full=True).violations}


def test_a_rebuild_matches_the_live_books_while_money_keeps_moving(
    books: tuple[Ledger, BooksProjection], ledger_settings: Settings
) -> None:
    """``ring projections rebuild ledger books --verify`` on a live system: deposits keep
    arriving (and the live books keep applying them) while the copy is built and compared."""
    ledger, projection = books
    _post_known_money(ledger)
    stop = threading.Event()

    def keep_depositing() -> None:
        n = 0
        while not stop.is_set():
            ledger.create_deposit(LATE_DEPOSITORS[n % 7], DEPOSIT, "CNY", f"late-{n}")
            projection.totals()  # the live books apply as they are read
            n += 1

    writer = threading.Thread(target=keep_depositing)
    writer.start()
    try:
        report = rebuild_and_compare("books", books_in, ledger_settings)
    finally:
        stop.set()
        writer.join()
    assert report.differences == []
    assert report.rows["account_balances"] > DEPOSITS // 100
    assert report.position > 0


def test_ring_projections_rebuild_verify_shows_a_corrupted_row_and_exits_1(
    books: tuple[Ledger, BooksProjection], ledger_settings: Settings
) -> None:
    ledger, projection = books
    _post_known_money(ledger)
    projection.totals()
    env = {
        "RING_DATABASE_URL": ledger_settings.database_url,
        "RING_DB_SCHEMA": ledger_settings.db_schema,
    }
    clean = CliRunner().invoke(projections, ["rebuild", "ledger", "books", "--verify"], env=env)
    assert clean.exit_code == 0, clean.output
    assert "ledger/books: identical to the live model" in clean.output
    with psycopg.connect(ledger_settings.database_url, autocommit=True) as conn:
        conn.execute(
            SQL("UPDATE {} SET credits_posted = credits_posted + 1 WHERE owner = %s").format(
                Identifier(ledger_settings.db_schema, "account_balances")
            ),
            [str(OWNER)],
        )
    broken = CliRunner().invoke(projections, ["rebuild", "ledger", "--verify"], env=env)
    assert broken.exit_code == 1, broken.output
    assert "account_balances: 1 row(s) only in the live model, 1 only in the rebuild" in (
        broken.output
    )
    assert '"credits_posted": ' in broken.output
    with psycopg.connect(ledger_settings.database_url) as conn:  # scratch schemas are dropped
        left = conn.execute(
            "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'rebuild\\_%'"
        ).fetchone()
    assert left == (0,)
