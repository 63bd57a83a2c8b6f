"""Ring matching-service: providers, task board, performance records, recommendations."""
