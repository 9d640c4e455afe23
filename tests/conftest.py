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


def _private_directory(tmp_path_factory, variable: str, name: str):
    """Point `variable` at a directory of this run for the whole session, then restore it
    (subprocess CLI tests inherit it through the environment)."""
    previous = os.environ.get(variable)
    os.environ[variable] = str(tmp_path_factory.mktemp(name))
    yield
    if previous is None:
        os.environ.pop(variable, None)
    else:
        os.environ[variable] = previous


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Pool snapshots cached by panel draws and conflict checks go to a directory of this run,
    never to the user's own cache."""
    yield from _private_directory(tmp_path_factory, "EXPERTPOOL_CACHE_DIR", "cache")


@pytest.fixture(autouse=True, scope="session")
def _private_key_dir(tmp_path_factory):
    """Keys made on first use (the panel-sealing key) go to a directory of this run, never to the
    user's config directory."""
    yield from _private_directory(tmp_path_factory, "EXPERTPOOL_KEY_DIR", "keys")
