"""Contract: a sealed panel (services/sealing.py) leaves nothing that names a member in the store —
neither in the SQLite file nor in any Elasticsearch index — until it is released."""
from __future__ import annotations

import datetime as dt

from expertpool.domain.panel.record import MemberView, PanelRecord, PoolFigures, Seal
from expertpool.services.access import Actor
from expertpool.services.panels import load_panel, save_record
from tests.factories import make_expert

UTC = dt.timezone.utc
DRAWN = dt.datetime(2026, 11, 20, 9, tzinfo=UTC)
UNTIL = dt.datetime(2026, 12, 1, tzinfo=UTC)
#: members named so that nothing else in the store contains the same text
MEMBERS = [("ZZ-SEAL-901", "密封成员甲"), ("ZZ-SEAL-902", "密封成员乙"), ("ZZ-SEAL-903", "密封成员丙")]


def member(expert_id: str, name: str) -> MemberView:
    return MemberView(id=expert_id, name=name, region="四川", institution="四川大学", legal_unit="四川大学",
                      title="正高级", fields=["新材料"])


def sealed_record() -> PanelRecord:
    return PanelRecord(
        id="PNL-20261201-SEALED-0000abcd", name="密封测试", spec={"review_date": "2026-12-01", "seed": 987654321,
                                                                "fields": "all", "coverage": "any"},
        status="optimal", strategy="lottery", seed=987654321, members=[member(*m) for m in MEMBERS[:2]],
        backups=[member(*MEMBERS[2])], pool=PoolFigures(experts=3, eligible=3, qualified=3, forbidden_pairs=0),
        reply_codes={"ZZ-SEAL-901": "ABCD-EFGH"}, created_by="officer", created_at=DRAWN.isoformat(),
        seal=Seal(until=UNTIL.isoformat(), sealed_by="officer", sealed_at=DRAWN.isoformat(), key_fingerprint="x",
                  members=2, backups=1))


class TestSealedPanels:
    def test_nothing_naming_a_member_is_stored_until_release(self, harness, store):
        store.upsert_experts([make_expert("SC-000001")])
        record = sealed_record()
        with store.batch():
            save_record(store, record, 0)
        raw = harness.raw_bytes(store)
        for expert_id, name in MEMBERS:
            assert expert_id.encode() not in raw and name.encode() not in raw, expert_id
        assert b"987654321" not in raw and b"ABCD-EFGH" not in raw
        officer = Actor("officer", frozenset({"program_officer"}))
        public = load_panel(store, officer, record.id, now=DRAWN)
        assert public.members == [] and public.seal.members == 2 and public.seed == 0
        opened = load_panel(store, officer, record.id, now=DRAWN, open_sealed=True)
        assert opened.member_ids() == ["ZZ-SEAL-901", "ZZ-SEAL-902"] and opened.seed == 987654321
        assert opened.reply_codes == {"ZZ-SEAL-901": "ABCD-EFGH"} and opened.revision == 1
        released = load_panel(store, officer, record.id, now=UNTIL)
        assert released.member_ids() == ["ZZ-SEAL-901", "ZZ-SEAL-902"] and released.seal.released
        assert b"ZZ-SEAL-901" in harness.raw_bytes(store)   # in the clear once released
