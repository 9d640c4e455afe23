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


def _private_directory(tmp_path_factory, variable: str, name: str, unset: tuple[str, ...] = ()):
    """Point `variable` at a directory of this run for the whole session and hide the variables
    `unset` (a developer's own settings), then restore them all (subprocess CLI tests inherit
    this through the environment)."""
    saved = {key: os.environ.get(key) for key in (variable, *unset)}
    os.environ[variable] = str(tmp_path_factory.mktemp(name))
    for key in unset:
        os.environ.pop(key, None)
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True, scope="session")
def _private_cache_dir(tmp_path_factory):
    """Pool snapshots cached by panel draws and conflict checks go to a directory of this run,
    never to the user's own cache."""
    yield from _private_directory(tmp_path_factory, "EXPERTPOOL_CACHE_DIR", "cache")


@pytest.fixture(autouse=True, scope="session")
def _private_key_dir(tmp_path_factory):
    """Keys (identity-hash key, cache key, panel-sealing key) are created in a directory of this
    run, never in the developer's own config directory, and a key set in the developer's
    environment is not used."""
    yield from _private_directory(tmp_path_factory, "EXPERTPOOL_KEY_DIR", "keys",
                                  unset=("EXPERTPOOL_ID_KEY", "EXPERTPOOL_CACHE_KEY", "EXPERTPOOL_SEAL_KEY"))


@pytest.fixture(scope="session")
def es_secure(es_url):
    """A second Elasticsearch node with security on (file-realm users ep-admin, lin, wang), started
    by scripts/es-local for the tests that need one and stopped afterwards; or the one named by
    EXPERTPOOL_ES_SECURE_URL and EXPERTPOOL_ES_SECURE_USERS (a users file as es-local writes it).
    Like `es_url`, never mocked: when it cannot start, the tests using it fail."""
    import shutil
    import subprocess
    import uuid
    from pathlib import Path

    from tests.helpers import SecureNode

    url, users = os.environ.get("EXPERTPOOL_ES_SECURE_URL"), os.environ.get("EXPERTPOOL_ES_SECURE_USERS")
    if url and users:
        yield SecureNode.from_file(url, Path(users))
        return
    repo = Path(__file__).resolve().parent.parent
    cache = Path(os.environ.get("EXPERTPOOL_ES_CACHE") or repo / ".cache" / "elasticsearch")
    run = cache / f"secure-run-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = {**os.environ, "EXPERTPOOL_ES_SECURITY": "1", "EXPERTPOOL_ES_RUN": str(run)}
    script = repo / "scripts" / "es-local"
    started = subprocess.run(["bash", str(script), "start"], env=env, capture_output=True, text=True, timeout=900)
    try:
        if started.returncode != 0 or not started.stdout.strip():
            pytest.fail(f"the security-enabled Elasticsearch node did not start:\n{started.stderr[-3000:]}",
                        pytrace=False)
        yield SecureNode.from_file(started.stdout.strip().splitlines()[-1], run / "users")
    finally:
        subprocess.run(["bash", str(script), "stop"], env=env, capture_output=True, timeout=300)
        shutil.rmtree(run, ignore_errors=True)
