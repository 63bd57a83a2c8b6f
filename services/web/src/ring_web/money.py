"""Money as people type and read it ("120.50"), as the API keeps it (integer minor units)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

#: Symbols of the currencies the platform is used with; others are shown by their code.
SYMBOLS = {"CNY": "¥", "USD": "$", "EUR": "€"}
#: Largest amount the API accepts, in minor units.
MAX_MINOR = 10**12


class InvalidAmount(ValueError):
    """The text is not a positive amount with at most two decimals."""


def parse_amount(text: str) -> int:
    """``"120.5"`` → ``12050`` minor units.

    Raises:
        InvalidAmount: not a number, not positive, more than two decimals, or too large.
    """
    cleaned = text.strip().replace(",", "").lstrip("¥$€")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidAmount(text) from None
    if not value.is_finite() or value <= 0 or value * 100 > MAX_MINOR:
        raise InvalidAmount(text)
    if value != value.quantize(Decimal("0.01")):
        raise InvalidAmount(text)
    return int(value * 100)


def format_money(minor: int | None, currency: str = "CNY") -> str:
    """``12050, "CNY"`` → ``"¥120.50"``."""
    if minor is None:
        return "\u2013"
    sign = "-" if minor < 0 else ""
    whole, cents = divmod(abs(int(minor)), 100)
    symbol = SYMBOLS.get(currency)
    amount = f"{whole:,}.{cents:02d}"
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def task_total(commission_minor: int, slots: int, fee_bps: int) -> tuple[int, int]:
    """Fee per slot and the total held in escrow, as the ledger computes them (fee rounded
    half up to the minor unit, charged to Party A on top of each slot's commission)."""
    fee = (commission_minor * fee_bps + 5_000) // 10_000
    return fee, slots * (commission_minor + fee)
