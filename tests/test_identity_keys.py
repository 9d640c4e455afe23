"""Identity numbers: hashed with a key kept outside the store (HMAC-SHA256), so a copy of the store
alone gives no number back; the key's life (creation 0600, sharing, mismatch); stores made with
the old salted hashes."""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
import sqlite3
import stat
import threading

import pytest

from expertpool import keys
from expertpool.domain.text import id_check_char
from expertpool.services.access import actor_for
from expertpool.services.audit import verify_audit
from expertpool.services.importing import ID_KEY_FINGERPRINT, LEGACY_SALT_KEY, import_files
from expertpool.stores.sqlite import SQLiteStore
from tests.access_helpers import put_experts, sql
from tests.factories import make_expert
from tests.helpers import expert_row, id_number, write_csv

#: the search space of the attack: a few county codes, every day of the birth year; the store
#: gives the birth year and the last 4 (= the sequence number and the check character)
REGION_CODES = ("510104", "510107", "510703", "500106", "511302")
PEOPLE = [  # (list number, name, region code, birth date, sequence)
    ("000001", "张伟", "510104", "19700312", "001"),
    ("000002", "李娜", "510703", "19750628", "153"),
    ("000003", "王强", "500106", "19681109", "027"),
    ("000004", "陈静", "511302", "19820101", "398"),
]


@pytest.fixture
def key_dir(tmp_path, monkeypatch):
    folder = tmp_path / "keys"
    monkeypatch.setenv("EXPERTPOOL_KEY_DIR", str(folder))
    monkeypatch.delenv("EXPERTPOOL_ID_KEY", raising=False)
    return folder


def _numbers() -> dict[str, str]:
    return {f"SC-{n}": id_number(code, birth, seq) for n, _, code, birth, seq in PEOPLE}


def _rows():
    numbers = _numbers()
    return [expert_row(专家编号=n, 姓名=name, 出生年份=birth[:4], 证件号码=numbers[f"SC-{n}"])
            for n, name, _, birth, _ in PEOPLE]


def _stored_strings(path) -> list[str]:
    """Everything an attacker holding a copy of the store could try as a salt or key."""
    db = sqlite3.connect(path)
    try:
        return [v for (v,) in db.execute("SELECT value FROM meta")] + [k for (k,) in db.execute("SELECT key FROM meta")]
    finally:
        db.close()


def _recover(path) -> dict[str, str]:
    """The attack of the reliability review: for every expert with a hash, try every number the
    store's birth year and last 4 allow, hashed with every string of the meta table, both as the
    old salted SHA-256 and as an HMAC key."""
    db = sqlite3.connect(path)
    try:
        docs = [__import__("json").loads(doc) for (doc,) in db.execute("SELECT doc FROM experts")]
    finally:
        db.close()
    candidates_keys = _stored_strings(path)
    found: dict[str, str] = {}
    for doc in docs:
        if not doc.get("id_hash"):
            continue
        target = doc["id_hash"].removeprefix("hmac1:")
        seq = doc["id_last4"][:3]
        year = doc["birth_year"]
        day = dt.date(year, 1, 1)
        while day.year == year and doc["id"] not in found:
            for code in REGION_CODES:
                first17 = f"{code}{day:%Y%m%d}{seq}"
                number = first17 + id_check_char(first17)
                for secret in candidates_keys:
                    if (hashlib.sha256(f"{secret}:{number}".encode()).hexdigest() == target
                            or hmac.digest(secret.encode(), number.encode(), "sha256").hex() == target):
                        found[doc["id"]] = number
            day += dt.timedelta(days=1)
    return found


