"""Money primitives: integer minor units, ISO 4217 currency codes, share arithmetic.

No floats anywhere: amounts are ``int`` minor units (cents, fen) and every division is integer
division with an explicit rounding rule.

Platform fee
    The fee is decided once, by the task service, when a task is drafted (``RING_PLATFORM_FEE_BPS``
    there, rounding rule written down and tested with it); it reaches the ledger as ``fee_minor``
    per slot in ``task.publish_requested.v1`` and ``order.approved.v1``. The ledger never
    computes a fee of its own: it holds and settles exactly the ``fee_minor`` it receives.

Dispute split
    ``split_share(amount, percent)`` gives the provider ``floor(amount x percent / 100)``; the
    remainder goes back to Party A, so rounding always favours the payer who funded the escrow.
"""

from __future__ import annotations

import re

from ring_ledger.domain.errors import LedgerError

_CURRENCY = re.compile(r"^[A-Z]{3}$")


def check_amount(amount_minor: int, *, allow_zero: bool = False) -> int:
    """Return ``amount_minor`` if it is a positive int (or zero when allowed), else raise."""
    if type(amount_minor) is not int:
        raise InvalidAmount(f"amount must be an integer of minor units, got {amount_minor!r}")
    if amount_minor < 0 or (amount_minor == 0 and not allow_zero):
        raise InvalidAmount(f"amount must be positive, got {amount_minor}")
    return amount_minor


def check_currency(currency: str) -> str:
    """Return ``currency`` if it is an ISO 4217 alphabetic code such as ``CNY``, else raise."""
    if not isinstance(currency, str) or not _CURRENCY.match(currency):
        raise InvalidCurrency(f"currency must be an ISO 4217 code like 'CNY', got {currency!r}")
    return currency


def check_supported_currency(currency: str, currencies: frozenset[str]) -> str:
    """Return ``currency`` if money may enter the platform in it (``RING_CURRENCIES``), else raise.

    Checked where money comes in (deposits, withdrawals); postings that follow a task keep the
    currency the task service accepted when the task was drafted.
    """
    if check_currency(currency) not in currencies:
        raise UnsupportedCurrency(
            f"currency {currency!r} is not supported; use one of {', '.join(sorted(currencies))}"
        )
    return currency


def split_share(amount_minor: int, percent: int) -> tuple[int, int]:
    """Split ``amount_minor`` by ``percent``: ``(floor(amount x percent / 100), remainder)``.

    The first part goes to the provider, the remainder back to the payer.
    """
    check_amount(amount_minor, allow_zero=True)
    check_percent(percent)
    share = amount_minor * percent // 100
    return share, amount_minor - share


def check_percent(percent: int) -> int:
    """Return ``percent`` if it is an integer in [0, 100], else raise."""
    if type(percent) is not int or not 0 <= percent <= 100:
        raise InvalidSharePercent(f"percent must be an integer in [0, 100], got {percent!r}")
    return percent


class InvalidAmount(LedgerError):
    """An amount is not a positive integer number of minor units."""

    code = "invalid_amount"


class InvalidCurrency(LedgerError):
    """A currency is not an ISO 4217 alphabetic code."""

    code = "invalid_currency"


class UnsupportedCurrency(LedgerError):
    """A currency the platform does not accept money in."""

    code = "unsupported_currency"


class InvalidSharePercent(LedgerError):
    """A provider share is outside 0..100 percent."""

    code = "invalid_share_percent"
