"""The review commands name members the way the user's own lists do (issue 11 meets issue 16).

The committed sample pool renumbered the way real provincial lists number people — Sichuan
`SC000225` (no hyphen), Chongqing digits only (`100059`, a second series `200002`) — and imported
with each list's `--source`, as an administrator would. Then `panel respond`, `replace` and
`evaluate` (library and command line) and the evaluations import are given those numbers in the
shapes people type them: lower case, full width, qualified by the list (`重庆:100059`), and the
other list's number of a person found in both lists. Every one resolves through the one resolver
(`services.expert_ids`); someone not on the panel, or a number nobody has, is refused by name.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.errors import InputError, NotFound
from expertpool.services.access import actor_for
from expertpool.services.evaluations import evaluate_member, expert_evaluations
from expertpool.services.importing import import_files
from expertpool.services.invitations import invite_panel, respond
from expertpool.services.panels import build_panel, load_panel, load_spec, replace_member
from expertpool.services.roles import grant_role
from expertpool.stores.sqlite import SQLiteStore
from tests.helpers import write_csv

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SICHUAN_LISTS = ["sichuan_experts.csv"]
CHONGQING_LISTS = ["chongqing_experts.xlsx"]
OTHER_FILES = ["experts_extra.jsonl", "affiliations.csv", "relations.csv", "integrity.csv", "history.csv",
               "projects.jsonl"]
_NUMBER = re.compile(r"\b(?:SC-(\d{6})|CQ-(\d)(\d{5}))\b")
REVIEW_DAY = dt.datetime(2026, 12, 2, 9, tzinfo=dt.timezone.utc)   # the day after the sample review date
runner = CliRunner()


def to_fullwidth(text: str) -> str:
    """`SC000225` as typed with a Chinese input method's full-width letters and digits."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def renumbered(text: str) -> str:
    """SC-000225 → SC000225; CQ-000059 → 100059, CQ-100002 → 200002 (digits only, as in real lists)."""
    return _NUMBER.sub(lambda m: f"SC{m.group(1)}" if m.group(1) else f"{int(m.group(2)) + 1}{m.group(3)}", text)


def renumber_file(source: Path, target: Path) -> Path:
    if source.suffix == ".xlsx":
        workbook = load_workbook(source)
        for sheet in workbook.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str):
                        cell.value = renumbered(cell.value)
        workbook.save(target)
        return target
    data = source.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    target.write_bytes(renumbered(text).encode(encoding))
    return target


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The renumbered pool, an officer, and a saved panel invited by phone."""
    directory = tmp_path_factory.mktemp("numbers")
    files = {name: renumber_file(SAMPLES / name, directory / name)
             for name in [*SICHUAN_LISTS, *CHONGQING_LISTS, *OTHER_FILES, "panel.toml"]}
    path = directory / "pool.sqlite3"
    store = SQLiteStore(path)
    admin = actor_for(store, "admin")
    for names, source in ((SICHUAN_LISTS, "四川"), (CHONGQING_LISTS, "重庆"), (OTHER_FILES, None)):
        report = import_files(store, [files[n] for n in names], admin, source=source)
        assert not report.failed and report.rejected == 0, [r.reason for f in report.files for r in f.rejects][:5]
    merged = store.get_expert("SC000053")
    assert merged.source_ids == {"四川": "SC000053", "重庆": "100059"}   # one person, in both lists
    assert store.get_expert("100013").source_ids == {"重庆": "100013"}
    grant_role(store, admin, "officer", "program_officer")
    officer = actor_for(store, "officer")
    panel_id = build_panel(store, officer, load_spec(files["panel.toml"], {"mode": "best", "seed": 5})).panel_id
    invite_panel(store, officer, panel_id)
    store.close()
    return {"path": path, "panel": panel_id}


@pytest.fixture
def store(template, tmp_path):
    path = tmp_path / "pool.sqlite3"
    shutil.copy(template["path"], path)
    s = SQLiteStore(path)
    yield s
    s.close()


def members_by_list(store, panel_id) -> tuple[list[str], list[str]]:
    """(Sichuan numbers, Chongqing numbers) of the panel's members, as the lists write them."""
    ids = load_panel(store, None, panel_id).member_ids()
    sichuan = [i for i in ids if i.startswith("SC")]
    chongqing = [i for i in ids if i.isdigit()]
    assert sichuan and chongqing and len(sichuan) + len(chongqing) == len(ids)   # the data under test
    return sichuan, chongqing


