"""The importer: encodings, formats, bad input, de-duplication, idempotence, all-or-nothing."""
from __future__ import annotations

import sqlite3

import pytest

from expertpool.errors import InputError, StoreFailed
from expertpool.services.access import actor_for
from expertpool.services.importing import import_file, import_files
from expertpool.stores.sqlite import SQLiteStore
from tests.helpers import expert_row, id_number, write_csv, write_jsonl, write_xlsx


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


def snapshot(store) -> list[str]:
    return sorted(e.model_dump_json() for e in store.iter_experts())


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_encodings_are_detected(tmp_path, store, admin, encoding):
    path = write_csv(tmp_path / "sc.csv", [expert_row(), expert_row(专家编号="000002", 姓名="李娜", 证件号码="")],
                     encoding=encoding)
    report = import_file(store, path, admin)
    assert (report.imported, report.rejected) == (2, 0)
    assert report.encoding == encoding
    assert store.get_expert("000001").name == "张伟"


def test_xlsx_and_jsonl(tmp_path, store, admin):
    xlsx = write_xlsx(tmp_path / "cq.xlsx", [expert_row(专家编号="000010", 所在地区="重庆", **{"市州/区县": "沙坪坝区"},
                                                        工作单位="重庆大学", 证件号码=id_number("500106"))])
    jsonl = write_jsonl(tmp_path / "extra.jsonl", [{
        "id": "SC-100001", "name": "王芳", "region": "四川", "sub_region": "绵阳", "institution": "西南科技大学",
        "title": "研究员", "fields": ["AI", "新一代信息技术"], "keywords": ["知识图谱"], "birth_year": 1982}])
    report = import_files(store, [xlsx, jsonl], admin)
    assert [f.imported for f in report.files] == [1, 1]
    assert store.get_expert("000010").region == "重庆"
    wang = store.get_expert("SC-100001")
    assert wang.fields == ["人工智能", "新一代信息技术"] and wang.title == "正高级"


def test_normalisation_full_width_aliases_and_multi_values(tmp_path, store, admin):
    row = expert_row(姓名=" 张 伟 ", 专业领域="ＡＩ，新材料", 人才称号="国家杰青、长江学者特聘教授",
                     关键词="钒钛新材料;高熵合金；高熵合金", 职称="副教授", **{"市州/区县": "成都市"})
    report = import_file(store, write_csv(tmp_path / "a.csv", [row]), admin)
    assert report.imported == 1
    e = store.get_expert("000001")
    assert e.name == "张伟"
    assert e.fields == ["人工智能", "新材料"]
    assert e.honours == ["国家杰出青年科学基金获得者", "长江学者"]
    assert e.keywords == ["钒钛新材料", "高熵合金"]
    assert (e.title, e.sub_region) == ("副高级", "成都")


def test_identity_number_is_stored_only_as_keyed_hash_and_last4(tmp_path, store, admin):
    number = id_number()
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row(证件号码=number)]), admin)
    e = store.get_expert("000001")
    assert e.id_last4 == number[-4:] and e.id_hash and number not in e.id_hash
    store.close()
    raw = (tmp_path / "pool.sqlite3").read_bytes()
    wal = tmp_path / "pool.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert number.encode() not in raw


def test_bad_rows_are_rejected_with_file_row_column_reason(tmp_path, store, admin):
    rows = [
        expert_row(),                                                    # row 2 ok
        expert_row(专家编号="000002", 专业领域="量子玄学", 证件号码=""),  # row 3 unknown field
        expert_row(专家编号="000003", 证件号码="510104197001010010"),     # row 4 bad checksum
        expert_row(专家编号="000004", 姓名="", 证件号码=""),              # row 5 missing name
        expert_row(专家编号="000005", 职称="大师", 证件号码=""),          # row 6 unknown title
        expert_row(专家编号="000006", 出生年份="19x0", 证件号码=""),      # row 7 bad year
        expert_row(证件号码=""),                                         # row 8 duplicate id in file
        expert_row(专家编号="000007", 所在地区="重庆", 证件号码=""),      # row 9 成都 not in 重庆
        expert_row(专家编号="000008", 邮箱="not-an-email", 证件号码=""),  # row 10 bad email
    ]
    path = write_csv(tmp_path / "broken.csv", rows)
    report = import_file(store, path, admin)
    got = {(r.row, r.column) for r in report.rejects}
    assert got == {(3, "专业领域"), (4, "证件号码"), (5, "姓名"), (6, "职称"), (7, "出生年份"), (8, "专家编号"),
                   (9, "市州/区县"), (10, "邮箱")}
    assert all(r.file == str(path) and r.reason for r in report.rejects)
    assert "第 2 行" in next(r.reason for r in report.rejects if r.row == 8)
    assert report.accepted + report.rejected == report.rows_read == 9
    reject_file = (tmp_path / "broken.csv.rejects.csv").read_text(encoding="utf-8-sig")
    assert "量子玄学" in reject_file and reject_file.count("\n") == 9


