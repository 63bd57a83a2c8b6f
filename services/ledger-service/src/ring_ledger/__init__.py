"""Ring ledger-service: double-entry ledger, task escrow, settlement and payouts."""