def _legacy_store(path, numbers: dict[str, str], salt: str = "5f0c1e2d3b4a69788796a5b4c3d2e1f0", *,
                  audited: bool = False) -> SQLiteStore:
    """A store as the version before keyed hashes made it: the salt in meta, salted SHA-256 hashes;
    `audited`: written with the import entry that version made, vouching for each expert's digest."""
    store = SQLiteStore(path)
    store.set_meta(LEGACY_SALT_KEY, salt)
    experts = []
    for n, name, _, birth, _ in PEOPLE:
        number = numbers[f"SC-{n}"]
        experts.append(make_expert(f"SC-{n}", name=name, birth_year=int(birth[:4]), region="四川",
                                   institution="四川大学", source_ids={"四川": f"SC-{n}"},
                                   id_hash=hashlib.sha256(f"{salt}:{number}".encode()).hexdigest(),
                                   id_last4=number[-4:]))
    if audited:
        put_experts(store, actor_for(store, "admin"), experts)
    else:
        store.upsert_experts(experts)
    return store


def test_a_copy_of_the_store_alone_no_longer_gives_the_numbers_back(tmp_path, key_dir):
    numbers = _numbers()
    # The old scheme: the attack recovers every number from the file alone.
    legacy = _legacy_store(tmp_path / "legacy.sqlite3", numbers)
    legacy.close()
    assert _recover(tmp_path / "legacy.sqlite3") == numbers

    # The keyed scheme: the same attack on a store imported now finds nothing.
    store = SQLiteStore(tmp_path / "pool.sqlite3")
    report = import_files(store, [write_csv(tmp_path / "sc.csv", _rows())], actor_for(store, "admin"))
    assert report.totals()["imported"] == len(PEOPLE)
    assert all(e.id_hash.startswith("hmac1:") for e in store.iter_experts())
    store.close()
    assert _recover(tmp_path / "pool.sqlite3") == {}
    # ... although the attack itself works: given the key it does find them.
    key = keys.key_path(keys.ID_HASH_KEY).read_text().strip()
    target = SQLiteStore(tmp_path / "pool.sqlite3").get_expert("000002")
    assert target.id_hash == "hmac1:" + hmac.digest(bytes.fromhex(key), numbers["SC-000002"].encode(), "sha256").hex()
    # The key is nowhere in the store's files.
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("pool.sqlite3*"))
    assert key.encode() not in raw and bytes.fromhex(key) not in raw


def test_the_key_file_is_made_0600_outside_the_store_and_its_fingerprint_recorded(tmp_path, key_dir):
    store = SQLiteStore(tmp_path / "pool.sqlite3")
    admin = actor_for(store, "admin")
    import_files(store, [write_csv(tmp_path / "sc.csv", _rows()[:1])], admin, dry_run=True)
    assert not keys.key_path(keys.ID_HASH_KEY).exists()  # a dry run creates no key
    import_files(store, [write_csv(tmp_path / "sc.csv", _rows()[:1])], admin)
    path = keys.key_path(keys.ID_HASH_KEY)
    assert path.parent == key_dir
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert store.get_meta(ID_KEY_FINGERPRINT) == keys.fingerprint(keys.load_key(keys.ID_HASH_KEY))


def test_both_provinces_with_the_same_key_merge_one_person(tmp_path, monkeypatch, key_dir):
    monkeypatch.setenv("EXPERTPOOL_ID_KEY", "ab" * 32)
    store = SQLiteStore(tmp_path / "pool.sqlite3")
    admin = actor_for(store, "admin")
    number = id_number("510104", "19700312", "001")
    sc = write_csv(tmp_path / "sc.csv", [expert_row(专家编号="000001", 证件号码=number)])
    cq = write_csv(tmp_path / "cq.csv", [expert_row(专家编号="200001", 所在地区="重庆", **{"市州/区县": "沙坪坝区"},
                                                     证件号码=number)])
    import_files(store, [sc], admin)
    # the key came from the environment: no key file made (the import's cache of the next draw
    # has a key of its own, CACHE_KEY, which may be there)
    assert not keys.key_path(keys.ID_HASH_KEY).exists()
    report = import_files(store, [cq], admin, source="重庆")
    assert report.files[0].merged == 1
    assert store.get_expert("200001").id == "000001"  # the list's own numbers (issue 11)


