"""The Elasticsearch role bodies that docs/roles-and-privileges.md tells deployments to create, run
on a real node with security on: each ExpertPool role can do its job through the CLI, and the
server itself refuses what the role must not do when someone bypasses the CLI. scripts/es-local
(EXPERTPOOL_ES_SECURITY=1) installs the bodies exactly as the document shows them, as file-based
roles, for the users zhang (administrator), li (program officer) and zhao (reviewer)."""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from elasticsearch import ApiError, Elasticsearch
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.domain.models import Evaluation, IntegrityRecord
from expertpool.errors import PermissionDenied
from expertpool.stores.base import record_key
from expertpool.stores.es import ElasticsearchStore

pytestmark = pytest.mark.elasticsearch
runner = CliRunner()
PREFIX = "expertpool"  # the prefix the documented role bodies name
SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture
def documented_store(es_secure):
    """The `expertpool` store on the secure node, made by zhang, with li and zhao given their
    ExpertPool roles; removed afterwards by the break-glass superuser."""
    def wipe():
        with Elasticsearch(es_secure.url, basic_auth=("ep-admin", es_secure.passwords["ep-admin"])) as admin:
            names = list(admin.indices.get_alias(index=f"{PREFIX}-*"))
            if names:
                admin.indices.delete(index=",".join(names))

    wipe()
    files = [SAMPLES / f for f in ("sichuan_experts.csv", "chongqing_experts.xlsx", "relations.csv",
                                   "projects.jsonl")]
    made = _cli(es_secure, "zhang", "import", "--create", *map(str, files))
    assert made.exit_code == 0, made.output
    assert _cli(es_secure, "zhang", "roles", "grant", "li", "program_officer").exit_code == 0
    assert _cli(es_secure, "zhang", "roles", "grant", "zhao", "reviewer").exit_code == 0
    yield
    wipe()


def _cli(es_secure, user: str, *args: str):
    return runner.invoke(app, list(args), env={**es_secure.env(user, PREFIX), "EXPERTPOOL_USER": None})


def _store(es_secure, user: str) -> ElasticsearchStore:
    return ElasticsearchStore.from_config(es_secure.config(user, PREFIX), create=False)


def _refused(call) -> None:
    with pytest.raises(ApiError) as caught:
        call()
    assert caught.value.meta.status == 403, caught.value


def test_each_documented_role_does_its_job_through_the_cli(es_secure, documented_store):
    hits = _cli(es_secure, "li", "search", "锂离子电池", "--json")
    assert hits.exit_code == 0, hits.output
    built = _cli(es_secure, "li", "panel", "build", "--spec", str(SAMPLES / "panel.toml"), "--json")
    assert built.exit_code == 0, built.output
    planned = _cli(es_secure, "li", "session", "plan", str(SAMPLES / "session.toml"), "--json")
    assert planned.exit_code == 0, planned.output
    assert _cli(es_secure, "zhao", "session", "list").exit_code == 3  # ExpertPool's role: officers only
    added = _cli(es_secure, "zhao", "integrity", "add", "SC-000001", "--category", "抄袭剽窃", "--severity", "一般",
                 "--start", "2026-01-01", "--reason", "测试")
    assert added.exit_code == 0, added.output
    assert _cli(es_secure, "zhao", "audit", "verify").exit_code == 0
    users = {e["user"] for e in json.loads(_cli(es_secure, "zhang", "audit", "log", "--json").stdout)}
    assert users >= {"zhang", "zhao"}


