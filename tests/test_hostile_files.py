"""Files nobody here designed (issue 11, items 4–6): wrong JSON types are rejected by key, every
sheet of a workbook is read or the file refused by sheet name, oversized cells and inflated
workbooks and deep JSON are refused — never a crash, never data lost silently."""
from __future__ import annotations

import zipfile

import pytest
from openpyxl import Workbook

from expertpool.errors import InputError
from expertpool.services.access import actor_for
from expertpool.services.importing import import_file
from expertpool.io.readers import MAX_CELL_CHARS
from tests.helpers import EXPERT_HEADERS, expert_row, id_number, write_csv, write_jsonl


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


def _expert(**over):
    return {**{"id": "SC000225", "name": "王芳", "region": "四川", "institution": "西南科技大学", "title": "研究员",
               "fields": ["新材料"]}, **over}


@pytest.mark.parametrize("key, value, message", [
    ("name", {"x": 1}, "「name」应为文本或数字，实为对象"),
    ("institution", ["四川大学", "重庆大学"], "「institution」应为文本或数字，实为数组"),
    ("id", {"$oid": "5f1"}, "「id」应为文本或数字，实为对象"),
    ("fields", [["新材料"]], "「fields」应为文本数组，第 1 项却是数组"),
    ("birth_year", True, "实为真假值"),
])
def test_wrong_jsonl_types_reject_the_row_naming_the_key(tmp_path, store, admin, key, value, message):
    path = write_jsonl(tmp_path / "e.jsonl", [_expert(), _expert(**{"id": "SC000226", "name": "李娜", key: value})])
    report = import_file(store, path, admin)
    assert report.imported == 1 and len(report.rejects) == 1
    reject = report.rejects[0]
    assert (reject.row, message in reject.reason) == (2, True), reject
    assert store.count_experts() == 1


def test_wrong_types_in_other_kinds_and_projects(tmp_path, store, admin):
    import_file(store, write_jsonl(tmp_path / "e.jsonl", [_expert()]), admin)
    history = write_jsonl(tmp_path / "h.jsonl", [{"expert_id": "SC000225", "activity": "评审", "date": "2025-06-01"},
                                                 {"expert_id": {"id": "SC000225"}, "activity": "评审",
                                                  "date": "2025-07-01"}])
    report = import_file(store, history, admin, kind="history")
    assert report.imported == 1 and [(r.row, r.column) for r in report.rejects] == [(2, "专家编号")]
    projects = write_jsonl(tmp_path / "p.jsonl", [
        {"id": "P-1", "title": ["钒钛"], "applicant": {"name": "赵六"}},
        {"id": "P-2", "title": "钒钛", "applicant": {"name": {"x": 1}}},
        {"id": "P-3", "title": "钒钛", "applicant": {"name": "赵六"}, "avoid": [{"id": "SC000225"}]},
        {"id": "P-4", "title": "钒钛", "applicant": {"name": "赵六"}, "avoid": ["SC000225"]}])
    report = import_file(store, projects, admin, kind="projects")
    assert report.imported == 1
    assert [(r.row, r.column) for r in report.rejects] == [(1, "title"), (2, "applicant"), (3, "avoid")]


def test_deep_jsonl_nesting_is_rejected_not_a_crash(tmp_path, store, admin):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"id": "SC1", "name": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
                    + '{"id": "SC2", "name": "王芳", "region": "四川", "institution": "四川大学", "title": "教授", '
                      '"fields": ["新材料"]}\n', encoding="utf-8")
    report = import_file(store, path, admin, kind="experts")
    assert report.imported == 1 and "嵌套过深" in report.rejects[0].reason and report.rejects[0].row == 1