def test_a_different_or_missing_key_is_refused_never_silently_mismatched(tmp_path, monkeypatch, key_dir):
    store = SQLiteStore(tmp_path / "pool.sqlite3")
    admin = actor_for(store, "admin")
    import_files(store, [write_csv(tmp_path / "sc.csv", _rows()[:2])], admin)
    before = [e.model_dump() for e in store.iter_experts()]
    more = write_csv(tmp_path / "more.csv", _rows()[2:])

    monkeypatch.setenv("EXPERTPOOL_ID_KEY", "cd" * 32)  # the other province configured another key
    with pytest.raises(keys.KeyUnavailable, match="指纹") as refused:
        import_files(store, [more], admin)
    assert refused.value.exit_code == 2
    with pytest.raises(keys.KeyUnavailable):
        import_files(store, [more], admin, dry_run=True)

    monkeypatch.delenv("EXPERTPOOL_ID_KEY")
    monkeypatch.setenv("EXPERTPOOL_KEY_DIR", str(tmp_path / "elsewhere"))  # a machine without the key
    with pytest.raises(keys.KeyUnavailable, match="复制密钥文件"):
        import_files(store, [more], admin)
    assert not (tmp_path / "elsewhere").exists()  # no new key was made that would never match
    assert [e.model_dump() for e in store.iter_experts()] == before


def test_a_legacy_store_loses_its_salt_and_old_hashes_on_the_first_import_then_re_import_rebuilds(tmp_path, key_dir):
    numbers = _numbers()
    store = _legacy_store(tmp_path / "pool.sqlite3", numbers)
    admin = actor_for(store, "admin")
    dry = import_files(store, [write_csv(tmp_path / "sc.csv", _rows())], admin, dry_run=True)
    assert dry.legacy_id_hashes_deleted == len(PEOPLE)
    assert store.get_meta(LEGACY_SALT_KEY) is not None  # a dry run changes nothing

    cq_number = numbers["SC-000003"]
    cq = write_csv(tmp_path / "cq.csv", [expert_row(专家编号="200003", 姓名="王强", 出生年份="1968", 所在地区="重庆",
                                                     **{"市州/区县": "沙坪坝区"}, 工作单位="重庆大学", 证件号码=cq_number)])
    report = import_files(store, [write_csv(tmp_path / "other.csv", [expert_row(专家编号="000099", 姓名="赵敏",
                                                                               证件号码="")])], admin)
    assert report.legacy_id_hashes_deleted == len(PEOPLE)
    assert store.get_meta(LEGACY_SALT_KEY) is None
    assert all(e.id_hash is None for e in store.iter_experts())
    assert all(e.id_last4 for e in store.iter_experts() if e.name != "赵敏")
    entry = [a for a in store.iter_audit() if a.action == "ids.retire_legacy_hashes"]
    assert len(entry) == 1 and entry[0].after["hashes_deleted"] == len(PEOPLE)
    store.close()
    assert _recover(tmp_path / "pool.sqlite3") == {}

    store = SQLiteStore(tmp_path / "pool.sqlite3")
    # Re-import the Sichuan list: keyed hashes again; then the Chongqing list merges on them.
    again = import_files(store, [write_csv(tmp_path / "sc.csv", _rows())], admin)
    assert again.legacy_id_hashes_deleted == 0 and again.files[0].updated == len(PEOPLE)
    assert all(e.id_hash.startswith("hmac1:") for e in store.iter_experts() if e.name != "赵敏")
    merged = import_files(store, [cq], admin, source="重庆")
    assert merged.files[0].merged == 1 and store.get_expert("200003").id == "SC-000003"  # an older store keeps its ids