def test_a_repeated_bad_value_gets_the_same_reject_every_time(tmp_path, store, admin):
    """Vocabulary checks are memoised per value: the reason must come back for every row."""
    rows = [expert_row(专家编号=f"{i:06d}", 专业领域="量子玄学", 证件号码="") for i in (1, 2)]
    rows += [expert_row(专家编号=f"{i:06d}", 所在地区="重庆", 证件号码="") for i in (3, 4)]
    report = import_file(store, write_csv(tmp_path / "a.csv", rows), admin)
    assert [(r.row, r.column) for r in report.rejects] == [(2, "专业领域"), (3, "专业领域"), (4, "市州/区县"),
                                                          (5, "市州/区县")]
    assert report.rejects[0].reason == report.rejects[1].reason and "量子玄学" in report.rejects[0].reason
    assert report.rejects[2].reason == report.rejects[3].reason and "不属于重庆" in report.rejects[2].reason


@pytest.mark.parametrize("content, message", [
    (b"", "文件为空"),
    ("专家编号,姓名\n1,张伟\n".encode("utf-16"), "UTF-16"),
    (b"\x81\x30\xff\xfe\x00\xff\x81", "编码"),
])
def test_unreadable_files_raise_input_error(tmp_path, store, admin, content, message):
    path = tmp_path / "x.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        import_file(store, path, admin, kind="experts")


def test_missing_required_columns_named(tmp_path, store, admin):
    path = write_csv(tmp_path / "a.csv", [expert_row()], headers=["专家编号", "姓名", "所在地区", "工作单位"])
    with pytest.raises(InputError, match="职称.*专业领域"):
        import_file(store, path, admin, kind="experts")


def test_truncated_xlsx_leaves_store_unchanged(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin)
    before = snapshot(store)
    good = write_xlsx(tmp_path / "cq.xlsx", [expert_row(专家编号="000009", 证件号码="")])
    truncated = tmp_path / "truncated.xlsx"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    report = import_files(store, [truncated], admin)
    assert report.failed and "XLSX" in report.files[0].error
    assert snapshot(store) == before


def test_reimport_changes_nothing(tmp_path, store, admin):
    path = write_csv(tmp_path / "a.csv", [expert_row(), expert_row(专家编号="000002", 姓名="李娜", 证件号码="")])
    import_file(store, path, admin)
    audit_before = len(list(store.iter_audit()))
    again = import_file(store, path, admin)
    assert (again.imported, again.updated, again.unchanged, again.merged) == (0, 0, 2, 0)
    assert not again.changed
    assert len(list(store.iter_audit())) == audit_before  # nothing written, not even an audit entry


def test_changed_row_is_an_update(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin)
    report = import_file(store, write_csv(tmp_path / "b.csv", [expert_row(部门="物理学院")]), admin)
    assert report.updated == 1
    assert store.get_expert("000001").department == "物理学院"


