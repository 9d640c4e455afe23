"""Resolve the expert numbers users type or write in files: the one place every command and
import goes through (`domain.expert_ids.resolve` decides; this module asks the store)."""
from __future__ import annotations

from collections.abc import Sequence

from expertpool.domain import expert_ids
from expertpool.domain.models import Expert
from expertpool.errors import InputError, NotFound
from expertpool.stores.base import ExpertStore


class StoreDirectory:
    """`expert_ids.Directory` over a store's `find_experts` (one query per look-up)."""

    def __init__(self, store: ExpertStore):
        self.store = store

    def lookup(self, keys: Sequence[str]) -> list[Expert]:
        return self.store.find_experts(keys)


def prefetched(store: ExpertStore, texts) -> expert_ids.MemoryDirectory:
    """A directory holding every expert that resolving any of `texts` may need, read with one
    query per 500 keys (a file's references, rather than one query each)."""
    keys = sorted({k for text in texts for k in expert_ids.lookup_keys(expert_ids.written_number(text))})
    experts: list[Expert] = []
    for start in range(0, len(keys), 500):
        experts.extend(store.find_experts(keys[start:start + 500]))
    return expert_ids.MemoryDirectory(experts)


def is_legacy(store: ExpertStore) -> bool:
    """A store whose experts were numbered `SC-<number>`/`CQ-<number>` (before the scheme of
    `domain.expert_ids`): numbers are also looked up with that prefix."""
    return store.get_meta(expert_ids.SCHEME_KEY) != expert_ids.SCHEME


def resolve_expert_id(store: ExpertStore, text: str | None, option: str = "EXPERT_ID") -> str:
    """The canonical id of the expert `text` names (its id, either list's number, `四川:SC000225`).
    NotFound when none does; InputError naming `option` when the number is ambiguous."""
    value = expert_ids.written_number(text)
    if not value:
        raise InputError(f"{option}: 请给出专家编号")
    try:
        return expert_ids.resolve(StoreDirectory(store), value, legacy=is_legacy(store))
    except expert_ids.UnknownExpert as exc:
        raise NotFound(f"{option}: {exc}（可用 expertpool search 查找专家）") from None
    except expert_ids.AmbiguousExpert as exc:
        raise InputError(f"{option}: {exc.hint(for_file=False)}") from None


def get_expert(store: ExpertStore, text: str, option: str = "EXPERT_ID") -> Expert:
    expert = store.get_expert(resolve_expert_id(store, text, option))
    if expert is None:  # removed between the two reads
        raise NotFound(f"{option}: 专家「{text}」不存在")
    return expert
