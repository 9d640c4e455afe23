"""The 评审专家抽取记录表 (services/record_sheet.py, io/record_sheet.py): what each format holds,
laid out for print, contacts per the reader's role, every cell inert, no English on the sheet."""
from __future__ import annotations

import csv
import datetime as dt

import pytest

from expertpool.errors import ConcurrentEdit, InputError
from expertpool.services.access import actor_for
from expertpool.services.invitations import invite_panel, respond
from expertpool.services.panels import build_panel, load_panel, save_record
from expertpool.services.record_sheet import export_record_sheet
from expertpool.services.roles import grant_role
from expertpool.services.supervision import confirm_panel
from tests.sample_pool import admin, spec, store, template  # noqa: F401 (fixtures)

NOW = dt.datetime(2026, 11, 20, 9, tzinfo=dt.timezone.utc)
HOSTILE = "=HYPERLINK(\"http://evil.example\",\"点此\")"
ENGLISH = ("lottery", "best", "optimal", "feasible", "backup", "re-solve", "None", "True", "False")


@pytest.fixture
def panel(store, admin):
    grant_role(store, admin, "officer", "program_officer")   # audited: `audit verify` below checks roles too
    grant_role(store, admin, "witness", "supervisor")
    officer = actor_for(store, "officer")
    panel_id = build_panel(store, officer, spec(session="2026年川渝联合项目评审", group="综合组", place="成都"),
                           now=NOW).panel_id
    invite_panel(store, officer, panel_id, now=NOW)
    member = load_panel(store, officer, panel_id).members[0].id
    respond(store, officer, panel_id, member, "拒绝", reason=HOSTILE, now=NOW)
    confirm_panel(store, actor_for(store, "witness"), panel_id, now=NOW)
    return panel_id


def test_xlsx_is_laid_out_for_print_and_every_cell_is_inert(store, panel, tmp_path):
    from openpyxl import load_workbook

    officer = actor_for(store, "officer")
    result = export_record_sheet(store, officer, panel, tmp_path / "sheet.xlsx", now=NOW)
    wb = load_workbook(result.path)
    assert wb.sheetnames == ["抽取记录表", "成员名单", "邀请与补抽记录"]
    ws = wb["抽取记录表"]
    assert ws["A1"].value == "评审专家抽取记录表" and ws["A1"].font.bold
    assert any(str(r) .startswith("A1:") for r in ws.merged_cells.ranges)
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.print_title_rows == "$1:$2" and ws.column_dimensions["D"].width >= 20
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    text = "\n".join(map(str, values))
    for expected in ("2026年川渝联合项目评审", "综合组", "成都", "随机抽取", "抽取人", "监督人", "witness", "签字",
                     "与申报项目有利益冲突", "评价暂停期内", result.anchor, "自动补抽"):
        assert expected in text, expected
    assert not [w for w in ENGLISH if w in text.replace(result.anchor, "")]
    assert all(not str(v).startswith("=") for v in values)
    assert ("'" + HOSTILE) in values
    members = wb["成员名单"]
    assert members.freeze_panes == "A2" and members["A1"].font.bold and members["A1"].value == "序号"
    record = load_panel(store, officer, panel)
    assert [r[1].value for r in members.iter_rows(min_row=2)] == record.member_ids()
    phones = [r[7].value for r in members.iter_rows(min_row=2) if r[7].value]
    assert phones and not [p for p in phones if "*" in p]      # officers see contacts in full


