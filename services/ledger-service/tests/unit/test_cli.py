"""``ring ledger check`` report: one line per check, each violation under its check."""

from __future__ import annotations

from ring_ledger.cli import render_report
from ring_ledger.domain import Violation


def test_clean_report() -> None:
    report = render_report([], accounts=3, escrows=1)
    assert report.splitlines()[0] == "ledger check: 3 account(s), 1 escrow(s)"
    assert report.count("[ ok ]") == 5
    assert report.endswith("OK: no violations")


def test_violations_are_listed_under_their_check() -> None:
    violation = Violation("escrow_mismatch", "task T", "escrow holds 5 but owes 0")
    lines = render_report([violation], accounts=2, escrows=1).splitlines()
    assert lines[3] == "  [FAIL] every escrow equals the open obligations of its task"
    assert lines[4].strip() == "escrow_mismatch task T: escrow holds 5 but owes 0"
    assert lines[-1] == "FAILED: 1 violation(s)"
