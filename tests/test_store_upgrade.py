"""A SQLite store written before the list's own numbers (issue 11) and the two-table text index
(issue 14) opens with both upgrades done: the number-key table built from the stored experts, the
text tables rebuilt, once, whoever opens it first — and nothing is lost on the way."""
from __future__ import annotations

import sqlite3
import threading

from expertpool.services.search import SearchRequest, search_experts
from expertpool.stores.sqlite import TEXT_INDEX_KEY, SQLiteStore
from expertpool.stores.textindex import TEXT_INDEX_VERSION
from tests.factories import generate_experts, make_expert

#: the layout of the tables both upgrades replace, as the earlier version made them
OLD_LAYOUT = """
DROP TABLE expert_keys;
CREATE TABLE expert_aliases (alias TEXT PRIMARY KEY, expert_id TEXT NOT NULL);
DROP TABLE experts_fts;
DROP TABLE experts_grams;
CREATE VIRTUAL TABLE experts_fts USING fts5(name, fields, keywords, research, discipline, institution,
                                            tokenize = 'unicode61 remove_diacritics 0');
DROP INDEX experts_name_key;
ALTER TABLE experts DROP COLUMN name_key;
DELETE FROM meta WHERE key = 'text_index_version';
"""


def _experts():
    # ids as an older importer wrote them (SC-<number>), the list's own number in source_ids
    return generate_experts(60, seed=3) + [
        make_expert("SC-000225", name="李明", fields=["现代农业"], keywords=["柑橘黄龙病", "柑橘栽培"],
                    research="柑橘黄龙病的田间防控。", source_ids={"四川": "000225"}),
        make_expert("SC-000226", name="黄龙飞", fields=["生物医药"], keywords=["重症医学"],
                    research="重症监护病房的脓毒症救治。", source_ids={"四川": "000226"}),
    ]


def _old_store(path) -> None:
    store = SQLiteStore(path)
    store.upsert_experts(_experts())
    store.close()
    db = sqlite3.connect(path)
    db.executescript(OLD_LAYOUT)
    with db:
        for n, expert_id, name, doc in db.execute("SELECT n, id, json_extract(doc, '$.name'), doc FROM experts"):
            db.execute("INSERT INTO experts_fts(rowid, name, research) VALUES (?, ?, ?)",
                       (n, name, doc))
        db.execute("INSERT INTO expert_aliases VALUES ('000225', 'SC-000225'), ('000226', 'SC-000226')")
    db.close()


def _tables(path) -> set[str]:
    db = sqlite3.connect(path)
    try:
        return {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        db.close()


def test_an_old_store_gets_its_number_keys_and_its_text_tables(tmp_path):
    path = tmp_path / "old.sqlite3"
    _old_store(path)
    store = SQLiteStore(path, create=False)
    try:
        tables = _tables(path)
        assert {"expert_keys", "experts_fts", "experts_grams"} <= tables and "expert_aliases" not in tables
        assert store.get_meta(TEXT_INDEX_KEY) == TEXT_INDEX_VERSION
        assert store.count_experts() == len(_experts())
        # the list's own number finds the expert through the new key table
        assert store.get_expert("000225").id == "SC-000225"
        assert [e.id for e in store.find_experts(["000226"])] == ["SC-000226"]
        # the rebuilt text tables rank topics, and names only whole
        hits = search_experts(store, SearchRequest("柑橘黄龙病")).hits
        assert hits[0].expert.id == "SC-000225"
        assert "SC-000226" not in [h.expert.id for h in hits]
        named = search_experts(store, SearchRequest("黄龙飞")).hits
        assert named[0].expert.id == "SC-000226" and named[0].name_matched
        version = store.data_version()
    finally:
        store.close()
    again = SQLiteStore(path, create=False)  # done once: a second open changes nothing
    try:
        assert again.data_version() == version
    finally:
        again.close()


def test_two_processes_opening_an_old_store_upgrade_it_once(tmp_path):
    path = tmp_path / "old.sqlite3"
    _old_store(path)
    opened: list[SQLiteStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            opened.append(SQLiteStore(path, create=False))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    try:
        assert not errors and len(opened) == 2
        db = sqlite3.connect(path)
        try:
            experts = db.execute("SELECT count(*) FROM experts").fetchone()[0]
            assert db.execute("SELECT count(*) FROM experts_fts").fetchone()[0] == experts
            assert db.execute("SELECT count(*) FROM experts_grams").fetchone()[0] == experts
            assert db.execute("SELECT count(*) FROM expert_keys WHERE key = '000225'").fetchone()[0] == 1
        finally:
            db.close()
        assert opened[0].get_expert("000225").id == opened[1].get_expert("000225").id == "SC-000225"
    finally:
        for store in opened:
            store.close()
