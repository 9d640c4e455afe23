"""The user's own 专家编号 is understood everywhere (issue 11, item 1): in every import kind, in
every command that takes an expert, for numbers of any shape, and never guessed between two
experts when both provinces' lists use the same number."""
from __future__ import annotations

import json

import pytest

from expertpool.domain import expert_ids
from expertpool.errors import InputError, NotFound
from expertpool.services.access import actor_for
from expertpool.services.audit import audit_log
from expertpool.services.conflicts import check_command
from expertpool.services.expert_ids import resolve_expert_id
from expertpool.services.importing import import_file, import_files
from expertpool.services.integrity import add_record, list_records
from expertpool.services.profile import expert_profile
from tests.helpers import expert_row, id_number, write_csv, write_jsonl, write_xlsx

SHAPES = ["SC000225", "100234", "CQ2020-0017", "川专-0123", "000045", "SC-000001"]


@pytest.fixture
def admin(store):
    return actor_for(store, "admin")


def _list(tmp_path, name, numbers, region="四川", **extra):
    sub = "成都" if region == "四川" else "渝北区"
    rows = [expert_row(**{"专家编号": n, "姓名": f"专家{i}", "所在地区": region, "市州/区县": sub, "证件号码": "",
                          **extra}) for i, n in enumerate(numbers)]
    return write_csv(tmp_path / name, rows)


