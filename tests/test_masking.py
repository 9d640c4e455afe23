"""Identity and phone numbers never appear in messages, reject reasons, `--json` or reject files,
even when a misaligned row puts them in another column."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.domain.text import mask_personal
from tests.helpers import EXPERT_HEADERS, expert_row, id_number, write_jsonl, write_xlsx

runner = CliRunner()
NUMBER = id_number("510104", "19700312", "271")
OLD_NUMBER = "510104700312271"          # the old 15-digit form
PHONE = "13912345678"


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("EXPERTPOOL_DB", str(tmp_path / "pool.sqlite3"))
    monkeypatch.setenv("EXPERTPOOL_USER", "admin")
    return tmp_path


def _misaligned_csv(path):
    """Rows as real exports break: an unquoted comma shifts cells right, numbers land in 邮箱,
    状态, 手机, and a cell past the last header."""
    good = expert_row(专家编号="000001")
    lines = [",".join(EXPERT_HEADERS)]
    values = [good[h] for h in EXPERT_HEADERS]
    shifted = values[:6] + ["四川大学", "华西医院", "肿瘤中心"] + values[7:]  # 工作单位 with two commas:
    lines.append(",".join(shifted).replace("000001", "000002"))        # 证件号码 moves past the last header
    for column, value, number in (("邮箱", NUMBER, "000003"), ("状态", NUMBER, "000004"), ("手机", NUMBER, "000005"),
                                  ("邮箱", PHONE, "000006"), ("状态", OLD_NUMBER, "000007"),
                                  ("证件号码", f"{NUMBER[:17]}0", "000008")):
        row = expert_row(**{"专家编号": number, "证件号码": "", column: value})
        lines.append(",".join(row[h] for h in EXPERT_HEADERS))
    lines.append(",".join([NUMBER] + values[1:10] + ["量子玄学"] + values[11:16] + ["", ""]))  # in 专家编号
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _assert_clean(text: str) -> None:
    for secret in (NUMBER, OLD_NUMBER, PHONE, NUMBER[:17]):
        assert secret not in text, (secret, text)


def test_misaligned_rows_never_echo_identity_or_phone_numbers(env):
    path = _misaligned_csv(env / "broken.csv")
    shown = runner.invoke(app, ["import", "--create", str(path)], terminal_width=400)
    assert shown.exit_code == 1
    as_json = runner.invoke(app, ["import", str(path), "--json", "--dry-run"])
    report = json.loads(as_json.stdout)
    assert report["totals"]["rejected"] == 8, report["rejects"]
    rejects_file = (env / "broken.csv.rejects.csv").read_text(encoding="utf-8-sig")
    for text in (shown.output, as_json.output, rejects_file):
        _assert_clean(text)
    # The reasons still say what is wrong and where, with the number masked.
    by_row = {r["row"]: r for r in report["rejects"]}
    assert "[证件号码已隐去]" in by_row[3]["reason"] and by_row[3]["column"] == "邮箱"
    assert "139****5678" in by_row[6]["reason"]
    assert "[证件号码已隐去]" in rejects_file and "多出" in rejects_file


def test_xlsx_and_jsonl_rows_are_masked_too(env):
    xlsx = write_xlsx(env / "cq.xlsx", [expert_row(专家编号="000010", 所在地区="重庆", 邮箱=NUMBER, 证件号码="")])
    jsonl = write_jsonl(env / "x.jsonl", [{"id": "SC-1", "name": "王芳", "region": "四川", "institution": "四川大学",
                                           "title": "研究员", "fields": ["AI"], "status": f"{PHONE} {NUMBER}"}])
    result = runner.invoke(app, ["import", "--create", str(xlsx), str(jsonl), "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["totals"]["rejected"] == 2
    _assert_clean(result.output)
    _assert_clean((env / "cq.xlsx.rejects.csv").read_text(encoding="utf-8-sig"))
    _assert_clean((env / "x.jsonl.rejects.csv").read_text(encoding="utf-8-sig"))


def test_error_messages_of_any_command_are_masked(env):
    assert runner.invoke(app, ["roles", "grant", "admin", "reviewer", "--create"]).exit_code == 0
    result = runner.invoke(app, ["show", NUMBER])
    assert result.exit_code != 0
    _assert_clean(result.output)
    result = runner.invoke(app, ["panel", "build", "--projects", f"{PHONE}"])
    assert result.exit_code != 0
    _assert_clean(result.output)


@pytest.mark.parametrize("text, expected", [
    (f"「{NUMBER}」", "「[证件号码已隐去]」"),
    (f"x {NUMBER.lower()[:17]}x y", "x [证件号码已隐去] y"),
    (f"{NUMBER[:6]} {NUMBER[6:14]} {NUMBER[14:]}", "[证件号码已隐去]"),
    (OLD_NUMBER, "[证件号码已隐去]"),
    (f"{PHONE}，+86{PHONE}，028-85401234", "139****5678，+86****5678，028****1234"),
    ("第 12 行：出生年份 1970，专家编号 SC-000001，2024-03-05", "第 12 行：出生年份 1970，专家编号 SC-000001，2024-03-05"),
    ("99999999999999999999", "99999999999999999999"),  # not shaped like either: a count, an id, a typo
])
def test_mask_personal(text, expected):
    assert mask_personal(text) == expected
