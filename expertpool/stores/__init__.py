"""Stores behind the `ExpertStore` protocol: embedded SQLite (default) and Elasticsearch."""
from __future__ import annotations

from expertpool.config import BACKENDS, StoreConfig
from expertpool.errors import InputError
from expertpool.stores.base import ExpertStore


def open_store(config: StoreConfig) -> ExpertStore:
    if config.backend == "sqlite":
        from expertpool.stores.sqlite import SQLiteStore

        return SQLiteStore(config.db_path)
    if config.backend == "elasticsearch":
        from expertpool.stores.es import ElasticsearchStore

        return ElasticsearchStore.from_config(config)
    raise InputError(f"未知的存储后端「{config.backend}」；可选：{'、'.join(BACKENDS)}（--backend）")
