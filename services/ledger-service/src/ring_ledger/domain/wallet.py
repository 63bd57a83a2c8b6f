"""Wallet: a party's index of the escrow accounts it funded, per currency.

A party's *reserved* money is its pending debits plus the balances of the escrow accounts of
its tasks. Escrow accounts are owned by their task, so the wallet remembers which tasks a party
funded. It changes only when a task is funded for the first time, in the same atomic save as the
funding transfer (which already writes the party's available account, so it adds no contention).
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from ring_ledger.domain.ids import derive_id


def wallet_uuid(party_id: str, currency: str) -> UUID:
    """The Wallet aggregate id of ``party_id`` in ``currency``."""
    return derive_id("wallet", party_id, currency)


class Wallet(Aggregate):
    """The tasks whose escrow a party funded in one currency."""

    @staticmethod
    def create_id(party_id: str, currency: str, **_: Any) -> UUID:
        """One wallet per party and currency."""
        return wallet_uuid(party_id, currency)

    class Opened(Aggregate.Created):
        party_id: str
        currency: str

    def __init__(self, party_id: str, currency: str) -> None:
        self.party_id = party_id
        self.currency = currency
        self.escrow_task_ids: list[str] = []

    class EscrowAdded(Aggregate.Event):
        task_id: str

        def apply(self, aggregate: Wallet) -> None:
            if self.task_id not in aggregate.escrow_task_ids:
                aggregate.escrow_task_ids.append(self.task_id)

    def add_escrow(self, task_id: str) -> None:
        """Remember that the party funded ``task_id``'s escrow."""
        self.trigger_event(self.EscrowAdded, task_id=task_id)
