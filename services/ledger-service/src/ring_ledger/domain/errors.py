"""Base class of every ledger domain error.

Each concrete error lives at the bottom of the module whose rule it guards and carries a stable,
machine-readable ``code`` class attribute that the HTTP edge maps to a 4xx response.
"""

from __future__ import annotations


class LedgerError(Exception):
    """A command was refused by a ledger rule; nothing was changed."""

    code: str = "ledger_error"