def test_respond_and_replace_take_the_lists_own_numbers(store, template):
    officer = actor_for(store, "officer")
    panel = template["panel"]
    sichuan, chongqing = members_by_list(store, panel)
    # typed full width, qualified by the list
    accepted = respond(store, officer, panel, "重庆:" + to_fullwidth(chongqing[0]), "接受")
    assert not accepted.replaced
    record = load_panel(store, officer, panel)
    assert [e.expert_id for e in record.invitations if e.action == "接受"] == [chongqing[0]]
    # lower case: the decline refills the seat automatically
    declined = respond(store, officer, panel, sichuan[0].lower(), "拒绝", reason="出差")
    assert declined.replaced and sichuan[0] not in load_panel(store, officer, panel).member_ids()
    # panel replace: qualified and with inner spaces, as copied from a spreadsheet
    out = sichuan[1]
    replaced = replace_member(store, officer, panel, f"四川： {out[:4]} {out[4:]}", "本人回避")
    assert replaced.replaced[-1].out == out and out not in replaced.member_ids()
    # the other list's number of a merged person names them too; not being on the panel is said
    assert "SC000053" not in replaced.member_ids()
    with pytest.raises(InputError, match="不是评审专家组"):
        respond(store, officer, panel, "重庆:100059", "接受")
    with pytest.raises(NotFound, match="SC999999"):
        respond(store, officer, panel, "SC999999", "接受")


def test_evaluate_and_the_evaluations_import_take_the_lists_own_numbers(store, template, tmp_path):
    officer = actor_for(store, "officer")
    panel = template["panel"]
    sichuan, chongqing = members_by_list(store, panel)
    evaluation = evaluate_member(store, officer, panel, to_fullwidth(chongqing[1]), attended=True, score=4,
                                 now=REVIEW_DAY)
    assert evaluation.expert_id == chongqing[1]
    absent = evaluate_member(store, officer, panel, sichuan[2].lower(), attended=False, now=REVIEW_DAY)
    assert absent.expert_id == sichuan[2]
    # earlier evaluations, written with each list's numbers: the Chongqing number of a person in
    # both lists lands on that one person
    history = write_csv(tmp_path / "评价.csv", [
        {"专家编号": "100059", "评审活动": "2025年重点研发计划评审", "评审日期": "2025-06-01", "出席情况": "缺席"},
        {"专家编号": "sc000053", "评审活动": "2025年揭榜挂帅项目评审", "评审日期": "2025-09-01", "出席情况": "出席",
         "评分": "5"},
        {"专家编号": "重庆:" + chongqing[1], "评审活动": "2025年重点研发计划评审", "评审日期": "2025-06-01",
         "出席情况": "请假"}],
        headers=["专家编号", "评审活动", "评审日期", "出席情况", "评分"])
    report = import_files(store, [history], actor_for(store, "admin"))
    assert [(f.kind, f.imported, f.rejected) for f in report.files] == [("evaluations", 3, 0)], \
        [r.reason for f in report.files for r in f.rejects]
    assert [e.attendance for e in expert_evaluations(store, "SC000053")] == ["缺席", "出席"]
    assert {e.attendance for e in expert_evaluations(store, chongqing[1])} == {"请假", "出席"}


def test_the_commands_take_the_lists_own_numbers(store, template, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(store.path))
    monkeypatch.setenv("EXPERTPOOL_USER", "officer")
    for var in ("EXPERTPOOL_SMTP_HOST", "EXPERTPOOL_SMTP_PORT"):
        monkeypatch.delenv(var, raising=False)
    panel = template["panel"]
    sichuan, chongqing = members_by_list(store, panel)
    result = runner.invoke(app, ["panel", "respond", panel, "重庆:" + chongqing[0], "接受", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["response"] == "接受"
    result = runner.invoke(app, ["panel", "replace", panel, sichuan[0].lower(), "--reason", "本人回避", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["replaced"][-1]["out"] == sichuan[0]
    result = runner.invoke(app, ["panel", "respond", panel, "重庆:100059", "接受"])   # a person not on the panel
    assert result.exit_code == 2 and "100059" in result.stderr and "不是评审专家组" in result.stderr
    result = runner.invoke(app, ["panel", "respond", panel, "SC999999", "接受"])      # nobody has that number
    assert result.exit_code == 1 and "SC999999" in result.stderr and "Traceback" not in result.output
