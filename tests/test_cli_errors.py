"""No traceback, ever, for an expected error.

Every command is found by walking the typer app (a new command or option is covered the moment it
exists), run once as it should be, then once per bad value of each of its parameters. The bad
values come from the parameter's type (every integer gets a number too large for SQLite, every
float NaN and infinity, every input path a missing file and a directory) and from small tables
for what a type cannot say (dates, vocabularies, files-or-ids). Each must end with the documented
exit code (README: 1 general, 2 bad input, 3 permission denied, 4 concurrent edit, 5 storage
failure), a message naming the option or the value, and no traceback.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.services.access import actor_for
from expertpool.services.importing import import_files
from expertpool.services.invitations import invite_panel
from expertpool.services.panels import build_panel, load_spec
from expertpool.services.roles import grant_role
from expertpool.services.sessions import load_session_spec, plan_session
from expertpool.stores.sqlite import SQLiteStore
from tests.access_helpers import sql

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
SAMPLE_FILES = ["sichuan_experts.csv", "chongqing_experts.xlsx", "experts_extra.jsonl", "affiliations.csv",
                "relations.csv", "integrity.csv", "history.csv", "projects.jsonl"]
BAD_INPUT = 2
runner = CliRunner()


# ---- the commands, as the typer app has them ----
def commands() -> dict[tuple[str, ...], object]:
    """Every leaf command of the app by its words (("panel", "build") …), found by walking the
    click groups typer builds."""
    root = typer.main.get_command(app)
    ctx = type(root).context_class(root)
    found: dict[tuple[str, ...], object] = {}

    def walk(command, words: tuple[str, ...]) -> None:
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                walk(command.get_command(ctx, name), (*words, name))
        else:
            found[words] = command

    walk(root, ())
    return found


#: A valid invocation of each command on the sample pool, so that each bad value below is the only
#: fault. Placeholders: {samples}, {tmp} (an empty directory), {panel} and {member} (a saved panel,
#: invited), {sealed} (a sealed panel), {held} and {held_member} (a panel whose review is past),
#: {outsider} (an expert on neither panel), {session} and {session_member} (a saved review session
#: and a member with a replacement).
BASE: dict[tuple[str, ...], list[str]] = {
    ("import",): ["{samples}/history.csv", "--dry-run"],
    ("search",): ["电池"],
    ("show",): ["SC-000001"],
    ("stats",): [],
    ("generate",): ["--count", "10", "--projects", "2", "--out", "{tmp}/generated"],
    ("coi", "check"): ["--project", "2026YFG0001", "--review-date", "2026-12-01"],
    ("integrity", "add"): ["SC-000001", "--category", "抄袭剽窃", "--severity", "一般", "--start", "2026-01-01",
                           "--reason", "依据处理决定"],
    ("integrity", "amend"): ["CX-2018-0001", "--severity", "严重", "--reason", "复核"],
    ("integrity", "revoke"): ["CX-2018-0001", "--reason", "处理决定已撤销"],
    ("integrity", "list"): [],
    ("integrity", "show"): ["CX-2018-0001"],
    ("roles", "list"): [],
    ("roles", "grant"): ["zhao", "reviewer"],
    ("roles", "revoke"): ["officer", "program_officer"],
    ("audit", "log"): [],
    ("audit", "verify"): [],
    ("panel", "build"): ["--spec", "{samples}/panel.toml", "--mode", "best", "--dry-run"],
    ("panel", "show"): ["{panel}"],
    ("panel", "list"): [],
    ("panel", "replace"): ["{panel}", "{member}", "--reason", "本人回避"],
    ("panel", "export"): ["{panel}", "--out", "{tmp}/sheet.xlsx"],
    ("session", "plan"): ["{samples}/session.toml", "--mode", "best", "--dry-run"],
    ("session", "show"): ["{session}"],
    ("session", "list"): [],
    ("session", "replace"): ["{session}", "{session_member}", "--reason", "本人回避"],
    ("session", "export"): ["{session}", "--out", "{tmp}/session.xlsx"],
    ("panel", "invite"): ["{panel}", "--place", "成都市科技会堂"],
    ("panel", "respond"): ["{panel}", "{member}", "接受"],
    ("panel", "confirm"): ["{panel}"],
    ("panel", "unseal"): ["{sealed}", "--reason", "评审提前"],
    ("panel", "evaluate"): ["{held}", "{held_member}", "--attended", "--score", "4"],
    ("index", "rebuild"): [],
}

#: Bad values by the parameter's Python type.
BY_TYPE: dict[str, list[str]] = {
    "int": ["99999999999999999999", "12abc"],
    "float": ["nan", "inf", "-inf", "1e999", "0.5x"],
}
#: Bad values a type cannot tell, by parameter name.
DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "明天"]
BY_NAME: dict[str, list[str]] = {
    **{name: DATES for name in ("review_date", "on", "since", "eligible_on", "active_on", "start", "end",
                                "decision_date")},
    # closed vocabularies only: honours are open (issue 11), so `search --honour 天府青城计划` finds the
    # experts whose honour was kept as written, and an honour nobody holds finds nobody (exit 0)
    **{name: ["不存在的取值"] for name in ("kind", "source", "mode", "field", "region", "title", "status",
                                            "category", "severity", "role")},
    "limit": ["0", "-5"],
    "size": ["0"],
    "backups": ["-1"],
    "max_per_institution": ["0"],
    "count": ["5"],
    "expected_version": ["0", "99"],
    "max_probability": ["0", "1.5"],
    "min_senior": ["-0.1", "2"],
    "time_limit": ["0", "-3"],
    "project": ["{tmp}/missing.jsonl", "{tmp}"],      # coi check: a projects file, or a stored id
    "projects": ["{tmp}/missing.jsonl", "{tmp}"],     # panel build (generate's --projects is an int)
    "policy": ["{tmp}/missing.toml", "{tmp}"],
    "anchor": ["12:xyz"],
    "record_id": ["有 空格"],                          # integrity add --id (amend/revoke/show: unknown id)
    "reason": ["   "],                                 # required reasons only (see `bad_values`)
    "name": ["\x01\x02"],                              # only control characters: empty once cleaned
    "user": ["有 空格"],
    "response": ["也许"],                             # panel respond: 接受/拒绝/未接通/申报回避
    "format_": ["docx"],                               # panel export --format
    "sealed_until": ["明天", "2020-01-01 08:00"],      # panel build: not a time; a time already past
}
#: Bad values of one command's parameter, where the name alone cannot tell (an expert id is a fine
#: value for `show`, but a member is wanted here: someone not on the panel is bad input).
BY_COMMAND: dict[tuple[str, ...], list[str]] = {
    ("panel", "replace", "expert_id"): ["{outsider}"],
    ("panel", "respond", "member"): ["{outsider}"],
    ("panel", "evaluate", "member"): ["{outsider}"],
}
#: Path parameters a command writes to; every other Path parameter is an input file.
OUTPUTS = {"out", "rejects_dir"}
#: Parameters whose bad values are not bad input by design (an unknown id is "not found", exit 1).
NOT_BAD_INPUT = {("integrity", "amend", "record_id"), ("integrity", "revoke", "record_id"),
                 ("integrity", "show", "record_id")}


@dataclass(frozen=True)
class Case:
    words: tuple[str, ...]
    param: str            # the parameter's name
    flag: str | None      # its option name (None: a positional argument)
    value: str

    def args(self) -> list[str]:
        base = list(BASE[self.words])
        if self.flag is None:  # replace the positional argument's value in the base invocation
            command = commands()[self.words]
            position = [p.name for p in command.params if p.param_type_name == "argument"].index(self.param)
            positions = [i for i, a in enumerate(base) if not a.startswith("-")
                         and (i == 0 or not base[i - 1].startswith("--") or base[i - 1] in ("--dry-run",))]
            base[positions[position]] = self.value
            return [*self.words, *base]
        if self.flag in base:
            base[base.index(self.flag) + 1] = self.value
            return [*self.words, *base]
        return [*self.words, *base, self.flag, self.value]

    def __str__(self) -> str:
        return f"{' '.join(self.words)} {self.flag or self.param}={self.value!r}"


def bad_values(words: tuple[str, ...], param) -> list[str]:
    kind = param.bare_type().removeprefix("list[").removesuffix("]")  # the type of one value: "int", "Path" …
    if (*words, param.name) in NOT_BAD_INPUT or kind == "bool":
        return []
    if (*words, param.name) in BY_COMMAND:
        return BY_COMMAND[(*words, param.name)]
    if param.name == "reason" and not param.required:
        return []
    if param.name == "projects" and kind == "int":
        return ["-1", "99999999999999999999"]
    if kind == "Path":
        return ["{file}/inside", "{file}"] if param.name in OUTPUTS else ["{tmp}/missing.csv", "{tmp}"]
    return BY_TYPE.get(kind, []) + BY_NAME.get(param.name, [])


def cases() -> list[Case]:
    out = []
    for words, command in commands().items():
        for param in command.params:
            flag = param.opts[0] if param.param_type_name == "option" else None
            for value in bad_values(words, param):
                out.append(Case(words, param.name, flag, value))
    return out


# ---- the sample pool ----
@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """The sample pool of both provinces, an officer, and one saved panel."""
    directory = tmp_path_factory.mktemp("errors")
    path = directory / "pool.sqlite3"
    store = SQLiteStore(path)
    admin = actor_for(store, "admin")
    assert not import_files(store, [SAMPLES / f for f in SAMPLE_FILES], admin).failed
    grant_role(store, admin, "officer", "program_officer")
    officer = actor_for(store, "officer")
    # drawn by the officer, so the administrator may witness it (`panel confirm`), and invited by
    # phone, so answers may be recorded (`panel respond`)
    drawn = build_panel(store, officer, load_spec(SAMPLES / "panel.toml", {"mode": "best", "seed": 1}))
    invite_panel(store, officer, drawn.panel_id)
    # one sealed (`panel unseal`), one whose review took place yesterday (`panel evaluate`)
    # (a day later: the first panel's members are seated on its day, and the sample pool has no
    # second lottery panel without them)
    sealed = build_panel(store, officer, load_spec(SAMPLES / "panel.toml", {"review_date": "2026-12-02"}),
                         sealed_until=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=365))
    held = build_panel(store, officer, load_spec(SAMPLES / "panel.toml", {
        "mode": "best", "seed": 2, "review_date": dt.date.today() - dt.timedelta(days=1)}))
    members = {m["id"] for m in (*drawn.document["members"], *held.document["members"])}
    outsider = next(e.id for e in store.iter_experts() if e.id not in members)
    session = plan_session(store, admin, load_session_spec(SAMPLES / "session.toml", {"mode": "best", "seed": 1}))
    session_member = next(m["id"] for g in session.document["groups"] for m in g["members"]
                          if g["backups"] or g["replacements"].get(m["id"]))
    store.close()
    # a member with a qualified replacement: only qualified experts may take a seat
    member = next(m for m, r in drawn.document["replacements"].items() if r)
    return {"path": path, "panel": drawn.panel_id, "member": member,
            "sealed": sealed.panel_id, "held": held.panel_id, "held_member": held.document["members"][0]["id"],
            "outsider": outsider, "session": session.session_id, "session_member": session_member}


@pytest.fixture
def pool(template, tmp_path, monkeypatch):
    """A copy of the template pool for one test, EXPERTPOOL_DB pointing at it, acting as admin."""
    path = tmp_path / "pool.sqlite3"
    shutil.copy(template["path"], path)
    monkeypatch.setenv("EXPERTPOOL_DB", str(path))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    (tmp_path / "work").mkdir()
    (tmp_path / "a-file.txt").write_text("x", encoding="utf-8")
    places = {"samples": str(SAMPLES), "tmp": str(tmp_path / "work"), "file": str(tmp_path / "a-file.txt"),
              **{k: template[k] for k in ("panel", "member", "sealed", "held", "held_member", "outsider", "session",
                                          "session_member")}}
    return {"path": path, "fill": lambda args: [a.format(**places) for a in args]}


def invoke(args: list[str]):
    result = runner.invoke(app, args, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"expertpool {' '.join(args)} raised instead of reporting an expected error:\n{shown}")
    assert "Traceback" not in result.output
    return result


# ---- the tests ----
def test_the_table_knows_every_command():
    """A new command needs a base invocation here; then its parameters are covered by type."""
    assert set(commands()) == set(BASE)
    assert len(cases()) > 100


@pytest.mark.parametrize("words", sorted(BASE), ids=" ".join)
def test_each_base_invocation_succeeds(pool, words):
    """The baseline: without the bad value the command works, so the bad value is the only fault."""
    result = invoke(pool["fill"]([*words, *BASE[words]]))
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("case", cases(), ids=str)
def test_a_bad_value_is_bad_input_with_a_message_and_no_traceback(pool, case):
    args = pool["fill"](case.args())
    result = invoke(args)
    assert result.exit_code == BAD_INPUT, f"{case}: exit {result.exit_code}\n{result.output}"
    value = pool["fill"]([case.value])[0]
    named = [case.flag] if case.flag else []
    named += [value.strip(), Path(value).name] if value.strip() else []
    assert any(n and n in result.output for n in named) or (case.param == "reason" and "理由" in result.output) \
        or (case.param == "name" and "name" in result.output), f"{case}: the message names neither:\n{result.output}"


#: commands that never open a store
STORELESS = {("generate",)}


@pytest.mark.parametrize("words", sorted(BASE), ids=" ".join)
def test_a_mistyped_db_is_bad_input_naming_it_and_creates_nothing(pool, tmp_path, words):
    """Each command's base invocation on a --db that does not exist: bad input naming the path,
    and no store made — a writing command creates one only when asked (--create), which the base
    invocations do not do (tests/test_store_creation.py covers --create)."""
    typo = tmp_path / "poool.sqlite3"
    result = invoke(["--db", str(typo), *pool["fill"]([*words, *BASE[words]])])
    assert not list(tmp_path.glob("poool*")), f"{' '.join(words)} created the store"
    if words in STORELESS:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == BAD_INPUT and str(typo) in result.output, result.output


#: search values outside an option's vocabulary that still mean something: any status (全部), an
#: institution under another of its names, an honour kept as written
SEARCH_WIDENINGS = [["--status", "全部"], ["--status", "全部", "--status", "出库"], ["--institution", "川大"],
                    ["--honour", "天府青城计划"], ["--status", "全部", "--institution", "四川大学华西医院"]]


@pytest.mark.parametrize("extra", SEARCH_WIDENINGS, ids=" ".join)
def test_search_values_that_widen_the_filter_succeed(pool, extra):
    result = invoke(["search", "电池", *extra, "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert set(document) == {"words", "unmatched", "hits"}


@pytest.mark.parametrize("args, named", [
    (["search", "电池", "--status", "全部", "--status", "不存在的取值"], "不存在的取值"),
    (["search", "基于 研究"], "基于 研究"),  # only stop words: nothing left to search for
], ids=["status", "stop-words-only"])
def test_search_refusals_are_bad_input_naming_the_value(pool, args, named):
    result = invoke(args)
    assert result.exit_code == BAD_INPUT and named in result.output, result.output


def test_a_global_option_out_of_its_vocabulary_is_bad_input(pool):
    result = invoke(["--backend", "bogus", "stats"])
    assert result.exit_code == BAD_INPUT and "--backend" in result.output


# ---- one damaged row in the store: exit 5, naming the table and the id ----
def damage(path: Path, statement: str, *params) -> None:
    sql(path, statement, params)


@pytest.mark.parametrize("args", [
    ["stats"], ["show", "SC-000001"], ["search", "--region", "四川", "--limit", "200"],
    ["panel", "build", "--spec", "{samples}/panel.toml", "--mode", "best", "--dry-run"],
    ["coi", "check", "--project", "2026YFG0001", "--review-date", "2026-12-01"], ["index", "rebuild"],
], ids=lambda a: " ".join(a[:2]))
def test_a_damaged_expert_row_is_a_storage_failure_naming_table_and_id(pool, args):
    damage(pool["path"], "UPDATE experts SET doc = substr(doc, 1, 40) WHERE id = 'SC-000001'")
    result = invoke(pool["fill"](args))
    assert result.exit_code == 5, result.output
    assert "experts" in result.output and "SC-000001" in result.output and "已损坏" in result.output


@pytest.mark.parametrize("doc", ["not json", '{"id": "CX-2018-0001"}'], ids=["not-json", "not-a-record"])
def test_a_damaged_integrity_row_is_a_storage_failure_naming_table_and_id(pool, doc):
    damage(pool["path"], "UPDATE integrity SET doc = ? WHERE id = 'CX-2018-0001'", doc)
    for args in (["integrity", "list"], ["integrity", "show", "CX-2018-0001"], ["show", "CQ-000053"]):
        result = invoke(args)
        assert result.exit_code == 5, result.output
        assert "integrity" in result.output and "CX-2018-0001" in result.output, result.output


@pytest.mark.parametrize("kind,doc", [
    ("relation", "not json"), ("relation", '{"expert_id": "SC-000001"}'),
    ("relation", '{"expert_id": "SC-000001", "other": {"name": "某人"}, "kind": "朋友"}'),
    ("affiliation", '{"expert_id": "SC-000001", "institution": "四川大学", "start_year": "二〇一九"}'),
    ("history", '{"expert_id": "SC-000001", "activity": "项目评审", "date": "2026-13-01"}'),
], ids=["relation-not-json", "relation-not-a-record", "relation-unknown-kind", "affiliation-year", "history-date"])
def test_a_damaged_record_row_is_a_storage_failure_naming_table_and_key(pool, kind, doc):
    """The pool snapshot reads a few fields of each record rather than the whole record: a record
    damaged outside the tool is still named, not half-read or skipped."""
    import sqlite3
    from contextlib import closing

    with closing(sqlite3.connect(pool["path"])) as db:
        key = db.execute("SELECT key FROM records WHERE kind = ? ORDER BY key LIMIT 1", (kind,)).fetchone()[0]
    damage(pool["path"], "UPDATE records SET doc = ? WHERE kind = ? AND key = ?", doc, kind, key)
    for args in (["panel", "build", "--spec", "{samples}/panel.toml", "--mode", "best", "--dry-run"],
                 ["coi", "check", "--project", "2026YFG0001", "--review-date", "2026-12-01"]):
        result = invoke(pool["fill"](args))
        assert result.exit_code == 5, result.output
        assert f"records（{kind}）" in result.output and key in result.output and "已损坏" in result.output


def test_damaged_panel_and_audit_rows_name_theirs(pool, template):
    damage(pool["path"], "UPDATE panels SET doc = '{' WHERE id = ?", template["panel"])
    result = invoke(["panel", "show", template["panel"]])
    assert result.exit_code == 5 and "panels" in result.output and template["panel"] in result.output
    damage(pool["path"], "UPDATE audit SET doc = '[]' WHERE seq = (SELECT max(seq) FROM audit)")
    result = invoke(["roles", "grant", "zhao", "reviewer"])  # every write appends to the damaged tail
    assert result.exit_code == 5 and "audit" in result.output, result.output


# ---- text that could carry control characters is stored without them ----
def test_control_characters_in_flag_values_are_never_stored(pool):
    result = invoke(["integrity", "add", "SC-000001", "--category", "抄袭剽窃", "--severity", "一般",
                     "--start", "2026-01-01", "--issuer", "四川\x00省科学技术厅\x1b[31m", "--doc-no", "川科\u202e〔2026〕1号",
                     "--reason", "依据\x07处理决定", "--json"])
    assert result.exit_code == 0, result.output
    store = SQLiteStore(pool["path"])
    try:
        record = store.get_integrity(json.loads(result.stdout)["record"]["id"])
        entry = list(store.iter_audit())[-1]
    finally:
        store.close()
    assert (record.issuer, record.document_no, entry.reason) == ("四川省科学技术厅[31m", "川科〔2026〕1号", "依据处理决定")