def test_the_server_refuses_what_a_role_must_not_do_when_the_cli_is_bypassed(es_secure, documented_store):
    officer = _store(es_secure, "li")
    try:
        record = IntegrityRecord(id="R-FORGED", expert_id="SC-000001", category="抄袭剽窃", severity="一般",
                                 start=dt.date(2026, 1, 1), entered_by="li",
                                 entered_at=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
        _refused(lambda: officer._es.index(index=f"{PREFIX}-integrity", id=record.id,
                                           document={"id": record.id, "expert_id": record.expert_id, "version": 1,
                                                     "doc": record.model_dump(mode="json")}))
        # through the store's own API the refusal is a permission error (exit 3), not a crash
        with pytest.raises(PermissionDenied, match="403"):
            officer.put_integrity(record, None)
        # nor can a program officer make themself an administrator in the store's roles
        _refused(lambda: officer._es.index(index=f"{PREFIX}-roles", id="li",
                                           document={"user": "li", "roles": ["administrator"]}))
        assert _cli(es_secure, "li", "integrity", "add", "SC-000001", "--category", "抄袭剽窃", "--severity", "一般",
                    "--start", "2026-01-01", "--reason", "越权").exit_code == 3
    finally:
        officer.close()
    # The audit trail is create-only for everyone, administrators included.
    for user in ("zhang", "li", "zhao"):
        store = _store(es_secure, user)
        try:
            _refused(lambda: store._es.index(index=f"{PREFIX}-audit", id="1", document={"seq": 1, "doc": {}}))
            _refused(lambda: store._es.delete(index=f"{PREFIX}-audit", id="1"))
        finally:
            store.close()
    reviewer = _store(es_secure, "zhao")
    try:
        assert reviewer.get_roles()["li"] == {"program_officer"}
        _refused(lambda: reviewer._es.index(index=f"{PREFIX}-experts", id="SC-000001", document={"id": "x"}))
        # sessions, like panels, are the program officers' to write
        _refused(lambda: reviewer._es.index(index=f"{PREFIX}-sessions", id="SES-FORGED", document={"id": "x"}))
    finally:
        reviewer.close()


def _evaluation(score: int) -> Evaluation:
    return Evaluation(expert_id="SC-000001", activity="PNL-20261201-1-0a1b2c3d", date=dt.date(2026, 12, 1),
                      attendance="出席", score=score, entered_by="li")


def _old_evaluation_in_records(admin: Elasticsearch, old: Evaluation) -> None:
    """An evaluation where a store made before issue 16 kept it: in -records."""
    admin.index(index=f"{PREFIX}-records", id="evaluation|old", refresh=True, document={
        "kind": "evaluation", "key": record_key("evaluation", old), "expert_id": old.expert_id,
        "content_hash": old.content_hash(), "doc": old.model_dump(mode="json")})


def test_a_program_officer_writes_evaluations_but_not_the_other_records(es_secure, documented_store):
    officer = _store(es_secure, "li")
    try:
        # what `panel evaluate` writes, through the store (its own index: see the role bodies)
        assert officer.upsert_records("evaluation", [_evaluation(4)]).inserted == 1
        assert [e.score for e in officer.iter_records("evaluation", "SC-000001")] == [4]
        _refused(lambda: officer._es.index(index=f"{PREFIX}-records", id="relation|forged", document={
            "kind": "relation", "key": "forged", "expert_id": "SC-000001", "content_hash": "x", "doc": {}}))
    finally:
        officer.close()


def test_a_store_made_before_the_evaluations_index_is_upgraded_by_an_administrator(es_secure, documented_store):
    with Elasticsearch(es_secure.url, basic_auth=("ep-admin", es_secure.passwords["ep-admin"])) as admin:
        admin.indices.delete(index=f"{PREFIX}-evaluations")  # as a store made before issue 16 was
        _old_evaluation_in_records(admin, _evaluation(3))
    with pytest.raises(PermissionDenied, match="管理员先用本程序打开一次"):
        _store(es_secure, "li")
    refused = _cli(es_secure, "li", "search", "锂离子电池")
    assert refused.exit_code == 3 and "管理员" in refused.output
    assert _cli(es_secure, "zhang", "stats").exit_code == 0  # the administrator's open upgrades it
    officer = _store(es_secure, "li")
    try:
        assert [e.score for e in officer.iter_records("evaluation")] == [3]
        assert officer._es.count(index=f"{PREFIX}-records", query={"term": {"kind": "evaluation"}})["count"] == 0
    finally:
        officer.close()


def test_old_evaluations_left_in_records_are_moved_by_an_administrator_not_an_officer(es_secure, documented_store):
    """The second upgrade step (moving old evaluations out of -records) refused to an officer who
    may create evaluations but not delete from -records: the upgrade message, the old copy kept,
    and the administrator's open finishes the move without a duplicate."""
    with Elasticsearch(es_secure.url, basic_auth=("ep-admin", es_secure.passwords["ep-admin"])) as admin:
        _old_evaluation_in_records(admin, _evaluation(2))
    with pytest.raises(PermissionDenied, match=f"把旧的评价移入 {PREFIX}-evaluations|从 {PREFIX}-records 删除"):
        _store(es_secure, "li")
    assert _cli(es_secure, "zhang", "stats").exit_code == 0
    officer = _store(es_secure, "li")
    try:
        assert [e.score for e in officer.iter_records("evaluation")] == [2]
        assert officer._es.count(index=f"{PREFIX}-records", query={"term": {"kind": "evaluation"}})["count"] == 0
    finally:
        officer.close()
