"""The ledger's pure domain: accounts, transfers, escrow, fees and audit rules (no I/O)."""

from ring_ledger.domain.accounts import (
    PLATFORM,
    Account,
    AccountKey,
    CurrencyMismatch,
    InsufficientFunds,
    Purpose,
    SameAccountTransfer,
)
from ring_ledger.domain.audit import PlatformFlows, find_violations
from ring_ledger.domain.deposit import (
    Deposit,
    DepositAlreadyDecided,
    DepositNotFound,
    DepositStatus,
    IdempotencyKeyReused,
)
from ring_ledger.domain.errors import LedgerError
from ring_ledger.domain.escrow import (
    Escrow,
    EscrowNotFound,
    NoOpenSlot,
    OrderAlreadySettled,
    ReleaseExceedsOpenSlots,
)
from ring_ledger.domain.money import (
    InvalidAmount,
    InvalidCurrency,
    InvalidSharePercent,
    UnsupportedCurrency,
    split_share,
)
from ring_ledger.domain.results import (
    Balances,
    PendingResolved,
    Posting,
    Rejected,
    Release,
    Reserved,
    Settlement,
    Statement,
    TransferResult,
    Violation,
)
from ring_ledger.domain.saga import IllegalSagaStep, OrderOutcome, SagaState, SettlementSaga
from ring_ledger.domain.transfers import (
    PendingTransferAlreadyResolved,
    PostExceedsPending,
    Transfer,
    TransferIdReused,
    TransferNotFound,
    TransferNotPending,
    TransferStatus,
)
from ring_ledger.domain.wallet import Wallet
from ring_ledger.domain.withdrawal import (
    Withdrawal,
    WithdrawalAlreadyDecided,
    WithdrawalNotDue,
    WithdrawalNotFound,
    WithdrawalStatus,
)

__all__ = [
    "PLATFORM",
    "Account",
    "AccountKey",
    "Balances",
    "CurrencyMismatch",
    "Deposit",
    "DepositAlreadyDecided",
    "DepositNotFound",
    "DepositStatus",
    "Escrow",
    "EscrowNotFound",
    "IdempotencyKeyReused",
    "IllegalSagaStep",
    "InsufficientFunds",
    "InvalidAmount",
    "InvalidCurrency",
    "InvalidSharePercent",
    "LedgerError",
    "NoOpenSlot",
    "OrderAlreadySettled",
    "OrderOutcome",
    "PendingResolved",
    "PendingTransferAlreadyResolved",
    "PlatformFlows",
    "PostExceedsPending",
    "Posting",
    "Purpose",
    "Rejected",
    "Release",
    "ReleaseExceedsOpenSlots",
    "Reserved",
    "SagaState",
    "SameAccountTransfer",
    "Settlement",
    "SettlementSaga",
    "Statement",
    "Transfer",
    "TransferIdReused",
    "TransferNotFound",
    "TransferNotPending",
    "TransferResult",
    "TransferStatus",
    "UnsupportedCurrency",
    "Violation",
    "Wallet",
    "Withdrawal",
    "WithdrawalAlreadyDecided",
    "WithdrawalNotDue",
    "WithdrawalNotFound",
    "WithdrawalStatus",
    "find_violations",
    "split_share",
]
