"""``ring ledger …``: operator commands of the ledger (audit, payouts).

Both connect to the ledger's event store as configured by the environment (``RING_DATABASE_URL``,
``RING_DB_SCHEMA``…), like the service process itself.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from uuid import UUID

import click

from ring_ledger.application import Ledger
from ring_ledger.checks import LedgerCheck
from ring_ledger.domain import Violation
from ring_ledger.projections import BooksProjection
from ring_runtime.settings import SettingsError, load_settings
from ring_runtime.store import create_application

#: The audit's checks and the violation codes each one reports.
CHECKS: tuple[tuple[str, frozenset[str]], ...] = (
    (
        "posting sets sum to zero per currency",
        frozenset({"unbalanced_postings", "unbalanced_pending"}),
    ),
    ("no must-not-go-negative account is negative", frozenset({"negative_balance"})),
    ("every escrow equals the open obligations of its task", frozenset({"escrow_mismatch"})),
    (
        "platform accounts mirror deposits, settled fees and payouts",
        frozenset({"platform_mismatch"}),
    ),
    ("the books agree with the event log", frozenset({"books_mismatch"})),
)


@click.group()
def ledger() -> None:
    """The double-entry ledger: audit and payouts."""


@ledger.command()
@click.option(
    "--full",
    is_flag=True,
    help="Verify every account and escrow, not only the ones changed since the last clean check.",
)
def check(full: bool) -> None:
    """Audit the ledger; exits 1 when an invariant is broken.

    By default only what changed since the last clean check is verified against the event log
    (the invariants always cover every account); ``--full`` verifies everything.
    """
    with _configured_ledger() as app:
        books = BooksProjection(app, load_settings("ledger"))
        books.open()
        try:
            result = LedgerCheck(app, books).run(full=full, progress=_progress)
        finally:
            books.close()
    mode = "full" if result.full else f"since notification {result.from_position}"
    click.echo(
        f"verified {result.verified} account(s)/escrow(s) against the log ({mode}, "
        f"up to notification {result.to_position})"
    )
    click.echo(render_report(result.violations, accounts=result.accounts, escrows=result.escrows))
    sys.exit(1 if result.violations else 0)


def _progress(ids: list[UUID]) -> AbstractContextManager[Iterable[UUID]]:
    return click.progressbar(ids, label="verifying the books", file=sys.stderr)


@ledger.command()
def payouts() -> None:
    """Pay every withdrawal whose clearance period is over."""
    with _configured_ledger() as app:
        paid = app.pay_due_withdrawals()
    for withdrawal in paid:
        click.echo(
            f"paid {withdrawal.id}: {withdrawal.amount_minor} {withdrawal.currency} "
            f"to {withdrawal.party_id}"
        )
    click.echo(f"{len(paid)} withdrawal(s) paid")


def render_report(violations: list[Violation], *, accounts: int, escrows: int) -> str:
    """A readable ``ledger check`` report: one line per check, then each violation."""
    lines = [f"ledger check: {accounts} account(s), {escrows} escrow(s)"]
    for title, codes in CHECKS:
        found = [v for v in violations if v.code in codes]
        lines.append(f"  [{'FAIL' if found else ' ok '}] {title}")
        lines += [f"         {v.code} {v.subject}: {v.detail}" for v in found]
    verdict = f"FAILED: {len(violations)} violation(s)" if violations else "OK: no violations"
    return "\n".join([*lines, verdict])


@contextmanager
def _configured_ledger() -> Iterator[Ledger]:
    try:
        settings = load_settings("ledger")
    except SettingsError as error:
        raise click.ClickException(str(error)) from None
    app = create_application(Ledger, settings)
    try:
        yield app
    finally:
        app.close()
