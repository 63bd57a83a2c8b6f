"""Ring web app."""
