"""PostgreSQL statements and transactions during a measured window (``lifecycle.py --statements``).

Turns ``log_statement = 'all'`` on for the window (``ALTER SYSTEM`` + ``pg_reload_conf()``, off
again afterwards), reads what the embedded PostgreSQL appended to its log
(``$RING_DATA_DIR/postgres.log``) meanwhile, and counts the statements, grouped by their first
words with literals and parameters left out. Transactions come from ``pg_stat_database``
(``xact_commit + xact_rollback`` of the platform's database): PostgreSQL counts every statement
run outside ``BEGIN … COMMIT`` (autocommit) as a transaction of its own.

The log also holds the statements of the measurement itself (a handful) and of background work
(relay wake-ups, timers); both are part of what the platform costs per lifecycle. Sequential
scans per table over the window (``pg_stat_user_tables``) point at queries missing an index.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

_STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)$")
_PREFIX_WORDS = 9


@dataclass
class StatementCounts:
    """What the platform sent PostgreSQL in the window."""

    statements: int = 0
    transactions: int = 0
    by_text: Counter[str] = field(default_factory=Counter)
    #: table → (sequential scans, rows they read) in the window
    seq_scans: dict[str, tuple[int, int]] = field(default_factory=dict)


def _shape(statement: str) -> str:
    """The statement's first words, enough to tell it from others and to find its source."""
    words = statement.split()
    return " ".join(words[:_PREFIX_WORDS])[:110]


class StatementLog:
    """Counts statements between :meth:`start` and :meth:`stop`."""

    def __init__(self, database_url: str, data_dir: str) -> None:
        self.database_url = database_url
        self.log_path = Path(data_dir) / "postgres.log"
        self._offset = 0
        self._transactions = 0
        self._scans: dict[str, tuple[int, int]] = {}

    def _set(self, value: str) -> None:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET log_statement = '{value}'")
            conn.execute("SELECT pg_reload_conf()")

    def _transactions_so_far(self) -> int:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT xact_commit + xact_rollback FROM pg_stat_database "
                "WHERE datname = current_database()"
            ).fetchone()
        return int(row[0]) if row else 0

    def _seq_scans(self) -> dict[str, tuple[int, int]]:
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT schemaname || '.' || relname, seq_scan, seq_tup_read "
                "FROM pg_stat_user_tables"
            ).fetchall()
        return {name: (int(scans), int(read)) for name, scans, read in rows}

    def start(self) -> None:
        """Begin logging every statement (the log file must exist: it is PostgreSQL's stderr)."""
        self._offset = self.log_path.stat().st_size
        self._transactions = self._transactions_so_far()
        self._scans = self._seq_scans()
        self._set("all")

    def stop(self) -> StatementCounts:
        """Stop logging and count what was logged since :meth:`start`."""
        self._set("none")
        counts = StatementCounts(transactions=self._transactions_so_far() - self._transactions)
        for name, (scans, read) in self._seq_scans().items():
            before = self._scans.get(name, (0, 0))
            if scans > before[0]:
                counts.seq_scans[name] = (scans - before[0], read - before[1])
        with self.log_path.open("rb") as log:
            log.seek(self._offset)
            text = log.read().decode(errors="replace")
        for line in text.splitlines():
            found = _STATEMENT.search(line)
            if found:
                counts.statements += 1
                counts.by_text[_shape(found.group(1))] += 1
        return counts


def report(counts: StatementCounts, lifecycles: int, top: int = 25) -> str:
    """The counts per completed lifecycle, as Markdown."""
    per = max(lifecycles, 1)
    lines = [
        f"PostgreSQL: {counts.statements} statements ({counts.statements / per:.0f} per "
        f"lifecycle), {counts.transactions} transactions ({counts.transactions / per:.0f} per "
        "lifecycle, autocommit statements included)",
        "",
        "| statements | per lifecycle | statement (first words) |",
        "| ---: | ---: | --- |",
    ]
    for text, n in counts.by_text.most_common(top):
        shown = text.replace("|", "\\|")
        lines.append(f"| {n} | {n / per:.1f} | `{shown}` |")
    lines += ["", "| sequential scans | rows read | table |", "| ---: | ---: | --- |"]
    busiest = sorted(counts.seq_scans.items(), key=lambda item: -item[1][1])[:10]
    for table, (scans, read) in busiest:
        lines.append(f"| {scans} | {read} | {table} |")
    return "\n".join(lines)
