"""Caches of what is derived from the store: the pool snapshot (conflict graph, expert list, review
history) and the store's rank index, on disk, keyed by the store's data version."""
