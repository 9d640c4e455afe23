"""The CLI's error boundary (cli/app.py): a store's failure is one line naming the store and the
documented exit code 5, never a traceback; the stores translate their backends' errors."""
from __future__ import annotations

import sqlite3

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.errors import StoreFailed

runner = CliRunner()


@pytest.fixture
def db(tmp_path, monkeypatch):
    """The CLI's store: a new embedded one, administered by the acting user."""
    path = tmp_path / "pool.sqlite3"
    monkeypatch.setenv("EXPERTPOOL_DB", str(path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    return path


def test_sqlite_errors_become_store_failed_at_the_store(store):
    with sqlite3.connect(store.path) as raw:
        raw.execute("DROP TABLE panels")
    with pytest.raises(StoreFailed, match="数据库操作失败") as caught:
        store.get_panel("PNL-1")
    assert str(store.path) in str(caught.value)
    assert "已回滚" not in str(caught.value)   # a read: nothing was rolled back
    with pytest.raises(StoreFailed, match="本次更改已回滚"):
        with store.batch():
            store.set_meta("note", "written, then rolled back")
            store.save_panel("PNL-1", {"id": "PNL-1"})
    assert store.get_meta("note") is None


def test_a_failing_sqlite_store_exits_5_with_one_line(db):
    assert runner.invoke(app, ["roles", "grant", "admin", "reviewer", "--create"]).exit_code == 0  # makes the store
    with sqlite3.connect(db) as raw:
        raw.execute("DROP TABLE panels")
    result = runner.invoke(app, ["panel", "list"])
    assert result.exit_code == 5, result.output
    assert "数据库操作失败" in result.output
    assert "Traceback" not in result.output and "OperationalError" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_an_unreachable_elasticsearch_exits_5(db, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_ES_URL", "http://127.0.0.1:1")
    result = runner.invoke(app, ["--backend", "elasticsearch", "stats"])
    assert result.exit_code == 5, result.output
    assert "Elasticsearch" in result.output and "Traceback" not in result.output
