"""End to end (issue 11): a province list numbered the province's own way — a GB18030 CSV whose
numbers carry no region prefix, and an XLSX of the other province with two sheets — then every
file that refers to experts, written with those same numbers: every row is accepted."""
from __future__ import annotations

from openpyxl import Workbook

from expertpool.services.access import actor_for
from expertpool.services.importing import import_files
from expertpool.services.panels import load_spec
from tests.helpers import EXPERT_HEADERS, expert_row, id_number, write_csv, write_jsonl

SICHUAN = ["100234", "000045", "川专-0123", "ＳＣ０００２２５"]  # the last one typed full-width


def test_a_real_shaped_list_and_every_file_referring_to_its_numbers(tmp_path, store):
    admin = actor_for(store, "admin")
    shared = id_number("510104", "19700101", "777")
    sc_rows = [expert_row(专家编号=n, 姓名=name, 证件号码=(shared if n == "100234" else ""),
                          人才称号=honour, **{"市州/区县": sub})
               for n, name, honour, sub in zip(SICHUAN, ["张伟", "李娜", "王芳", "赵强"],
                                               ["两院院士", "天府青城计划", "", "长江学者"],
                                               ["天府新区", "成都高新区", "绵阳", "成都"])]
    sichuan = write_csv(tmp_path / "四川专家.csv", sc_rows, encoding="gb18030")
    wb = Workbook()
    for title, rows in (("主城", [("CQ2020-0017", "周敏", "两江新区", shared), ("100234", "孙磊", "渝中区", "")]),
                        ("区县", [("000045", "吴刚", "万盛经开区", "")])):
        ws = wb.active if title == "主城" else wb.create_sheet(title)
        ws.title = title
        ws.append(EXPERT_HEADERS)
        for number, name, sub, ident in rows:
            row = expert_row(专家编号=number, 姓名=name, 所在地区="重庆", 工作单位="重庆大学", 证件号码=ident,
                             **{"市州/区县": sub})
            if name == "周敏":  # the same person as 张伟 (same identity number)
                row.update(姓名="张伟")
            ws.append([row.get(h, "") for h in EXPERT_HEADERS])
    chongqing = tmp_path / "重庆专家.xlsx"
    wb.save(chongqing)
    report = import_files(store, [sichuan], admin, source="四川")
    report_cq = import_files(store, [chongqing], admin, source="重庆")
    assert (report.rejected, report_cq.rejected) == (0, 0), [r.reason for f in report_cq.files for r in f.rejects]
    assert report_cq.files[0].merged == 1 and store.count_experts() == 6

    affiliations = write_csv(tmp_path / "aff.csv", [
        {"专家编号": "100234", "工作单位": "电子科技大学", "起始年份": "2001", "结束年份": "2010"},
        {"专家编号": "川专-0123", "工作单位": "西南科技大学", "起始年份": "2015"}],
        headers=["专家编号", "工作单位", "起始年份", "结束年份"])
    relations = write_csv(tmp_path / "rel.csv", [
        {"专家编号": "SC000225", "关联专家编号": "000045", "关系类型": "合著", "起始年份": "2023"},
        {"专家编号": "ｓｃ０００２２５", "关联人姓名": "钱七", "关联人单位": "四川大学", "关系类型": "师生"}],
        headers=["专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注"])
    integrity = write_csv(tmp_path / "integrity.csv", [
        {"记录编号": "CX-1", "专家编号": "川专-0123", "失信行为类型": "署名不当", "严重程度": "一般",
         "处理开始日期": "2024年2月29日", "处理结束日期": "2025-02-28", "状态": "有效"}],
        headers=["记录编号", "专家编号", "失信行为类型", "严重程度", "处理开始日期", "处理结束日期", "状态"],
        encoding="utf-8-sig")
    history = write_csv(tmp_path / "history.csv", [
        {"专家编号": "100234", "评审活动": "2025年重点研发计划评审", "评审日期": "2025/6/1"},
        {"专家编号": "000045", "评审活动": "2025年重点研发计划评审", "评审日期": "2025/6/1"}],
        headers=["专家编号", "评审活动", "评审日期"])
    projects = write_jsonl(tmp_path / "projects.jsonl", [
        {"id": "P-1", "title": "钒钛新材料制备", "fields": ["新材料"],
         "applicant": {"name": "王芳", "institution": "西南科技大学", "expert_id": "川专-0123"},
         "team": [{"name": "赵强", "institution": "四川大学", "expert_id": "SC000225"}],
         "avoid": ["000045"]}])
    # The Sichuan office's files: the numbers are that list's (--source 四川); 100234 and 000045 are
    # also Chongqing numbers of other people, which is why the source is named.
    later = import_files(store, [affiliations, relations, integrity, history, projects], admin, source="四川")
    assert [(f.kind, f.rows_read, f.imported, f.rejected) for f in later.files] == [
        ("affiliations", 2, 2, 0), ("relations", 2, 2, 0), ("integrity", 1, 1, 0), ("history", 2, 2, 0),
        ("projects", 1, 1, 0)], [r.reason for f in later.files for r in f.rejects]
    zhang = store.get_expert("100234")
    assert zhang.source_ids == {"四川": "100234", "重庆": "CQ2020-0017"} and zhang.sub_region == "成都"
    assert [a.expert_id for a in store.iter_records("affiliation")] == ["100234", "川专-0123"]
    assert {e.expert_id for e in store.iter_records("history")} == {"100234", "000045"}
    project = next(iter(store.iter_records("project")))
    assert (project.applicant.expert_id, project.team[0].expert_id, project.avoid) == ("川专-0123", "SC000225",
                                                                                      ["000045"])
    assert load_spec(None, {"projects": str(projects)}).projects  # a panel spec takes the same file
