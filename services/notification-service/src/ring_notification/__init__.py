"""Ring notification-service: each party's event feed, signed webhooks, the live stream."""
