"""Expert numbers as users write them, and the one rule that turns a written number into an expert.

An expert's canonical id is the 专家编号 of the list it first came from, as written (half-width,
trimmed): `SC000225`, `100234`, `CQ2020-0017`, `川专-0123`, the generator's `SC-000001`. Only when
that number already belongs to someone else (the other province numbers a different person the
same way) is the newcomer's id qualified by its list: `重庆:100234`. A person found in both lists
(same identity number) keeps one id and answers to both lists' numbers (`Expert.source_ids`).

`resolve` is the rule every import file and command goes through. Numbers match after folding
(full-width → half-width, whitespace removed, ASCII upper-cased); a number of digits only that
matches nothing also matches the same digits with other leading zeros (a spreadsheet cell stored
as a number loses them), when that names one expert. A number that names experts of both lists
is ambiguous: the caller is told which, and asked for the list (`四川:100234`, or `--source`).

Stores made before this scheme (ids `SC-<number>` / `CQ-<number>` for every list) are read with
`legacy=True`: a number not found as such is looked up with that prefix too.

Pure: the look-up of experts by key is passed in (`Directory`), from memory or from a store.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from expertpool.domain import taxonomy
from expertpool.domain.models import Expert
from expertpool.domain.text import clean, to_halfwidth

_QUALIFIED = re.compile(r"^\s*([^:：]{1,12}?)\s*[:：]\s*(\S.*)$")
#: the meta key a store made under this scheme carries (see `legacy`)
SCHEME_KEY = "expert_id_scheme"
SCHEME = "2"


def written_number(value: object) -> str:
    """The number as stored and shown: half-width, trimmed, inner whitespace collapsed."""
    return clean(value)


def number_key(value: str) -> str:
    """Key for matching a written number: half-width, no whitespace, letters upper-cased."""
    return "".join(to_halfwidth(value).split()).upper()


def digits_key(key: str) -> str | None:
    """For a key of digits only, the key that ignores leading zeros (`#225` for `000225`)."""
    return f"#{key.lstrip('0') or '0'}" if key.isdigit() else None


def expert_keys(expert: Expert) -> set[str]:
    """Every key the expert answers to: its id and each list's number, with their digits keys."""
    keys = {number_key(expert.id)}
    keys.update(number_key(n) for n in expert.source_ids.values() if n != expert.id)
    for key in list(keys):
        if key.isdigit():
            keys.add(f"#{key.lstrip('0') or '0'}")
    return keys


def legacy_number(region: str, number: str) -> str:
    """The id an older store gave `number` of `region`'s list (`SC-` / `CQ-` in front, once)."""
    code = taxonomy.REGION_CODES[region]
    upper = number.upper()
    if any(upper.startswith(prefix + "-") for prefix in taxonomy.REGION_CODES.values()):
        return upper
    return f"{code}-{number}"


def qualified(region: str, number: str) -> str:
    return f"{region}:{number}"


def parse_reference(text: str) -> tuple[str | None, str]:
    """(list, number) of `四川:SC000225` / `渝：100234`; (None, text) when not qualified by a list."""
    if ":" not in text and "：" not in text:
        return None, written_number(text)
    match = _QUALIFIED.match(text)
    if match:
        try:
            return taxonomy.normalise_region(match.group(1)), written_number(match.group(2))
        except taxonomy.UnknownValue:
            pass
    return None, written_number(text)


class Directory(Protocol):
    """Experts by key (`expert_keys`): from memory during an import, from the store otherwise."""

    def lookup(self, keys: Sequence[str]) -> list[Expert]: ...


class UnknownExpert(LookupError):
    def __init__(self, text: str, region: str | None = None):
        self.text = text
        self.region = region
        where = f"{region}名单中" if region else "专家库中"
        super().__init__(f"专家编号「{text}」不在{where}")


class AmbiguousExpert(LookupError):
    """The number names more than one expert; `choices` are (qualified number, name, institution)."""

    def __init__(self, text: str, choices: list[tuple[str, str, str]]):
        self.text = text
        self.choices = choices
        listed = "；".join(f"{q}（{name}，{inst}）" for q, name, inst in choices)
        super().__init__(f"专家编号「{text}」同时属于 {len(choices)} 位专家：{listed}")

    def hint(self, for_file: bool) -> str:
        forms = " 或 ".join(q for q, _, _ in self.choices)
        regions = sorted({q.split(":", 1)[0] for q, _, _ in self.choices if ":" in q})
        if for_file and regions:
            return f"{self}。请用 --source {' 或 --source '.join(regions)} 指明本文件所属名单，或写成 {forms}"
        return f"{self}。请写成 {forms}（名单:编号）或写专家的库内编号"


def _in_list(experts: Iterable[Expert], region: str, key: str) -> list[Expert]:
    return [e for e in experts if region in e.source_ids and number_key(e.source_ids[region]) == key]


