"""No cell ExpertPool writes becomes a live formula: hostile names, units and spec names in the
record sheet (`panel export`, XLSX and CSV), session exports and reject files, read back from the
files themselves."""
from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook

from expertpool.services.access import actor_for
from expertpool.services.audit import read_anchors, verify_audit
from expertpool.services.importing import import_files
from expertpool.services.panels import build_panel, load_spec
from expertpool.services.record_sheet import export_record_sheet
from expertpool.services.sessions import export_session, load_session_spec, plan_session
from expertpool.io.sheets import inert_cell
from expertpool.stores.sqlite import SQLiteStore
from tests.helpers import expert_row, write_csv

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_FILES = ["sichuan_experts.csv", "chongqing_experts.xlsx", "experts_extra.jsonl", "affiliations.csv",
                "relations.csv", "integrity.csv", "history.csv", "projects.jsonl"]
HOSTILE = ("=1+1", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3", "\t=1+1", "\r=1+1",
           "=HYPERLINK(\"http://example.invalid\",\"点击\")")
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _dangerous(value: object) -> bool:
    return isinstance(value, str) and value.startswith(TRIGGERS)


@pytest.fixture(scope="module")
def hostile_pool(tmp_path_factory):
    """The sample pool with every expert's name and unit starting like a formula."""
    path = tmp_path_factory.mktemp("pool") / "pool.sqlite3"
    store = SQLiteStore(path)
    admin = actor_for(store, "admin")
    assert not import_files(store, [SAMPLES / f for f in SAMPLE_FILES], admin).failed
    experts = list(store.iter_experts())
    store.upsert_experts([e.model_copy(update={"name": HOSTILE[i % len(HOSTILE)] + e.name,
                                               "institution": "=" + e.institution + "+1"})
                          for i, e in enumerate(experts)])
    store.close()
    return path


@pytest.fixture
def store(hostile_pool, tmp_path):
    shutil.copy(hostile_pool, tmp_path / "pool.sqlite3")
    s = SQLiteStore(tmp_path / "pool.sqlite3")
    yield s
    s.close()


def test_panel_exports_hold_no_formula(store, tmp_path):
    admin = actor_for(store, "admin")
    spec = load_spec(SAMPLES / "panel.toml", {"name": HOSTILE[-1], "max_per_institution": None})
    document = build_panel(store, admin, spec).document
    assert any(_dangerous(m["name"]) for m in document["members"])  # the attack is really in the panel

    workbook = load_workbook(export_record_sheet(store, admin, document["id"], tmp_path / "panel.xlsx").path)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert len(cells) > 20
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.coordinate for c in cells if c.value is not None and not isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if _dangerous(c.value)]
    assert workbook.active["A2"].value.startswith("'=HYPERLINK")  # the subtitle: the panel's name
    names = {c.value for c in cells}
    assert "'" + document["members"][0]["name"] in names or document["members"][0]["name"] in names

    rows = list(csv.reader(export_record_sheet(store, admin, document["id"], tmp_path / "panel.csv").path
                           .open(encoding="utf-8-sig", newline="")))
    assert not [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if _dangerous(v)]
    assert any(v.startswith("'=") and v.endswith("+1") for row in rows for v in row)  # units, neutralised
    assert rows[1][0].startswith("'=HYPERLINK")  # the heading lines go through the same writer
    # the audit anchor printed in the heading is still read back from either sheet
    for sheet in (tmp_path / "panel.xlsx", tmp_path / "panel.csv"):
        anchors = read_anchors(sheet)
        assert anchors and verify_audit(store, anchors, check_data=False).anchors_checked == len(anchors)


def test_session_exports_hold_no_formula(store, tmp_path):
    """A session's workbook (overview and a sheet per group, titles from hostile group names) and
    CSV go through the same inert writers."""
    admin = actor_for(store, "admin")
    spec = load_session_spec(SAMPLES / "session.toml", {"name": HOSTILE[0], "max_per_institution": None,
                                                        "mode": "best"})
    outcome = plan_session(store, admin, spec)
    assert outcome.has_panel and any(_dangerous(m.name) for g in outcome.record.groups for m in g.members)
    workbook = load_workbook(export_session(store, admin, outcome.session_id, tmp_path / "session.xlsx"))
    assert len(workbook.worksheets) == 1 + len(outcome.record.groups)
    cells = [cell for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert not [c.coordinate for c in cells if c.value is not None and not isinstance(c.value, str)]
    assert not [c.coordinate for c in cells if _dangerous(c.value)]
    rows = list(csv.reader(export_session(store, admin, outcome.session_id, tmp_path / "session.csv")
                           .open(encoding="utf-8-sig", newline="")))
    assert not [(r, c) for r, row in enumerate(rows) for c, v in enumerate(row) if _dangerous(v)]
    assert rows[0][0].startswith("'=1+1")
    for sheet in (tmp_path / "session.xlsx", tmp_path / "session.csv"):
        anchors = read_anchors(sheet)
        assert anchors and verify_audit(store, anchors, check_data=False).anchors_checked == len(anchors)


def test_reject_files_hold_no_formula(tmp_path):
    store = SQLiteStore(tmp_path / "pool.sqlite3")
    rows = [expert_row(专家编号=value, 姓名=value, 专业领域="=量子玄学", 证件号码="") for value in HOSTILE]
    path = write_csv(tmp_path / "hostile.csv", rows)
    report = import_files(store, [path], actor_for(store, "admin"))
    assert report.rejected == len(HOSTILE)
    with (tmp_path / "hostile.csv.rejects.csv").open(encoding="utf-8-sig", newline="") as fh:
        written = list(csv.reader(fh))
    assert len(written) == 1 + len(HOSTILE)
    assert not [(r, c) for r, row in enumerate(written) for c, v in enumerate(row) if _dangerous(v)]


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("+86 138", "'+86 138"), ("-2+3", "'-2+3"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"),
    ("张伟", "张伟"), ("", ""), (None, ""), (3, "3"), (0.25, "0.25"),
    ("-3", "-3"), ("-0.5", "-0.5"), ("+12", "+12"),     # plain signed numbers: read as numbers, harmless
    (-3, "-3"), ("-3e5", "'-3e5"), ("- 3", "'- 3"),
])
def test_inert_cell(value, expected):
    assert inert_cell(value) == expected
