"""Stores behind the `ExpertStore` protocol: embedded SQLite (default) and Elasticsearch."""
from __future__ import annotations

from collections.abc import Callable

from expertpool.config import BACKENDS, StoreConfig
from expertpool.errors import InputError
from expertpool.stores.base import ExpertStore


def open_store(config: StoreConfig, *, create: bool = True,
               on_authenticated: Callable[[str | None], None] | None = None) -> ExpertStore:
    """Open the configured store; one that does not exist yet is created only when `create` is
    true, else `StoreMissing` (exit 2) names it. A store that authenticates its users calls
    `on_authenticated` with the user before it changes anything (it may raise to refuse)."""
    if config.backend == "sqlite":
        from expertpool.stores.sqlite import SQLiteStore

        return SQLiteStore(config.db_path, create=create)
    if config.backend == "elasticsearch":
        from expertpool.stores.es import ElasticsearchStore

        return ElasticsearchStore.from_config(config, create=create, on_authenticated=on_authenticated)
    raise InputError(f"未知的存储后端「{config.backend}」；可选：{'、'.join(BACKENDS)}（--backend）")
