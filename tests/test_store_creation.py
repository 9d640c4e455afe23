"""A mistyped --db never creates a store: only writing commands create one, when asked (--create)
or at the default location on first use; every other command exits 2 naming the path. New
SQLite files are private to their owner (0600)."""
from __future__ import annotations

import os
import stat
import uuid

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.errors import StoreMissing
from expertpool.stores.sqlite import SQLiteStore
from tests.helpers import expert_row, write_csv

runner = CliRunner()

READ_AND_OTHER_COMMANDS = [
    ["search", "电池"], ["show", "SC-000001"], ["stats"], ["coi", "check", "--project", "P1"],
    ["integrity", "list"], ["integrity", "show", "R1"], ["audit", "log"], ["audit", "verify"],
    ["panel", "list"], ["panel", "show", "PNL-1"], ["panel", "build", "--size", "3"], ["roles", "list"],
    ["roles", "revoke", "lin", "reviewer"], ["index", "rebuild"],
    ["integrity", "add", "SC-000001", "--category", "抄袭剽窃", "--severity", "一般", "--start", "2026-01-01",
     "--reason", "x"],
    ["import", "--dry-run", "--create", "sc.csv"],   # a dry run writes nothing, so it creates nothing
]


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_USER", "lin")
    monkeypatch.delenv("EXPERTPOOL_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))  # where the default store lives
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "sc.csv", [expert_row()])
    return tmp_path


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("command", READ_AND_OTHER_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_mistyped_db_is_refused_by_every_command_that_may_not_create(env, command):
    typo = env / "poool.sqlite3"
    result = runner.invoke(app, ["--db", str(typo), *command])
    assert result.exit_code == 2, result.output
    assert str(typo) in result.output and "不存在" in result.output
    assert "Traceback" not in result.output
    assert not typo.exists() and not list(env.glob("poool*"))


@pytest.mark.parametrize("command", READ_AND_OTHER_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_the_default_store_is_not_created_by_reading_commands(env, command):
    result = runner.invoke(app, command)
    assert result.exit_code == 2, result.output
    assert "不存在" in result.output
    assert not (env / "data-home").exists() or not list((env / "data-home").rglob("*.sqlite3"))


@pytest.mark.parametrize("writing", [["import", "sc.csv"], ["roles", "grant", "wang", "reviewer"]])
def test_writing_commands_create_a_named_store_only_when_asked(env, writing):
    typo = env / "poool.sqlite3"
    refused = runner.invoke(app, ["--db", str(typo), *writing])
    assert refused.exit_code == 2 and "--create" in refused.output and not list(env.glob("poool*"))
    refused = runner.invoke(app, [*writing], env={"EXPERTPOOL_DB": str(typo)})
    assert refused.exit_code == 2 and not list(env.glob("poool*"))  # no import lock file either

    made = runner.invoke(app, ["--db", str(typo), *writing, "--create"])
    assert made.exit_code == 0, made.output
    assert "已新建数据库" in made.output and str(typo) in made.output
    assert _mode(typo) == 0o600
    assert all(_mode(p) == 0o600 for p in env.glob("poool.sqlite3*"))
    again = runner.invoke(app, ["--db", str(typo), "search", "钒钛", "--json"])
    assert again.exit_code == 0 and "已新建数据库" not in again.output


def test_the_import_lock_file_is_made_only_by_a_writing_import_and_is_private(env):
    """The import lock (`<store>.import-lock`, issue 11) lives beside the store file: made 0600 by
    an import that may write (with --create on a new store), never by a refused or dry-run import."""
    typo = env / "poool.sqlite3"
    lock = env / "poool.sqlite3.import-lock"
    assert runner.invoke(app, ["--db", str(typo), "import", "sc.csv"]).exit_code == 2
    assert runner.invoke(app, ["--db", str(typo), "import", "--dry-run", "--create", "sc.csv"]).exit_code == 2
    assert not lock.exists() and not typo.exists()
    old = os.umask(0)  # even with a permissive umask
    try:
        made = runner.invoke(app, ["--db", str(typo), "import", "--create", "sc.csv"])
    finally:
        os.umask(old)
    assert made.exit_code == 0, made.output
    assert _mode(typo) == 0o600 and _mode(lock) == 0o600
    assert runner.invoke(app, ["--db", str(typo), "show", "000001"]).exit_code == 0


def test_the_default_location_is_created_by_the_first_import(env):
    made = runner.invoke(app, ["import", "sc.csv"])
    assert made.exit_code == 0, made.output
    [path] = (env / "data-home").rglob("*.sqlite3")
    assert "已新建数据库" in made.output and str(path) in made.output
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    assert runner.invoke(app, ["show", "000001"]).exit_code == 0


@pytest.mark.parametrize("where", ["{file}/pool.sqlite3", "{dir}"], ids=["under-a-file", "a-directory"])
def test_a_db_path_that_cannot_hold_a_store_is_bad_input_even_with_create(env, where):
    (env / "a-file.txt").write_text("x", encoding="utf-8")
    (env / "a-dir").mkdir()
    path = where.format(file=env / "a-file.txt", dir=env / "a-dir")
    result = runner.invoke(app, ["--db", path, "import", "sc.csv", "--create"])
    assert result.exit_code == 2, result.output
    assert path in result.output and "Traceback" not in result.output


def test_the_store_class_refuses_a_missing_file_unless_told_to_create(tmp_path):
    with pytest.raises(StoreMissing, match="poool"):
        SQLiteStore(tmp_path / "poool.sqlite3", create=False)
    assert not (tmp_path / "poool.sqlite3").exists()
    (tmp_path / "empty.sqlite3").touch()  # an empty file is not a store either
    with pytest.raises(StoreMissing):
        SQLiteStore(tmp_path / "empty.sqlite3", create=False)
    old = os.umask(0)  # even with a permissive umask
    try:
        store = SQLiteStore(tmp_path / "new.sqlite3")
        store.set_meta("x", "1")
    finally:
        os.umask(old)
    assert _mode(tmp_path / "new.sqlite3") == 0o600
    assert all(_mode(p) == 0o600 for p in tmp_path.glob("new.sqlite3*"))
    store.close()
    assert SQLiteStore(tmp_path / "new.sqlite3", create=False).get_meta("x") == "1"


@pytest.mark.elasticsearch
def test_an_elasticsearch_store_is_not_created_by_reading_commands(es_url, monkeypatch, tmp_path):
    from expertpool.config import StoreConfig
    from expertpool.stores.es import ElasticsearchStore

    prefix = f"ept-missing-{uuid.uuid4().hex[:8]}"
    config = StoreConfig(backend="elasticsearch", es_url=es_url, es_index_prefix=prefix)
    with pytest.raises(StoreMissing, match=prefix):
        ElasticsearchStore.from_config(config, create=False)
    monkeypatch.setenv("EXPERTPOOL_ES_URL", es_url)
    monkeypatch.setenv("EXPERTPOOL_ES_PREFIX", prefix)
    monkeypatch.setenv("EXPERTPOOL_USER", "lin")
    result = runner.invoke(app, ["--backend", "elasticsearch", "search", "电池"])
    assert result.exit_code == 2 and prefix in result.output
    store = ElasticsearchStore.from_config(config)  # a writing command's open creates it
    try:
        assert store.created
        reopened = ElasticsearchStore.from_config(config, create=False)
        assert reopened.created is False
        reopened.close()
    finally:
        store.delete_indices()
        store.close()
