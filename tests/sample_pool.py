"""The committed sample pool (data/samples/) imported once per test module and copied for each
test: fixtures `template`, `store`, `admin`, and `spec(**overrides)` reading data/samples/panel.toml.
Import the fixtures into a test module by name."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from expertpool.services.access import actor_for
from expertpool.services.importing import import_files
from expertpool.services.panels import load_spec
from expertpool.stores.sqlite import SQLiteStore

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_FILES = ["sichuan_experts.csv", "chongqing_experts.xlsx", "experts_extra.jsonl", "affiliations.csv",
                "relations.csv", "integrity.csv", "history.csv", "projects.jsonl"]


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    path = tmp_path_factory.mktemp("pool") / "pool.sqlite3"
    store = SQLiteStore(path)
    report = import_files(store, [SAMPLES / f for f in SAMPLE_FILES], actor_for(store, "admin"))
    assert not report.failed
    store.close()
    return path


@pytest.fixture
def store(template, tmp_path):
    path = tmp_path / "pool.sqlite3"
    shutil.copy(template, path)
    s = SQLiteStore(path)
    yield s
    s.close()


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


def spec(**overrides):
    return load_spec(SAMPLES / "panel.toml", overrides)