def test_same_person_in_both_lists_is_merged_keeping_both_ids(tmp_path, store, admin):
    number = id_number()
    sc = write_csv(tmp_path / "sc.csv", [expert_row(证件号码=number)])
    cq = write_csv(tmp_path / "cq.csv", [expert_row(专家编号="000777", 所在地区="重庆", **{"市州/区县": "沙坪坝区"},
                                                    工作单位="重庆大学", 证件号码=number)])
    import_file(store, sc, admin, source="四川")
    report = import_file(store, cq, admin, source="重庆")
    assert report.merged == 1 and store.count_experts() == 1
    merged = store.get_expert("000777")
    assert merged.id == "000001"
    assert merged.source_ids == {"四川": "000001", "重庆": "000777"}
    # Re-importing either list is now a no-op.
    assert import_file(store, cq, admin, source="重庆").unchanged == 1
    assert import_file(store, sc, admin, source="四川").unchanged == 1


def test_likely_match_without_identity_is_reported_not_merged(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(证件号码="")]), admin, source="四川")
    report = import_file(store, write_csv(tmp_path / "cq.csv", [expert_row(专家编号="000777", 证件号码="")]),
                         admin, source="重庆")
    assert report.imported == 1 and store.count_experts() == 2
    assert [(d.expert_id, d.existing_id) for d in report.possible_duplicates] == [("000777", "000001")]


def test_same_identity_twice_in_one_source_is_rejected(tmp_path, store, admin):
    number = id_number()
    path = write_csv(tmp_path / "a.csv", [expert_row(证件号码=number), expert_row(专家编号="000002", 证件号码=number)])
    report = import_file(store, path, admin, source="四川")
    assert report.imported == 1 and [(r.row, r.column) for r in report.rejects] == [(3, "证件号码")]


def test_failure_half_way_leaves_store_exactly_as_before(tmp_path, store, admin, monkeypatch):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin)
    before = snapshot(store)
    audit_before = len(list(store.iter_audit()))
    rows = [expert_row(专家编号=f"{i:06d}", 姓名=f"专家{i}", 证件号码="") for i in range(2, 60)]
    path = write_csv(tmp_path / "b.csv", rows + [expert_row(部门="新部门")])
    real_execute_count = {"n": 0}
    original = SQLiteStore.upsert_experts

    def failing_upsert(self, experts, progress=None):
        original(self, experts[:30], progress)  # half the rows really written…
        real_execute_count["n"] += 1
        raise sqlite3.OperationalError("database or disk is full")  # …then the disk fills

    monkeypatch.setattr(SQLiteStore, "upsert_experts", failing_upsert)
    with pytest.raises(StoreFailed, match="本次更改已回滚"):  # translated by the store's batch
        import_file(store, path, admin)
    assert real_execute_count["n"] == 1
    assert snapshot(store) == before
    assert len(list(store.iter_audit())) == audit_before


def test_dry_run_writes_nothing(tmp_path, store, admin):
    report = import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin, dry_run=True)
    assert report.imported == 1 and store.count_experts() == 0


def test_related_files_reference_known_experts(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row(), expert_row(专家编号="000002", 姓名="李娜",
                                                                                证件号码="")]), admin)
    headers = ["专家编号", "关联专家编号", "关联人姓名", "关联人单位", "关系类型", "起始年份", "结束年份", "备注"]
    rel = write_csv(tmp_path / "rel.csv", [
        {"专家编号": "000001", "关联专家编号": "000002", "关系类型": "合著", "起始年份": "2023",
         "结束年份": "2023", "备注": "作者数=6"},
        {"专家编号": "000001", "关联人姓名": "赵六", "关联人单位": "四川大学", "关系类型": "师生",
         "起始年份": "2010", "备注": "博士"},
        {"专家编号": "SC-999999", "关联人姓名": "钱七", "关系类型": "合著"},
        {"专家编号": "000001", "关联人姓名": "孙八", "关系类型": "同乡"},
        {"专家编号": "000001", "关联人姓名": "周九", "关系类型": "合著", "起始年份": "2020", "结束年份": "2019"},
    ], headers=headers)
    report = import_file(store, rel, admin)
    assert report.imported == 2
    assert {(r.row, r.column) for r in report.rejects} == {(4, "专家编号"), (5, "关系类型"), (6, "结束年份")}
    relations = list(store.iter_records("relation", "000001"))
    coauthor = next(r for r in relations if r.kind == "合著")
    assert coauthor.other.expert_id == "000002" and coauthor.other.name == "李娜" and coauthor.author_count == 6
    assert import_file(store, rel, admin).unchanged == 2


