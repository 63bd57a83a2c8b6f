"""Ring gateway: the public HTTP API."""
