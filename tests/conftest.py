"""Fixtures shared by every test module. Keep this small; feature-specific fixtures live beside their tests."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def es_url() -> str:
    """URL of the Elasticsearch server under test (EXPERTPOOL_ES_URL, set by scripts/test).

    Without it the test is skipped locally and fails under CI: Elasticsearch is never mocked.
    """
    url = os.environ.get("EXPERTPOOL_ES_URL")
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("EXPERTPOOL_ES_URL is not set under CI: run the suite with scripts/test, "
                    "which starts Elasticsearch (scripts/es-local start)", pytrace=False)
    pytest.skip("Elasticsearch not running: use scripts/test or scripts/es-local start")


@pytest.fixture
def store(tmp_path):
    """A fresh embedded store in a temporary file (the contract suite overrides this with both stores)."""
    from expertpool.stores.sqlite import SQLiteStore

    s = SQLiteStore(tmp_path / "pool.sqlite3")
    yield s
    s.close()


@pytest.fixture
def actors(store):
    """Three experts and one user per role (see tests/access_helpers.seed)."""
    from tests.access_helpers import seed

    return seed(store)
