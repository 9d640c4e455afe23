"""Small builders shared by the importer, search and CLI tests."""
from __future__ import annotations

import csv
import json
from pathlib import Path

from expertpool.domain.text import id_check_char

EXPERT_HEADERS = ["专家编号", "姓名", "性别", "出生年份", "所在地区", "市州/区县", "工作单位", "部门", "职称",
                  "人才称号", "专业领域", "学科", "研究方向", "关键词", "手机", "邮箱", "证件号码", "状态"]


def id_number(region_code: str = "510104", birth: str = "19700101", seq: str = "001") -> str:
    """A valid 18-character identity number (correct MOD 11-2 check character)."""
    first17 = f"{region_code}{birth}{seq}"
    assert len(first17) == 17
    return first17 + id_check_char(first17)


def expert_row(**overrides) -> dict[str, str]:
    row = {
        "专家编号": "000001", "姓名": "张伟", "性别": "男", "出生年份": "1970", "所在地区": "四川",
        "市州/区县": "成都", "工作单位": "四川大学", "部门": "材料科学与工程学院", "职称": "教授",
        "人才称号": "长江学者", "专业领域": "新材料；先进制造", "学科": "材料科学与工程",
        "研究方向": "钒钛新材料的制备与性能研究", "关键词": "钒钛新材料、高熵合金", "手机": "13800000001",
        "邮箱": "zhangwei@scu.edu.cn", "证件号码": id_number(), "状态": "在库",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict], encoding: str = "utf-8", headers: list[str] | None = None) -> Path:
    headers = headers or EXPERT_HEADERS
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(headers)
        for row in rows:
            writer.writerow([row.get(h, "") for h in headers])
    return path


def write_xlsx(path: Path, rows: list[dict], headers: list[str] | None = None) -> Path:
    from openpyxl import Workbook

    headers = headers or EXPERT_HEADERS
    wb = Workbook()
    ws = wb.active
    ws.append(headers)
    for row in rows:
        ws.append([row.get(h, "") for h in headers])
    wb.save(path)
    return path


def write_jsonl(path: Path, objects: list[dict]) -> Path:
    path.write_text("".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objects), encoding="utf-8")
    return path


class SecureNode:
    """A security-enabled Elasticsearch node: its URL and the file-realm users' passwords."""

    def __init__(self, url: str, passwords: dict[str, str]):
        self.url = url
        self.passwords = passwords

    @classmethod
    def from_file(cls, url: str, users: Path) -> "SecureNode":
        lines = users.read_text(encoding="utf-8").splitlines()
        return cls(url, dict(line.split(":", 1) for line in lines if ":" in line))

    def env(self, user: str, prefix: str) -> dict[str, str]:
        """Environment for the CLI connecting as `user` to the store with index prefix `prefix`."""
        return {"EXPERTPOOL_BACKEND": "elasticsearch", "EXPERTPOOL_ES_URL": self.url, "EXPERTPOOL_ES_PREFIX": prefix,
                "EXPERTPOOL_ES_USER": user, "EXPERTPOOL_ES_PASSWORD": self.passwords[user]}

    def config(self, user: str, prefix: str):
        from expertpool.config import StoreConfig

        return StoreConfig(backend="elasticsearch", es_url=self.url, es_index_prefix=prefix, es_username=user,
                           es_password=self.passwords[user])