def test_the_retirement_is_audited_so_the_store_still_verifies(tmp_path, key_dir):
    """A store the salted version made with audit entries vouching for each expert's digest: the
    retirement rewrites those experts, and its own entry vouches for them as rewritten, so
    `audit verify` holds after it and after the re-import that makes keyed hashes again."""
    store = _legacy_store(tmp_path / "pool.sqlite3", _numbers(), audited=True)
    admin = actor_for(store, "admin")
    assert verify_audit(store).ok
    import_files(store, [write_csv(tmp_path / "other.csv", [expert_row(专家编号="000099", 姓名="赵敏", 证件号码="")])],
                 admin)
    assert all(e.id_hash is None for e in store.iter_experts())
    (entry,) = [a for a in store.iter_audit() if a.action == "ids.retire_legacy_hashes"]
    assert sorted(entry.records["expert"]) == sorted(f"SC-{n}" for n, *_ in PEOPLE)
    result = verify_audit(store)
    assert result.ok and result.unchecked == 0, result.problems
    import_files(store, [write_csv(tmp_path / "sc.csv", _rows())], admin)
    assert all(e.id_hash.startswith("hmac1:") for e in store.iter_experts() if e.name != "赵敏")
    assert verify_audit(store).ok
    # and the digests do bite: a hash put back behind the tool's back is named
    sql(tmp_path / "pool.sqlite3", "UPDATE experts SET doc = json_set(doc, '$.id_hash', 'abc') WHERE id = 'SC-000001'")
    broken = verify_audit(store)
    assert not broken.ok and "SC-000001" in broken.problem


def test_the_retirement_waits_for_the_import_lock_like_the_import_it_precedes(tmp_path, key_dir):
    """The legacy hashes are retired inside the import's own flow, under the store's import lock
    (issue 11): while another import holds the lock, nothing is deleted; once it ends, the salt and
    the hashes go and the import reads the experts as rewritten."""
    from expertpool.progress import NullProgress

    store = _legacy_store(tmp_path / "pool.sqlite3", _numbers())
    admin = actor_for(store, "admin")
    other = SQLiteStore(tmp_path / "pool.sqlite3")
    waiting = threading.Event()

    class Waiting(NullProgress):
        def start(self, description, total):
            if description.startswith("等待另一个导入结束"):
                waiting.set()

    reports = []
    importer = threading.Thread(target=lambda: reports.append(import_files(
        store, [write_csv(tmp_path / "other.csv", [expert_row(专家编号="000099", 姓名="赵敏", 证件号码="")])],
        admin, progress=Waiting())))
    with other.import_lock("another administrator"):
        importer.start()
        assert waiting.wait(timeout=120), "the import did not wait for the lock"
        assert other.get_meta(LEGACY_SALT_KEY) is not None
        assert all(e.id_hash and not e.id_hash.startswith("hmac1:") for e in other.iter_experts())
    importer.join(timeout=300)
    assert reports and reports[0].legacy_id_hashes_deleted == len(PEOPLE)
    assert store.get_meta(LEGACY_SALT_KEY) is None and all(e.id_hash is None for e in store.iter_experts())
    other.close()


def test_a_configured_key_must_be_long_hex_and_a_key_file_private(tmp_path, monkeypatch, key_dir):
    monkeypatch.setenv("EXPERTPOOL_ID_KEY", "short")
    with pytest.raises(keys.KeyUnavailable, match="EXPERTPOOL_ID_KEY"):
        keys.load_key(keys.ID_HASH_KEY)
    monkeypatch.delenv("EXPERTPOOL_ID_KEY")
    key = keys.load_or_create_key(keys.ID_HASH_KEY)
    assert len(key) == keys.KEY_BYTES and keys.load_key(keys.ID_HASH_KEY) == key
    os.chmod(keys.key_path(keys.ID_HASH_KEY), 0o644)
    with pytest.raises(keys.KeyUnavailable, match="chmod 600"):
        keys.load_key(keys.ID_HASH_KEY)


def test_processes_creating_the_key_at_once_agree_on_one(key_dir):
    barrier = threading.Barrier(6)
    got: list[bytes] = []

    def create() -> None:
        barrier.wait(timeout=30)
        got.append(keys.load_or_create_key(keys.CACHE_KEY))

    threads = [threading.Thread(target=create) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == 6 and len(set(got)) == 1
    assert [p.name for p in key_dir.iterdir()] == ["cache.key"]
