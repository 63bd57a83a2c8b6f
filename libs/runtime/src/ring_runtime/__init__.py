"""Ring shared runtime plumbing."""