def test_a_supervisors_sheet_masks_contacts_and_csv_holds_the_same_blocks(store, panel, tmp_path):
    witness = actor_for(store, "witness")
    result = export_record_sheet(store, witness, panel, tmp_path / "sheet.csv", now=NOW)
    rows = list(csv.reader(result.path.open(encoding="utf-8-sig")))
    assert rows[0] == ["评审专家抽取记录表"]
    flat = [c for r in rows for c in r]
    header = next(r for r in rows if r[:3] == ["序号", "专家编号", "姓名"])
    start = rows.index(header) + 1
    phones = [r[7] for r in rows[start:start + 15]]
    assert all("****" in p for p in phones if p)
    assert "'" + HOSTILE in flat and not [c for c in flat if c.startswith("=")]
    assert any(c.startswith("审计锚点：" + result.anchor) for c in flat)
    entry = list(store.iter_audit())[-1]
    assert entry.action == "panel.export" and f"{entry.seq}:{entry.hash}" == result.anchor
    from expertpool.services.audit import read_anchors, verify_audit

    xlsx = export_record_sheet(store, witness, panel, tmp_path / "sheet.xlsx", now=NOW)
    for sheet in (result, xlsx):   # `audit verify --anchors FILE` finds each sheet's anchor
        assert [f"{a.seq}:{a.hash}" for a in read_anchors(sheet.path)] == [sheet.anchor]
    verified = verify_audit(store, read_anchors(result.path) + read_anchors(xlsx.path))
    assert verified.ok, verified.problem


def test_pdf_text_has_the_record_in_chinese(store, panel, tmp_path):
    from pdfminer.high_level import extract_text

    result = export_record_sheet(store, actor_for(store, "officer"), panel, tmp_path / "sheet.pdf", now=NOW)
    assert result.path.read_bytes().startswith(b"%PDF")
    text = extract_text(str(result.path)).replace(" ", "")
    for expected in ("评审专家抽取记录表", "抽取规则", "专家组成员", "备选与替补专家", "邀请与补抽记录", "排除人数",
                     "抽取人：officer", "监督人：witness", "签字", "随机抽取"):
        assert expected in text, expected
    assert not [w for w in ("lottery", "optimal", "backup") if w in text]


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "csv"])
def test_a_failed_write_leaves_neither_file_nor_audit_entry(store, panel, tmp_path, monkeypatch, fmt):
    officer = actor_for(store, "officer")
    before = len(list(store.iter_audit()))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputError, match="不是目录"):
        export_record_sheet(store, officer, panel, blocker / f"sheet.{fmt}", now=NOW)

    def disk_full(path) -> None:
        with open(path, "wb") as fh:
            fh.write(b"PK")   # half a file …
        raise OSError(28, "No space left on device")

    # the libraries' own writers fail half-way, as on a full disk
    if fmt == "xlsx":
        monkeypatch.setattr("openpyxl.workbook.workbook.Workbook.save", lambda self, path: disk_full(path))
    elif fmt == "pdf":
        monkeypatch.setattr("reportlab.platypus.SimpleDocTemplate.build",
                            lambda self, *a, **k: disk_full(self.filename))
    else:
        import csv as csv_module

        class FullDisk:
            def __init__(self, fh, *a, **k):
                self.fh = fh

            def writerow(self, row):
                self.fh.write("半行")
                raise OSError(28, "No space left on device")

        monkeypatch.setattr(csv_module, "writer", FullDisk)
    existing = tmp_path / f"sheet.{fmt}"
    existing.write_bytes(b"the sheet exported before")
    with pytest.raises(OSError):
        export_record_sheet(store, officer, panel, existing, now=NOW)
    assert len(list(store.iter_audit())) == before
    assert existing.read_bytes() == b"the sheet exported before"     # the old file stays whole
    assert [p.name for p in tmp_path.iterdir() if "sheet" in p.name] == [existing.name]   # no temporary left


def test_a_save_from_a_stale_read_is_refused(store, panel):
    officer = actor_for(store, "officer")
    stale = load_panel(store, officer, panel)
    respond(store, officer, panel, stale.members[1].id, "接受", now=NOW)
    with pytest.raises(ConcurrentEdit, match="已被他人修改"):
        with store.batch():
            save_record(store, stale, stale.revision)


