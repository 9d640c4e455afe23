"""Contract: experts are found by the numbers they answer to (`find_experts`, `get_expert`)."""
from __future__ import annotations

from expertpool.domain.expert_ids import expert_keys, number_key
from tests.factories import make_expert


def _ids(experts):
    return [e.id for e in experts]


def test_find_by_id_by_either_lists_number_and_by_digits(store):
    merged = make_expert("100234", source_ids={"四川": "100234", "重庆": "CQ2020-0017"})
    other = make_expert("重庆:100234", name="李四", region="重庆", source_ids={"重庆": "100234"})
    zeros = make_expert("000045", name="王五", source_ids={"四川": "000045"})
    store.upsert_experts([merged, other, zeros])
    assert _ids(store.find_experts([number_key("cq2020-0017")])) == ["100234"]
    assert _ids(store.find_experts([number_key("100234")])) == ["100234", "重庆:100234"]
    assert _ids(store.find_experts(["#45"])) == ["000045"]
    assert _ids(store.find_experts([number_key("重庆:100234"), number_key("000045")])) == ["000045", "重庆:100234"]
    assert store.find_experts([number_key("SC999")]) == [] and store.find_experts([]) == []
    # get_expert: the id first; a number only when it names one expert
    assert store.get_expert("100234").id == "100234"
    assert store.get_expert("CQ2020-0017").id == "100234"
    assert store.get_expert("重庆:100234").name == "李四"


def test_keys_follow_an_update_of_the_numbers(store):
    expert = make_expert("SC000225", source_ids={"四川": "SC000225", "重庆": "CQ000001"})
    store.upsert_experts([expert])
    store.upsert_experts([expert.model_copy(update={"source_ids": {"四川": "SC000225"}})])
    assert store.find_experts([number_key("CQ000001")]) == []
    assert _ids(store.find_experts(sorted(expert_keys(expert)))) == ["SC000225"]


def test_many_experts_under_one_key_list_are_all_found(harness, store):
    harness.shrink_pages(store, 7)
    experts = [make_expert(f"{i:06d}", name=f"专家{i}", source_ids={"四川": f"{i:06d}"}) for i in range(1, 30)]
    store.upsert_experts(experts)
    assert _ids(store.find_experts([number_key(e.id) for e in experts])) == [e.id for e in experts]
