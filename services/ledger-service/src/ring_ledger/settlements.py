"""The SettlementSaga's steps: each saga event commits with its postings in ONE save.

Driven by the task context's events (see :mod:`ring_ledger.consumers`). Inside a consumer that
save also carries the consumer's tracking position, so a step happens exactly once under
redelivery, republish, and a crash (even SIGKILL) between any two steps: either the step, its
postings and the position are all recorded, or none is and the message is processed again.

Slot accounting (decided with the task service, whose freed slots can be taken again while the
task is open): a slot whose order ends unpaid (declined, expired, cancelled) stays in escrow;
the unused escrow is released once, when the task ends (cancelled or completed). On
``task.expired`` no money moves: open orders run to their end, and the task completes after
the last one, which releases whatever is left.
"""

from __future__ import annotations

from ring_ledger.base import Staged
from ring_ledger.domain import (
    IllegalSagaStep,
    LedgerError,
    Rejected,
    Release,
    Reserved,
    SagaState,
    Settlement,
    SettlementSaga,
)
from ring_ledger.domain.saga import saga_uuid
from ring_ledger.steps import LedgerSteps
from ring_runtime.concurrency import retrying


class Settlements(LedgerSteps):
    """Commands of the SettlementSaga: reserve, settle, execute a dispute outcome, release."""

    def get_saga(self, task_id: str) -> SettlementSaga | None:
        """The saga of ``task_id``, or None if its publication was never requested."""
        return self._find(SettlementSaga, saga_uuid(task_id))

    def request_funding(
        self,
        task_id: str,
        owner_id: str,
        slots: int,
        commission_minor: int,
        fee_minor: int,
        currency: str,
    ) -> Reserved | Rejected | None:
        """Step ``reserve_escrow``: hold the task's escrow, or record the rejection.

        Returns None when the saga is past funding (a stale request): nothing happens.
        """

        def command() -> Reserved | Rejected | None:
            saga = self.get_saga(task_id)
            if saga is None:
                saga = SettlementSaga(task_id=task_id, owner_id=owner_id, currency=currency)
            elif not saga.can_request_funding:
                return None
            saga.request_funding(slots, commission_minor, fee_minor)
            hold = self.stage_hold(task_id, owner_id, slots, commission_minor, fee_minor, currency)
            if isinstance(hold.result, Reserved):
                saga.reserve()
            else:
                saga.reject(hold.result.shortfall_minor)
            return self.commit(Staged(hold.result, (saga, *hold.changes)))

        return retrying(command)

    def settle_commission(
        self,
        task_id: str,
        order_id: str,
        provider_id: str,
        commission_minor: int,
        fee_minor: int,
    ) -> Settlement:
        """Step ``settle_commission``: the full commission to B, the fee to the platform.

        ``commission_minor`` and ``fee_minor`` come with the approval and must match the
        escrow's terms. At most once per order; a repeat returns the original settlement.
        """

        def command() -> Settlement:
            saga = self._require_saga(task_id)
            paid = self.stage_resolution(task_id, order_id, provider_id, 100)
            if saga.outcome(order_id) is not None:
                return paid.result
            plan = paid.result
            if (plan.provider_minor, plan.fee_minor) != (commission_minor, fee_minor):
                raise SettlementTermsMismatch(
                    f"order {order_id!r} was approved for {commission_minor} + {fee_minor} fee, "
                    f"but task {task_id!r} escrows {plan.provider_minor} + {plan.fee_minor}"
                )
            saga.settle_commission(order_id, provider_id, plan.provider_minor, plan.fee_minor)
            return self.commit(Staged(plan, (saga, *paid.changes)))

        return retrying(command)

    def execute_dispute_outcome(
        self, task_id: str, order_id: str, provider_id: str, provider_share_percent: int
    ) -> Settlement:
        """Step ``execute_outcome`` (hook for the dispute service): release 100, refund 0, split n.

        B gets ``floor(commission x n / 100)``, Ring ``floor(fee x n / 100)``, A the rest.
        """

        def command() -> Settlement:
            saga = self._require_saga(task_id)
            paid = self.stage_resolution(task_id, order_id, provider_id, provider_share_percent)
            if saga.outcome(order_id) is not None:
                return paid.result
            plan = paid.result
            saga.execute_outcome(
                order_id,
                provider_id,
                provider_share_percent,
                plan.provider_minor,
                plan.fee_minor,
                plan.refund_minor,
            )
            return self.commit(Staged(plan, (saga, *paid.changes)))

        return retrying(command)

    def release_unused_escrow(self, task_id: str, reason: str) -> Release | None:
        """Step ``release_unused`` (compensates ``reserve_escrow``): the task ended.

        Every open slot goes back to the owner and the saga closes. None when there is nothing
        to release: the task was never funded, or the saga is already closed.
        """

        def command() -> Release | None:
            saga = self.get_saga(task_id)
            if saga is None or saga.state is SagaState.CLOSED:
                return None
            if saga.state is not SagaState.RESERVED:
                saga.close(reason, 0, 0)
                return self.commit(Staged(None, (saga,)))
            release = self.stage_release(task_id, None, reason)
            saga.close(reason, release.result.slots, release.result.refund_minor)
            return self.commit(Staged(release.result, (saga, *release.changes)))

        return retrying(command)

    def _require_saga(self, task_id: str) -> SettlementSaga:
        saga = self.get_saga(task_id)
        if saga is None:
            raise IllegalSagaStep(f"task {task_id!r} was never funded")
        return saga


class SettlementTermsMismatch(LedgerError):
    """An approval's commission or fee differs from what the task's escrow holds."""

    code = "settlement_terms_mismatch"