def _two_sheet_workbook(path, second_headers=EXPERT_HEADERS):
    wb = Workbook()
    first = wb.active
    first.title = "成都"
    first.append(EXPERT_HEADERS)
    first.append([expert_row(专家编号="SC000225", 证件号码="").get(h, "") for h in EXPERT_HEADERS])
    second = wb.create_sheet("绵阳")
    second.append(list(second_headers))
    second.append([expert_row(专家编号="SC000226", 姓名="李娜", **{"市州/区县": "绵阳"},
                              证件号码=id_number(seq="002")).get(h, "") for h in second_headers])
    second.append([expert_row(专家编号="SC000227", 姓名="王五", 专业领域="量子玄学", 证件号码="").get(h, "")
                   for h in second_headers])
    wb.create_sheet("空白")
    wb.save(path)
    return path


def test_every_sheet_with_the_headers_is_imported_rows_named_sheet_row(tmp_path, store, admin):
    report = import_file(store, _two_sheet_workbook(tmp_path / "sc.xlsx"), admin)
    assert (report.imported, report.rejected) == (2, 1)
    assert [(r.row, r.column) for r in report.rejects] == [("绵阳!3", "专业领域")]
    assert store.get_expert("SC000226").sub_region == "绵阳"
    assert "绵阳!3" in (tmp_path / "sc.xlsx.rejects.csv").read_text(encoding="utf-8-sig")


def test_a_sheet_without_the_headers_refuses_the_file_by_name(tmp_path, store, admin):
    path = _two_sheet_workbook(tmp_path / "sc.xlsx", second_headers=["序号", "备注"])
    with pytest.raises(InputError, match="工作表「绵阳」") as caught:
        import_file(store, path, admin)
    assert "「成都」" in str(caught.value) and store.count_experts() == 0


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "jsonl"])
def test_an_oversized_cell_rejects_its_row_naming_the_column(tmp_path, store, admin, fmt):
    big = "钒" * (MAX_CELL_CHARS + 1000)
    rows = [expert_row(证件号码=""), expert_row(专家编号="000002", 姓名="李娜", 研究方向=big, 证件号码="")]
    if fmt == "csv":
        path = write_csv(tmp_path / "a.csv", rows)
    elif fmt == "xlsx":
        from tests.helpers import write_xlsx
        path = write_xlsx(tmp_path / "a.xlsx", rows)
    else:
        path = write_jsonl(tmp_path / "a.jsonl", [_expert(), _expert(id="SC2", name="李娜", research=big)])
    report = import_file(store, path, admin)
    assert report.imported == 1 and len(report.rejects) == 1
    assert report.rejects[0].row in (2, 3) and report.rejects[0].column == "研究方向"
    assert "过长" in report.rejects[0].reason


def test_a_megabyte_csv_cell_rejects_one_row_not_the_file(tmp_path, store, admin):
    rows = [expert_row(证件号码=""), expert_row(专家编号="000002", 姓名="李娜", 研究方向="钒" * 1_000_000, 证件号码="")]
    report = import_file(store, write_csv(tmp_path / "a.csv", rows), admin)
    assert report.imported == 1 and [(r.row, r.column) for r in report.rejects] == [(3, "研究方向")]


def test_an_inflating_xlsx_is_refused_before_parsing(tmp_path, store, admin):
    """311 KB on disk, one 300 MB cell inside: refused from the zip's own listing, quickly."""
    path = tmp_path / "bomb.xlsx"
    good = tmp_path / "good.xlsx"
    from tests.helpers import write_xlsx

    write_xlsx(good, [expert_row()])
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<t>", b"<t>" + b"9" * (20 * 1024 * 1024), 1)
            dst.writestr(info, data)
    assert path.stat().st_size < 200_000
    with pytest.raises(InputError, match="Excel 单元格的上限"):
        import_file(store, path, admin)
    assert store.count_experts() == 0


def test_the_generators_ground_truth_is_refused_by_name(tmp_path, store, admin):
    from expertpool.synthetic.generate import generate_pool

    report = generate_pool(30, 1, tmp_path, projects=2)
    with pytest.raises(InputError, match="评测真值"):
        import_file(store, report.paths["truth"], admin)
