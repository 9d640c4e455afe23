"""The contract suite: every test here runs against each `ExpertStore` implementation.

A test asks for `store` (a fresh, empty store) and, when it needs a second connection to the
same store (another thread or process, a reopen), `harness.open()`. Each Elasticsearch test gets
its own index prefix and its indices are deleted afterwards. Differences between backends that
the contract allows go through the small hooks on `harness.Harness`, never through copied tests.
"""
from __future__ import annotations

import pytest

from expertpool.stores.base import ExpertStore
from tests.contract.harness import ElasticsearchHarness, Harness, SQLiteHarness

BACKENDS = ["sqlite", pytest.param("elasticsearch", marks=pytest.mark.elasticsearch)]


@pytest.fixture(params=BACKENDS)
def harness(request, tmp_path):
    if request.param == "sqlite":
        h: Harness = SQLiteHarness(tmp_path)
    else:
        h = ElasticsearchHarness(request.getfixturevalue("es_url"))
    yield h
    h.cleanup()


@pytest.fixture
def store(harness) -> ExpertStore:
    return harness.open()