def test_typed_reasons_are_masked_per_role_on_the_sheet_on_screen_and_in_send_failures(store, panel, tmp_path):
    """Part A's masking reaches what the review writes: a reason typed with someone's identity
    number and phone in it shows neither in full to a supervisor, and an officer (who phones
    members) sees the phone but never the identity number; a notifier's failure reason is masked
    before anyone reads it."""
    from expertpool.notify import Delivery
    from expertpool.services.panel_view import panel_view
    from tests.helpers import id_number

    officer, witness = actor_for(store, "officer"), actor_for(store, "witness")
    identity, phone = id_number(), "13912345678"

    class Gateway:   # an SMS-style gateway whose reason quotes the number it could not reach
        channel = "短信"

        def deliver(self, notices):
            return [Delivery(n.key, False, f"网关拒绝号码 {phone}（证件 {identity}）") for n in notices]

    store.upsert_experts([e.model_copy(update={"email": "m@example.cn"}) for e in store.iter_experts()])
    member = load_panel(store, officer, panel).members[1].id
    outcome = respond(store, officer, panel, member, "申报回避", reason=f"与申报人系亲属，身份证 {identity}，新手机 {phone}",
                      notifier=Gateway(), now=NOW)
    assert outcome.replaced and outcome.substitute_invited == "发送失败"
    record = load_panel(store, officer, panel)
    failures = [e.detail for e in record.invitations if e.action == "发送失败"]
    assert failures and all("网关拒绝号码" in d and phone not in d and identity not in d for d in failures)

    def sheet_text(actor, name):
        result = export_record_sheet(store, actor, panel, tmp_path / name, now=NOW)
        return "\n".join(",".join(row) for row in csv.reader(result.path.open(encoding="utf-8-sig")))

    as_officer, as_witness = sheet_text(officer, "officer.csv"), sheet_text(witness, "witness.csv")
    assert "与申报人系亲属" in as_officer and "与申报人系亲属" in as_witness
    assert identity not in as_officer and identity not in as_witness and "[证件号码已隐去]" in as_witness
    assert phone in as_officer and phone not in as_witness and "139****5678" in as_witness
    shown = panel_view(store, witness, panel).record
    reasons = " ".join(e.reason or "" for e in shown.invitations) + " ".join(r.reason for r in shown.replaced)
    assert "与申报人系亲属" in reasons and identity not in reasons and phone not in reasons


@pytest.mark.parametrize("mode", ["lottery", "best"])
def test_no_label_on_any_exported_sheet_is_an_english_key(store, admin, tmp_path, mode):  # noqa: F811
    """The mode and the solve status (and a replacement's method, where shown) are named in Chinese
    on every sheet of the XLSX and in the CSV (domain/panel/labels.py), whichever the mode."""
    from openpyxl import load_workbook

    from expertpool.domain.panel.labels import mode_label, status_label

    drawn = build_panel(store, admin, spec(mode=mode, seed=4, place="成都"), now=NOW)
    record = drawn.record
    leaving = next(m for m, r in record.replacements.items() if r)  # one with a qualified replacement
    from expertpool.services.panels import replace_member

    replace_member(store, admin, drawn.panel_id, leaving, "本人回避", now=NOW)
    xlsx = export_record_sheet(store, admin, drawn.panel_id, tmp_path / "sheet.xlsx", now=NOW)
    wb = load_workbook(xlsx.path)
    cells = [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    sheet = export_record_sheet(store, admin, drawn.panel_id, tmp_path / "sheet.csv", now=NOW)
    cells += [cell for row in csv.reader(sheet.path.open(encoding="utf-8-sig")) for cell in row]
    text = "\n".join(cells).replace(xlsx.anchor, "").replace(sheet.anchor, "")
    assert mode_label(mode) in text and status_label(record.status) in text
    assert not [w for w in ENGLISH if w in text], [c for c in cells if any(w in c for w in ENGLISH)][:5]
