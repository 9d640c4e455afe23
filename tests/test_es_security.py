"""On Elasticsearch with security on, the acting user is the one the cluster authenticated for the
credentials in use, not whatever EXPERTPOOL_USER says. Runs against a real node with security
enabled (started by scripts/es-local with EXPERTPOOL_ES_SECURITY=1; see the `es_secure` fixture)."""
from __future__ import annotations

import json
import uuid

import pytest
from elasticsearch import Elasticsearch
from typer.testing import CliRunner

from expertpool.cli.main import app
from expertpool.errors import PermissionDenied
from expertpool.services.access import acting_user
from expertpool.stores.es import ElasticsearchStore
from tests.helpers import expert_row, write_csv

pytestmark = pytest.mark.elasticsearch
runner = CliRunner()


@pytest.fixture
def prefix(es_secure):
    """A fresh index prefix on the secure node, removed afterwards with the superuser."""
    name = f"ept-sec-{uuid.uuid4().hex[:10]}"
    yield name
    admin = ElasticsearchStore.from_config(es_secure.config("ep-admin", name))
    try:
        admin.delete_indices()
    finally:
        admin.close()


def _cli(es_secure, user: str, prefix: str, *args: str, claim: str | None = None):
    env = es_secure.env(user, prefix)
    env["EXPERTPOOL_USER"] = claim  # None: unset
    return runner.invoke(app, list(args), env=env)


def test_the_cluster_names_the_user_of_the_credentials(es_secure, prefix):
    store = ElasticsearchStore.from_config(es_secure.config("lin", prefix))
    try:
        assert store.authenticated_user() == "lin"
    finally:
        store.close()


def test_the_acting_user_comes_from_the_cluster_not_the_environment(es_secure, prefix, tmp_path):
    csv = write_csv(tmp_path / "sc.csv", [expert_row()])
    made = _cli(es_secure, "lin", prefix, "import", "--create", str(csv))
    assert made.exit_code == 0, made.output
    entries = json.loads(_cli(es_secure, "lin", prefix, "audit", "log", "--json").stdout)
    entries = entries["entries"] if isinstance(entries, dict) else entries
    assert {e["user"] for e in entries} == {"lin"}  # not the login name the tests run under
    roles = json.loads(_cli(es_secure, "lin", prefix, "roles", "list", "--json").stdout)
    assert roles["users"] == {"lin": ["administrator"]}
    # A matching claim is fine; wang, authenticated as wang, has no role on lin's store.
    assert _cli(es_secure, "lin", prefix, "stats", "--json", claim="lin").exit_code == 0
    assert _cli(es_secure, "wang", prefix, "audit", "log").exit_code == 3


def test_claiming_to_be_someone_else_is_refused_and_changes_nothing(es_secure, prefix, tmp_path):
    csv = write_csv(tmp_path / "sc.csv", [expert_row()])
    # On a new store: refused before anything is created.
    refused = _cli(es_secure, "wang", prefix, "import", "--create", str(csv), claim="lin")
    assert refused.exit_code == 3, refused.output
    assert "lin" in refused.output and "wang" in refused.output and "Traceback" not in refused.output
    with Elasticsearch(es_secure.url, basic_auth=("ep-admin", es_secure.passwords["ep-admin"])) as admin:
        assert admin.indices.get_alias(index=f"{prefix}-*") == {}
    # On lin's store: wang cannot act as its administrator by naming himself lin.
    assert _cli(es_secure, "lin", prefix, "import", "--create", str(csv)).exit_code == 0
    store = ElasticsearchStore.from_config(es_secure.config("lin", prefix))
    try:
        before = [e.seq for e in store.iter_audit()]
        for command in (["roles", "grant", "wang", "administrator"], ["audit", "log"], ["search", "钒钛"]):
            result = _cli(es_secure, "wang", prefix, *command, claim="lin")
            assert result.exit_code == 3, (command, result.output)
        assert [e.seq for e in store.iter_audit()] == before
        assert store.get_roles() == {"lin": {"administrator"}}
    finally:
        store.close()


def test_refused_credentials_are_a_permission_error(es_secure, prefix):
    env = es_secure.env("lin", prefix)
    env["EXPERTPOOL_ES_PASSWORD"] = "wrong-" + env["EXPERTPOOL_ES_PASSWORD"]
    result = runner.invoke(app, ["search", "钒钛"], env=env)
    assert result.exit_code == 3, result.output
    assert env["EXPERTPOOL_ES_PASSWORD"] not in result.output and "Traceback" not in result.output


@pytest.mark.parametrize("authenticated, claimed, expected", [
    (None, None, "login"), (None, "wang", "wang"), ("lin", None, "lin"), ("lin", "lin", "lin")])
def test_acting_user(authenticated, claimed, expected):
    assert acting_user(authenticated, claimed, "login") == expected


def test_acting_user_refuses_a_claim_the_cluster_contradicts():
    with pytest.raises(PermissionDenied, match="wang"):
        acting_user("lin", "wang", "login")
