"""Read helpers of the ledger's queries (balances, statements, the ``ledger check`` audit in
:class:`~ring_ledger.application.Ledger`): the platform flows and the statement page limits."""

from __future__ import annotations

from typing import NamedTuple

from eventsourcing.utils import get_topic

from ring_ledger.domain import (
    Account,
    Escrow,
    LedgerError,
    Transfer,
    Withdrawal,
)

_ACCOUNT_OPENED = get_topic(Account.Opened)
_ESCROW_FUNDED = get_topic(Escrow.Funded)
#: Events behind the platform's own accounts (see :func:`flow_step`).
FLOW_EVENTS: tuple[type[object], ...] = (
    Transfer.Created,
    Escrow.OrderSettled,
    Withdrawal.Requested,
    Withdrawal.Paid,
    Withdrawal.Cancelled,
)


class FlowStep(NamedTuple):
    """A :class:`PlatformFlows` step (the name of its method) and its amount."""

    step: str
    amount_minor: int
    #: The event's currency; None for an escrow's event, in the currency of its escrow.
    currency: str | None


def flow_step(event: object) -> FlowStep | None:
    """The :class:`PlatformFlows` step ``event`` makes (None: no step).

    Deposits count by their credit transfer (code ``deposit``), whichever command made it.
    """
    if isinstance(event, Transfer.Created):
        deposit = event.code == "deposit" and not event.pending
        return (
            FlowStep("deposit_confirmed", event.amount_minor, event.currency) if deposit else None
        )
    if isinstance(event, Escrow.OrderSettled):
        return FlowStep("fee_settled", event.fee_minor, None)
    if isinstance(event, Withdrawal.Requested):
        return FlowStep("payout_requested", event.amount_minor, event.currency)
    if isinstance(event, Withdrawal.Paid):
        return FlowStep("payout_paid", event.amount_minor, event.currency)
    if isinstance(event, Withdrawal.Cancelled):
        return FlowStep("payout_cancelled", event.amount_minor, event.currency)
    return None


#: Largest statement cursor: account versions are PostgreSQL bigints.
MAX_CURSOR = 2**63 - 1


class InvalidPage(LedgerError):
    """A statement page size is out of range."""

    code = "invalid_page"