def test_integrity_and_history_and_projects(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin)
    integrity = write_csv(tmp_path / "integrity.csv", [
        {"记录编号": "IR-1", "专家编号": "000001", "失信行为类型": "抄袭剽窃", "严重程度": "一般",
         "决定日期": "2025年3月5日", "处理开始日期": "2025/3/5", "处理结束日期": "", "处理措施": "取消评审专家资格；通报批评",
         "处理机构": "四川省科学技术厅", "文号": "川科监〔2025〕3号", "状态": "有效"}],
        headers=["记录编号", "专家编号", "失信行为类型", "严重程度", "决定日期", "处理开始日期", "处理结束日期",
                 "处理措施", "处理机构", "文号", "状态"])
    report = import_file(store, integrity, admin)
    assert report.imported == 1
    record = store.get_integrity("IR-1")
    assert record.end is None and record.sanctions == ["取消评审专家资格", "通报批评"] and record.status == "active"
    assert import_file(store, integrity, admin).unchanged == 1
    history = write_csv(tmp_path / "history.csv", [{"专家编号": "000001", "评审活动": "2025年重点研发计划评审",
                                                    "评审日期": "2025-06-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    assert import_file(store, history, admin).imported == 1
    projects = write_jsonl(tmp_path / "projects.jsonl", [
        {"id": "P-1", "title": "钒钛新材料制备", "fields": ["材料"], "applicant": {"name": "赵六", "institution": "四川大学"},
         "team": [{"name": "张伟", "institution": "四川大学", "expert_id": "000001"}], "avoid": []},
        {"id": "P-2", "title": "x", "applicant": {"name": "钱七"}, "avoid": ["SC-404"]},
        "not json",
    ])
    projects.write_text(projects.read_text(encoding="utf-8").replace('"not json"', "{not json"), encoding="utf-8")
    report = import_file(store, projects, admin, kind="projects")
    assert report.imported == 1
    assert {(r.row, r.column) for r in report.rejects} == {(2, "avoid"), (3, "(整行)")}
    assert list(store.iter_records("project"))[0].fields == ["新材料"]


def test_import_audit_entry_names_the_experts_it_touched(tmp_path, store, admin):
    from expertpool.services.audit import audit_log

    import_file(store, write_csv(tmp_path / "a.csv", [expert_row(), expert_row(专家编号="000002", 证件号码="")]), admin)
    [entry] = [e for e in store.iter_audit() if e.action == "import.experts"]
    assert entry.after["imported"] == 2 and entry.after["expert_ids"] == ["000001", "000002"]
    assert [e.action for e in audit_log(store, "000002")] == ["import.experts"]


def test_a_number_already_held_by_another_person_is_rejected_not_overwritten(tmp_path, store, admin):
    # A Sichuan-list expert working in Chongqing is taken for the 重庆 list's 000067 when the list's
    # source is inferred from the row; the Chongqing list's own 000067 is somebody else.
    sc = write_csv(tmp_path / "sc.csv", [expert_row(专家编号="000067", 姓名="王五", 所在地区="重庆",
                                                    **{"市州/区县": "渝中区"}, 证件号码="")])
    cq = write_csv(tmp_path / "cq.csv", [expert_row(专家编号="000067", 姓名="李四", 所在地区="重庆",
                                                    **{"市州/区县": "渝中区"}, 出生年份="1980", 证件号码="")])
    import_file(store, sc, admin)
    report = import_file(store, cq, admin)
    assert report.rejected == 1 and report.rejects[0].column == "专家编号" and "王五" in report.rejects[0].reason
    assert store.get_expert("000067").name == "王五"


def test_the_second_list_can_make_a_merged_expert_more_restricted(tmp_path, store, admin):
    number = id_number()
    import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(证件号码=number)]), admin, source="四川")
    cq_row = expert_row(专家编号="000777", 所在地区="重庆", **{"市州/区县": "沙坪坝区"}, 证件号码=number)
    import_file(store, write_csv(tmp_path / "cq.csv", [cq_row]), admin, source="重庆")
    report = import_file(store, write_csv(tmp_path / "cq2.csv", [{**cq_row, "状态": "出库"}]), admin, source="重庆")
    assert report.updated == 1
    assert store.get_expert("000777").status == "出库"


