"""Ring dispute-service: complaints, evidence, arbitration with SLA timers."""
