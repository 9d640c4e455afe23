"""Stores behind the `ExpertStore` protocol: embedded SQLite (default) and Elasticsearch."""
from __future__ import annotations

from expertpool.config import BACKENDS, StoreConfig
from expertpool.errors import InputError
from expertpool.stores.base import ExpertStore


def open_store(config: StoreConfig, *, create: bool = True) -> ExpertStore:
    """Open the configured store; one that does not exist yet is created only when `create` is
    true, else `StoreMissing` (exit 2) names it."""
    if config.backend == "sqlite":
        from expertpool.stores.sqlite import SQLiteStore

        return SQLiteStore(config.db_path, create=create)
    if config.backend == "elasticsearch":
        from expertpool.stores.es import ElasticsearchStore

        return ElasticsearchStore.from_config(config, create=create)
    raise InputError(f"未知的存储后端「{config.backend}」；可选：{'、'.join(BACKENDS)}（--backend）")
