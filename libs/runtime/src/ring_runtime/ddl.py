"""Schema changes that are safe to run beside a live service.

Every process creates its tables when it starts (``CREATE TABLE IF NOT EXISTS``), and tables
created by an older release gain the columns added since. ``ALTER TABLE … ADD COLUMN IF NOT
EXISTS`` cannot say that: it takes an ACCESS EXCLUSIVE lock on the table even when it adds
nothing, so a process starting beside a live one (a replica, a rebuild, a service restarted by
the supervisor while its consumers write) queued behind the live transactions and deadlocked
with them (the matching rebuild test in CI, stop 24). The statement here looks the columns up
first and alters the table only when one is really missing, which happens once per table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import LiteralString

from psycopg.sql import SQL, Composed, Identifier, Literal


def columns_changed(
    schema: str,
    table: str,
    *,
    added: Mapping[str, LiteralString] | None = None,
    dropped: Sequence[str] = (),
) -> Composed:
    """One statement adding the ``added`` columns (name → type and constraints) the table lacks
    and dropping the ``dropped`` ones it still has, taking no lock when there is nothing to do.

    The types are SQL written in the code (``LiteralString``), never input.
    """
    present = SQL(
        "EXISTS (SELECT FROM information_schema.columns WHERE table_schema = {} "
        "AND table_name = {} AND column_name = {})"
    )
    qualified = SQL("{}.{}").format(Identifier(schema), Identifier(table))
    steps = [
        SQL("IF NOT {} THEN ALTER TABLE {} ADD COLUMN {} {}; END IF;").format(
            present.format(Literal(schema), Literal(table), Literal(name)),
            qualified,
            Identifier(name),
            SQL(kind),
        )
        for name, kind in (added or {}).items()
    ] + [
        SQL("IF {} THEN ALTER TABLE {} DROP COLUMN {}; END IF;").format(
            present.format(Literal(schema), Literal(table), Literal(name)),
            qualified,
            Identifier(name),
        )
        for name in dropped
    ]
    return SQL("DO $$ BEGIN {} END $$").format(SQL(" ").join(steps))
