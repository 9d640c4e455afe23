"""Institution names → legal units (法人单位), through the maintained alias table.

Pure: the table is data passed in (`io.datafiles.load_institutions` reads
`indexes/institutions.toml`); nothing here reads files.

How a name is normalised (`InstitutionTable.normalise`):
1. Cleaned: half-width, trimmed, inner whitespace collapsed. Empty and placeholder values
   (无, 不详, 个人 …) give None: no institution, which never matches anything.
2. An e-mail address or a bare domain (qq.com, 163.com, gmail.com, scu.edu.cn …) gives None:
   an e-mail domain is never evidence of affiliation, so two webmail users are never merged.
3. Exact match (after width folding, whitespace removal and ASCII lower-casing) against every
   legal unit's full name, short names (`aliases`), former names (`former`) and sub-units
   (`units`: affiliated hospitals, institutes, campuses) → that legal unit.
4. A full name, former name or sub-unit followed by a department (四川大学计算机学院,
   四川大学华西医院心内科, 重庆大学/材料学院) → that legal unit. Short names never take part in
   this prefix rule, so 重大装备公司 is not 重庆大学 and 川大附中 is not 四川大学. A separately
   registered unit whose name begins with another unit's name (an independent college) belongs in
   the table under its own name; exact matches win over the prefix rule.
5. Anything else is its own legal unit, under its cleaned name: never fuzzy-merged.

Two units compare equal when their `unit_key` (width-folded, whitespace-free, lower-cased
name) is equal.

Sector (单位类型, one of `SECTORS`): a legal unit the table lists has its `kind`; any other unit
is classified by the table's `sector_rule`s, the first rule with a word the unit's name contains
(公司 → 企业, 医院 → 医院, 研究所 → 科研院所, 大学 → 高校, 局 → 政府机关 …), else 其他.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from expertpool.domain.text import clean, fold

# Values that say "no institution".
_PLACEHOLDERS = frozenset(fold(v) for v in (
    "无", "暂无", "没有", "不详", "未知", "待定", "个人", "自由职业", "退休", "-", "--", "—", "/", "n/a", "na",
    "none", "null", "unknown",
))
# An e-mail address, or a host name ending in a top-level domain (qq.com, mail.scu.edu.cn).
_ADDRESS = re.compile(r"@|^(?:https?://)?(?:www\.)?(?:[a-z0-9-]+\.)+"
                      r"(?:[a-z]{2}|com|net|org|edu|gov|mil|int|info|biz|top|xyz|site|vip)/?$")
# What may follow a unit's name in "unit + department" (step 4 of the module docstring).
_DEPARTMENT = re.compile(
    r"(学院|学部|系|所|研究所|研究院|医院|中心|实验室|研究室|教研室|校区|分校|分院|科|部|处|室|办|站|馆|组|基地|平台)$")
_MISSING = object()
_SEPARATORS = re.compile(r"[/|｜·•,，;；:：\-—–()（）\[\]【】]")


class InstitutionTableError(ValueError):
    """The alias table is inconsistent (e.g. one short name claimed by two legal units).
    `key` names the entry, for the message."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


#: the sectors (单位类型) a legal unit belongs to
SECTORS: tuple[str, ...] = ("高校", "科研院所", "企业", "医院", "政府机关", "其他")
OTHER_SECTOR = "其他"


@dataclass(frozen=True)
class Institution:
    """One legal unit and the names it appears under."""
    name: str
    aliases: tuple[str, ...] = ()
    former: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    parent: str | None = None
    region: str | None = None
    kind: str | None = None        # its sector, one of SECTORS


@dataclass(frozen=True)
class SectorRule:
    """Units not in the table whose name contains one of `words` belong to `sector`."""
    sector: str
    words: tuple[str, ...]


def unit_key(name: str) -> str:
    """Identity of a (normalised) unit name: two names are one unit when their keys are equal."""
    return fold(name)