def _distinct(experts: Iterable[Expert]) -> list[Expert]:
    return list({e.id: e for e in experts}.values())


def _choices(experts: list[Expert], key: str) -> list[tuple[str, str, str]]:
    out = []
    for e in sorted(experts, key=lambda e: e.id):
        region = next((r for r, n in e.source_ids.items() if number_key(n) == key), None)
        if region is None and number_key(e.id) != key:  # matched on another spelling (zeros, legacy)
            region = next(iter(e.source_ids), None)
        number = e.source_ids.get(region, e.id) if region else e.id
        out.append((qualified(region, number) if region else e.id, e.name, e.institution))
    return out


def resolve(directory: Directory, text: str, *, region: str | None = None, legacy: bool = False) -> str:
    """The canonical id of the expert `text` names; raises UnknownExpert or AmbiguousExpert.

    `text` may be qualified (`四川:SC000225`); otherwise `region` (a file's `--source`) says which
    list's numbers are meant first. Never guesses between two experts."""
    explicit, number = parse_reference(text)
    wanted = explicit or region
    key = number_key(number)
    if not key:
        raise UnknownExpert(text, wanted)
    keys = [key]
    if explicit:
        keys.append(number_key(text))  # a canonical id of the form 重庆:100234
    if legacy and wanted:
        keys.append(number_key(legacy_number(wanted, number)))
    elif legacy:
        keys += [number_key(legacy_number(r, number)) for r in taxonomy.REGIONS]
    found = _distinct(directory.lookup(keys))
    if wanted:
        listed = _distinct(_in_list(found, wanted, key)) or (
            _distinct(_in_list(found, wanted, number_key(legacy_number(wanted, number)))) if legacy else [])
        if len(listed) == 1:
            return listed[0].id
        if len(listed) > 1:
            raise AmbiguousExpert(text, _choices(listed, key))
        if explicit:
            exact = [e for e in found if number_key(e.id) == number_key(text)]
            if len(exact) == 1:  # a canonical id that looks qualified (重庆:100234)
                return exact[0].id
            raise UnknownExpert(number, explicit)
    exact = [e for e in found if number_key(e.id) == key or key in {number_key(n) for n in e.source_ids.values()}]
    if not exact and legacy:
        exact = found
    if len(exact) == 1:
        return exact[0].id
    if len(exact) > 1:
        raise AmbiguousExpert(text, _choices(exact, key))
    loose = digits_key(key)
    if loose:
        zeros = _distinct(directory.lookup([loose]))
        if len(zeros) == 1:
            return zeros[0].id
        if len(zeros) > 1:
            raise AmbiguousExpert(text, _choices(zeros, key))
    raise UnknownExpert(text, explicit)


def lookup_keys(text: str) -> set[str]:
    """Every key `resolve(…, text)` may look up (to fetch them from a store in one go)."""
    region, number = parse_reference(text)
    key = number_key(number)
    keys = {key, number_key(text)}
    keys.update(number_key(legacy_number(r, number)) for r in taxonomy.REGIONS)
    loose = digits_key(key)
    if loose:
        keys.add(loose)
    return {k for k in keys if k}


class MemoryDirectory:
    """A `Directory` over experts held in memory; follows `add` (an import's accepted experts)."""

    def __init__(self, experts: Iterable[Expert] = ()):
        self.by_id: dict[str, Expert] = {}
        self._by_key: dict[str, set[str]] = {}
        self._keys: dict[str, set[str]] = {}
        for expert in experts:
            self.add(expert)

    def add(self, expert: Expert) -> None:
        for key in self._keys.get(expert.id, ()):
            self._by_key[key].discard(expert.id)
        keys = expert_keys(expert)
        self._keys[expert.id] = keys
        self.by_id[expert.id] = expert
        for key in keys:
            self._by_key.setdefault(key, set()).add(expert.id)

    def lookup(self, keys: Sequence[str]) -> list[Expert]:
        ids: set[str] = set()
        for key in keys:
            found = self._by_key.get(key)
            if found:
                ids |= found
        return [self.by_id[i] for i in (sorted(ids) if len(ids) > 1 else ids)]

    def taken(self, key: str) -> bool:
        """Whether some expert answers to this key exactly."""
        return bool(self._by_key.get(key))

    def in_list(self, region: str, number: str, legacy: bool = False, key: str | None = None) -> list[Expert]:
        """The experts `region`'s list numbers `number` (one, unless the store holds a conflict);
        `key`: its `number_key`, when the caller has it."""
        key = key or number_key(number)
        ids = self._by_key.get(key)
        found = _in_list([self.by_id[i] for i in ids], region, key) if ids else []
        if not found and legacy:
            old = number_key(legacy_number(region, number))
            found = _in_list(self.lookup([old]), region, old)
        return found
