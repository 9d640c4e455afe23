"""A full disk (issue 11, item 7): the real cause is reported, files are whole or absent, and when
the store committed but the reject list could not be written, the report says exactly that."""
from __future__ import annotations

import errno
import sqlite3

import pytest

from expertpool.errors import StoreFailed
from expertpool.services.access import actor_for
from expertpool.io import sheets
from expertpool.io.files import atomic_output
from expertpool.services.importing import import_file
from expertpool.stores.sqlite import SQLiteStore
from tests.helpers import expert_row, write_csv


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


class _FullDisk:
    """A csv writer whose disk fills after the header."""

    def __init__(self, fh):
        self.fh, self.rows = fh, 0

    def writerow(self, row):
        self.rows += 1
        if self.rows > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.fh.write(",".join(map(str, row)) + "\n")


def test_a_reject_list_that_cannot_be_written_is_reported_after_the_commit(tmp_path, store, admin, monkeypatch):
    rows = [expert_row(证件号码=""), expert_row(专家编号="000002", 专业领域="量子玄学", 证件号码="")]
    path = write_csv(tmp_path / "sc.csv", rows)
    (tmp_path / "sc.csv.rejects.csv").write_text("上一次的清单", encoding="utf-8")
    monkeypatch.setattr(sheets.csv, "writer", _FullDisk)
    report = import_file(store, path, admin)
    assert report.imported == 1 and store.count_experts() == 1  # the store committed
    assert report.reject_file is None
    assert report.reject_file_error.startswith("数据库中的导入已提交") and "磁盘已满" in report.reject_file_error
    # the old list is untouched and no temporary file is left behind
    assert (tmp_path / "sc.csv.rejects.csv").read_text(encoding="utf-8") == "上一次的清单"
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_the_cli_says_so_and_exits_5(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from expertpool.cli.main import app

    path = write_csv(tmp_path / "sc.csv", [expert_row(证件号码=""), expert_row(专家编号="2", 专业领域="玄学", 证件号码="")])
    monkeypatch.setattr(sheets.csv, "writer", _FullDisk)
    result = CliRunner().invoke(app, ["--db", str(tmp_path / "db.sqlite3"), "import", "--create", str(path)],
                                env={"EXPERTPOOL_USER": "admin"})
    assert result.exit_code == 5
    assert "数据库中的导入已提交" in result.output and "拒绝清单未能写出" in result.output
    assert "Traceback" not in result.output


def test_atomic_output_leaves_nothing_half_written(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("旧", encoding="utf-8")
    with pytest.raises(OSError):
        with atomic_output(target) as tmp:
            tmp.write_text("新的一半", encoding="utf-8")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert target.read_text(encoding="utf-8") == "旧" and list(tmp_path.iterdir()) == [target]


def test_a_full_disk_during_the_store_write_reports_that_cause(tmp_path, store, admin, monkeypatch):
    """SQLite rolls back by itself on SQLITE_FULL; our ROLLBACK must not replace the cause."""
    original = SQLiteStore.upsert_experts

    def full(self, experts, progress=None):
        original(self, experts, progress)
        self._db.execute("ROLLBACK")  # what SQLite does on its own when the disk fills mid-transaction
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(SQLiteStore, "upsert_experts", full)
    with pytest.raises(StoreFailed, match=r"database or disk is full.*已回滚") as caught:
        import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(证件号码="")]), admin)
    assert "回滚时又出错" not in "".join(getattr(caught.value, "__notes__", []))
    monkeypatch.undo()
    assert store.count_experts() == 0
    assert import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(证件号码="")]), admin).imported == 1
