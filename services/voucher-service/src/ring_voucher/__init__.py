"""Ring voucher-service: proof of completion, checked, stored by content, reviewed."""