@pytest.mark.parametrize("number", SHAPES)
def test_the_list_number_is_the_id_and_works_in_every_later_file(tmp_path, store, admin, number):
    assert import_file(store, _list(tmp_path, "sc.csv", [number]), admin).imported == 1
    expert = store.get_expert(number)
    assert expert.id == number and expert.source_ids == {"四川": number}
    assert "SC-SC" not in expert.id
    history = write_csv(tmp_path / "h.csv", [{"专家编号": number, "评审活动": "评审", "评审日期": "2025-06-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    report = import_file(store, history, admin)
    assert (report.imported, report.rejected) == (1, 0), report.rejects
    assert [e.expert_id for e in store.iter_records("history")] == [number]


def test_full_width_digits_and_spaces_match_the_number(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", ["ＳＣ０００２２５"]), admin)  # full-width in the list
    assert store.get_expert("SC000225").id == "SC000225"
    assert resolve_expert_id(store, " sc000225 ") == "SC000225"
    assert resolve_expert_id(store, "ＳＣ０００２２５") == "SC000225"


def test_leading_zeros_are_kept_and_a_number_cell_without_them_still_resolves(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", ["000045"]), admin)
    assert store.get_expert("000045").id == "000045"
    # An XLSX whose 专家编号 cells are numbers: Excel stored 45, not 000045.
    xlsx = write_xlsx(tmp_path / "h.xlsx", [{"专家编号": 45, "评审活动": "评审", "评审日期": "2025-06-01"}],
                      headers=["专家编号", "评审活动", "评审日期"])
    report = import_file(store, xlsx, admin)
    assert (report.imported, report.rejected) == (1, 0), report.rejects
    assert resolve_expert_id(store, "45") == "000045"


def test_the_same_number_in_both_lists_for_different_people(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", ["100234"]), admin, source="四川")
    report = import_file(store, _list(tmp_path, "cq.csv", ["100234"], region="重庆", 姓名="李四"), admin,
                         source="重庆")
    assert (report.imported, report.rejected) == (1, 0)
    sichuan, chongqing = store.get_expert("100234"), store.get_expert("重庆:100234")
    assert sichuan.source_ids == {"四川": "100234"}  # the first list's expert keeps the bare number as id
    assert chongqing.id == "重庆:100234" and chongqing.source_ids == {"重庆": "100234"}
    # commands: the bare number is ambiguous, the list qualifies it
    with pytest.raises(InputError, match="四川:100234 或 重庆:100234"):
        resolve_expert_id(store, "100234")
    assert resolve_expert_id(store, "四川:100234") == "100234"
    assert resolve_expert_id(store, "重庆：100234") == "重庆:100234"
    assert resolve_expert_id(store, "渝:100234") == "重庆:100234"
    # files: --source says which list the file's numbers come from; without it the row is rejected
    history = write_csv(tmp_path / "h.csv", [{"专家编号": "100234", "评审活动": "评审", "评审日期": "2025-06-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    unsure = import_file(store, history, admin)
    assert unsure.rejected == 1 and "--source" in unsure.rejects[0].reason
    assert import_file(store, history, admin, source="重庆").imported == 1
    assert [e.expert_id for e in store.iter_records("history")] == ["重庆:100234"]
    # re-importing either list changes nothing (no SC-SC, no second copy)
    again = _list(tmp_path, "cq.csv", ["100234"], region="重庆", 姓名="李四")
    assert import_file(store, again, admin, source="重庆").unchanged == 1
    assert import_file(store, _list(tmp_path, "sc.csv", ["100234"]), admin, source="四川").unchanged == 1
    assert store.count_experts() == 2


def test_a_person_in_both_lists_answers_to_both_numbers(tmp_path, store, admin):
    number = id_number()
    import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(专家编号="SC000225", 证件号码=number)]), admin,
                source="四川")
    cq = expert_row(专家编号="CQ2020-0017", 所在地区="重庆", **{"市州/区县": "两江新区"}, 证件号码=number)
    assert import_file(store, write_csv(tmp_path / "cq.csv", [cq]), admin, source="重庆").merged == 1
    assert resolve_expert_id(store, "CQ2020-0017") == resolve_expert_id(store, "SC000225") == "SC000225"
    assert store.get_expert("SC000225").source_ids == {"四川": "SC000225", "重庆": "CQ2020-0017"}


def test_unknown_numbers_are_named(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", ["SC000225"]), admin)
    with pytest.raises(NotFound, match="SC999999"):
        resolve_expert_id(store, "SC999999")
    with pytest.raises(NotFound, match="重庆名单中"):
        resolve_expert_id(store, "重庆:SC000225")


def test_commands_accept_the_users_number(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", ["川专-0123", "100234"]), admin)
    assert expert_profile(store, "川专-0123", admin)["id"] == "川专-0123"
    record = add_record(store, admin, "川专-0123", category="抄袭剽窃", severity="一般", start="2025-01-01",
                        reason="测试").record
    assert record.expert_id == "川专-0123"
    assert [r.id for r in list_records(store, admin, expert_id="川专-0123")] == [record.id]
    assert any(e.action == "integrity.add" for e in audit_log(store, "川专-0123"))
    projects = write_jsonl(tmp_path / "p.jsonl", [{
        "id": "P-1", "title": "钒钛新材料", "applicant": {"name": "专家0", "institution": "四川大学",
                                                     "expert_id": "川专-0123"}, "avoid": ["100234"]}])
    report = check_command(store, str(projects), expert="100234", review_date="2026-12-01")
    assert report.expert == "100234" and {c.expert_id for c in report.conflicts} == {"100234"}


def test_an_older_store_with_prefixed_ids_still_resolves_and_reimports_in_place(tmp_path, store, admin):
    from tests.factories import make_expert

    # what the importer wrote before: SC-<number> for the list's 000001, and no scheme mark
    store.upsert_experts([make_expert("SC-000001", name="张伟", birth_year=1970,
                                      source_ids={"四川": "SC-000001"})])
    assert resolve_expert_id(store, "000001") == "SC-000001"
    assert resolve_expert_id(store, "四川:000001") == "SC-000001"
    report = import_file(store, write_csv(tmp_path / "sc.csv", [expert_row(证件号码="")]), admin, source="四川")
    assert (report.imported, report.updated) == (0, 1)
    assert store.count_experts() == 1
    assert store.get_expert("SC-000001").source_ids == {"四川": "000001"}
    assert resolve_expert_id(store, "000001") == "SC-000001"


def test_resolution_is_one_rule_for_memory_and_store(tmp_path, store, admin):
    import_file(store, _list(tmp_path, "sc.csv", SHAPES), admin)
    memory = expert_ids.MemoryDirectory(store.iter_experts())
    for number in SHAPES:
        assert expert_ids.resolve(memory, number) == resolve_expert_id(store, number) == number


def test_show_and_coi_from_the_command_line(tmp_path, store, admin):
    from typer.testing import CliRunner

    from expertpool.cli.main import app

    import_file(store, _list(tmp_path, "sc.csv", ["100234"]), admin, source="四川")
    import_file(store, _list(tmp_path, "cq.csv", ["100234"], region="重庆"), admin, source="重庆")
    db = str(store.path)
    store.close()
    runner = CliRunner()
    env = {"EXPERTPOOL_USER": "admin"}
    shown = runner.invoke(app, ["--db", db, "show", "重庆:100234", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == "重庆:100234"
    ambiguous = runner.invoke(app, ["--db", db, "show", "100234"], env=env)
    assert ambiguous.exit_code == 2 and "四川:100234" in ambiguous.output and "Traceback" not in ambiguous.output


def test_the_conflict_graph_keeps_records_on_the_expert_whose_id_they_hold(tmp_path, store, admin):
    """重庆:100234's list number is 100234, the id of the Sichuan expert: records of 100234 stay his."""
    from expertpool.services.conflicts import load_conflict_graph

    import_file(store, _list(tmp_path, "cq.csv", ["100234"], region="重庆"), admin, source="重庆")
    import_file(store, _list(tmp_path, "sc.csv", ["100234"]), admin, source="四川")
    history = write_csv(tmp_path / "h.csv", [{"专家编号": "四川:100234", "评审活动": "评审", "评审日期": "2025-06-01"}],
                        headers=["专家编号", "评审活动", "评审日期"])
    assert import_file(store, history, admin).imported == 1
    chongqing = resolve_expert_id(store, "重庆:100234")
    sichuan = resolve_expert_id(store, "四川:100234")
    assert chongqing == "100234" and sichuan == "四川:100234"  # the Chongqing list came first here
    graph = load_conflict_graph(store)
    assert graph.resolve_expert(chongqing) == chongqing and graph.resolve_expert(sichuan) == sichuan