class InstitutionTable:
    """Lookup from any name of a legal unit to the unit. Build with `InstitutionTable(entries)` or
    `InstitutionTable.from_mapping(parsed_toml)`; raises `InstitutionTableError` when one name is
    claimed by two legal units."""

    def __init__(self, institutions: Iterable[Institution] = (), sector_rules: Iterable[SectorRule] = ()):
        self.institutions: tuple[Institution, ...] = tuple(institutions)
        self.sector_rules: tuple[SectorRule, ...] = tuple(sector_rules)
        self._sector_cache: dict[str, str] = {}
        self._exact: dict[str, str] = {}
        self._prefixes: list[tuple[str, str]] = []
        self._by_name: dict[str, Institution] = {}
        self._full_keys: frozenset[str] = frozenset()
        self._cache: dict[str, str | None] = {}
        self._index()

    def __repr__(self) -> str:
        return f"InstitutionTable({len(self.institutions)} legal units)"

    def _index(self) -> None:
        claimed: dict[str, str] = {}  # folded name → legal unit
        prefixes: dict[str, str] = {}
        for inst in self.institutions:
            if not clean(inst.name):
                raise InstitutionTableError("institution", "name 为空")
            legal = clean(inst.name)
            if unit_key(legal) in self._by_name:
                raise InstitutionTableError(legal, "法人单位重复出现")
            if inst.kind is not None and inst.kind not in SECTORS:
                raise InstitutionTableError(f"{legal}.kind", f"「{inst.kind}」不是单位类型；可选：{'、'.join(SECTORS)}")
            self._by_name[unit_key(legal)] = inst
            groups = (("name", (legal,)), ("aliases", inst.aliases), ("former", inst.former), ("units", inst.units))
            for group, names in groups:
                for raw in names:
                    key = fold(clean(raw))
                    if not key:
                        continue
                    owner = claimed.get(key)
                    if owner is not None and owner != legal:
                        raise InstitutionTableError(
                            f"{legal}.{group}", f"「{clean(raw)}」已是「{owner}」的名称；同一名称不能指向两个法人单位")
                    claimed[key] = legal
                    if group != "aliases":
                        prefixes[key] = legal
        self._exact = claimed
        self._full_keys = frozenset(prefixes)
        # Longest first, so 四川大学华西医院… matches the sub-unit before the university.
        self._prefixes = sorted(prefixes.items(), key=lambda kv: -len(kv[0]))

    @classmethod
    def from_mapping(cls, data: Mapping) -> "InstitutionTable":
        """From the parsed `institutions.toml` ({"institution": [{name, aliases, former, units, parent,
        region, kind, …}], "sector_rule": [{sector, words}]}). Keys this module does not use
        (weight …) are left to other readers."""
        entries = data.get("institution", [])
        if not isinstance(entries, list):
            raise InstitutionTableError("institution", "应为 [[institution]] 表数组")
        out = []
        for number, entry in enumerate(entries, start=1):
            where = f"institution[{number}]"
            if not isinstance(entry, Mapping) or not isinstance(entry.get("name"), str):
                raise InstitutionTableError(where, "缺少 name")
            lists = {}
            for key in ("aliases", "former", "units"):
                value = entry.get(key, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise InstitutionTableError(f"{where}.{key}", "应为字符串数组")
                lists[key] = tuple(value)
            parent = entry.get("parent")
            if parent is not None and not isinstance(parent, str):
                raise InstitutionTableError(f"{where}.parent", "应为字符串")
            kind = entry.get("kind")
            if kind is not None and not isinstance(kind, str):
                raise InstitutionTableError(f"{where}.kind", "应为字符串")
            out.append(Institution(name=entry["name"], parent=clean(parent) or None,
                                   region=entry.get("region"), kind=kind, **lists))
        rules = []
        for number, entry in enumerate(data.get("sector_rule", []), start=1):
            where = f"sector_rule[{number}]"
            if not isinstance(entry, Mapping) or entry.get("sector") not in SECTORS:
                raise InstitutionTableError(f"{where}.sector", f"应为 {'、'.join(SECTORS)} 之一")
            words = entry.get("words")
            if not isinstance(words, list) or not words or not all(isinstance(w, str) and w for w in words):
                raise InstitutionTableError(f"{where}.words", "应为非空字符串数组")
            rules.append(SectorRule(entry["sector"], tuple(fold(w) for w in words)))
        return cls(tuple(out), tuple(rules))

    # ---- look-ups ----
    def normalise(self, raw: object) -> str | None:
        """The legal unit for an institution name, or None when the value names no institution.
        See the module docstring for the exact steps."""
        if isinstance(raw, str):
            found = self._cache.get(raw, _MISSING)
            if found is _MISSING:
                if len(self._cache) > 200_000:
                    self._cache.clear()
                found = self._cache[raw] = self._normalise(raw)
            return found  # type: ignore[return-value]
        return self._normalise(raw)

    def _normalise(self, raw: object) -> str | None:
        text = clean(raw)
        key = fold(text)
        if not key or key in _PLACEHOLDERS or _ADDRESS.search(key):
            return None
        found = self._exact.get(key)
        if found is not None:
            return found
        found = self._unit_with_department(key)
        if found is not None:
            return found
        # "四川大学（华西医院）", "重庆大学/材料学院": the part before a separator, if it is known.
        head = _SEPARATORS.split(key, maxsplit=1)[0]
        if head and head != key:
            found = self._exact.get(head) if head in self._full_keys else None
            if found is not None:
                return found
            found = self._unit_with_department(head)
            if found is not None:
                return found
        return text

    def _unit_with_department(self, key: str) -> str | None:
        for prefix, legal in self._prefixes:
            if key.startswith(prefix) and len(key) > len(prefix) and _DEPARTMENT.search(key[len(prefix):]):
                return legal
        return None

    def key(self, raw: object) -> str | None:
        """`unit_key` of the normalised name (None when the value names no institution)."""
        name = self.normalise(raw)
        return None if name is None else unit_key(name)

    def get(self, legal_name: str) -> Institution | None:
        """The table's entry for a legal unit (None for units the table does not know)."""
        return self._by_name.get(unit_key(legal_name))

    def is_known(self, raw: object) -> bool:
        name = self.normalise(raw)
        return name is not None and unit_key(name) in self._by_name

    def parent(self, legal_name: str) -> str | None:
        inst = self.get(legal_name)
        return inst.parent if inst else None

    def sector(self, legal_name: str) -> str:
        """The sector of a legal unit (a normalised name): the table's kind, else the first
        sector rule whose word the name contains, else 其他."""
        found = self._sector_cache.get(legal_name)
        if found is None:
            inst = self.get(legal_name)
            if inst is not None and inst.kind:
                found = inst.kind
            else:
                key = fold(legal_name)
                found = next((r.sector for r in self.sector_rules if any(w in key for w in r.words)), OTHER_SECTOR)
            self._sector_cache[legal_name] = found
        return found

    def __len__(self) -> int:
        return len(self.institutions)