def test_a_prefix_contradicting_the_source_is_rejected(tmp_path, store, admin):
    report = import_file(store, write_csv(tmp_path / "a.csv", [expert_row(专家编号="SC-000001")]), admin,
                         source="重庆")
    assert [(r.column, r.reason) for r in report.rejects] == [("专家编号", "编号前缀表明来自四川名单，与 --source 重庆 不符")]


def test_dry_run_of_related_files_counts_without_writing(tmp_path, store, admin):
    import_file(store, write_csv(tmp_path / "a.csv", [expert_row()]), admin)
    history = write_csv(tmp_path / "h.csv", [{"专家编号": "000001", "评审活动": "评审", "评审日期": "2025-06-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    report = import_file(store, history, admin, dry_run=True)
    assert (report.imported, report.rejected) == (1, 0) and list(store.iter_records("history")) == []
    import_file(store, history, admin)
    assert import_file(store, history, admin, dry_run=True).unchanged == 1


def test_unknown_jsonl_keys_are_reported(tmp_path, store, admin):
    path = write_jsonl(tmp_path / "x.jsonl", [{"id": "SC-1", "name": "王芳", "region": "四川", "institution": "四川大学",
                                               "title": "教授", "fields": ["新材料"], "emial": "w@scu.edu.cn"}])
    report = import_file(store, path, admin)
    assert report.imported == 1 and report.ignored_columns == ["emial"]


def test_control_characters_in_cells_are_never_stored(tmp_path, store, admin):
    """A NUL or a terminal escape in a name or unit (CSV, XLSX or JSONL) is dropped like a zero-width space."""
    csv_path = write_csv(tmp_path / "sc.csv", [expert_row(姓名="张\x00伟", 工作单位="四川\x1b[2J大学")])
    jsonl = write_jsonl(tmp_path / "extra.jsonl", [{
        "id": "SC-100001", "name": "王\u202e芳", "region": "四川", "institution": "电子科技大学\x07",
        "title": "正高级", "fields": ["人工智能"]}])
    report = import_files(store, [csv_path, jsonl], admin)
    assert not report.failed, report.to_json()
    for expert in store.iter_experts():
        for value in (expert.name, expert.institution):
            assert value.isprintable() and "\u202e" not in value, value
    assert store.get_expert("000001").name == "张伟"
    assert store.get_expert("SC-100001").institution == "电子科技大学"


def test_options_for_every_file_are_checked_before_any_file_is_read(tmp_path, store, admin):
    path = write_csv(tmp_path / "sc.csv", [expert_row()])
    with pytest.raises(InputError, match="--kind"):
        import_files(store, [path], admin, kind="bogus")
    with pytest.raises(InputError, match="--source"):
        import_files(store, [path], admin, source="北京")
    with pytest.raises(InputError, match="--rejects-dir"):
        import_files(store, [path], admin, rejects_dir=path)  # a file, not a directory
    assert store.count_experts() == 0


def test_an_unreadable_file_is_bad_input_naming_it(tmp_path, store, admin, monkeypatch):
    """Permission denied (tests run as root, so simulated), a directory, a missing file: the file's
    report says why, nothing of it is written, and the other files are still imported."""
    from pathlib import Path

    locked = write_csv(tmp_path / "locked.csv", [expert_row()])
    fine = write_csv(tmp_path / "fine.csv", [expert_row(专家编号="000002", 姓名="李娜", 证件号码="")])
    real_open = Path.open

    def refuse(self, *args, **kwargs):
        if self == locked:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", refuse)
    monkeypatch.setattr(Path, "read_bytes", lambda self: refuse(self, "rb").read())
    report = import_files(store, [locked, tmp_path, tmp_path / "missing.csv", fine], admin)
    errors = [f.error for f in report.files]
    assert "locked.csv: 没有读写该文件的权限" in errors[0]
    assert "是目录" in errors[1] and "文件不存在" in errors[2] and errors[3] is None
    assert [e.id for e in store.iter_experts()] == ["000002"]
