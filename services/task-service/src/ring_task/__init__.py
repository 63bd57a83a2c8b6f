"""Ring task-service."""
