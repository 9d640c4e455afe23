"""The Elasticsearch store: the same `ExpertStore` contract as the SQLite store, on a cluster.

Indices (``<prefix>`` from `StoreConfig.es_index_prefix`; settings and mappings are the JSON
files under ``indexes/es/``):

| index | _id | holds |
|---|---|---|
| ``<prefix>-experts`` (alias → ``<prefix>-experts-vN``) | expert id | keyword filters, ``idx.*`` jieba tokens, ``doc`` |
| ``<prefix>-records`` | ``kind|key`` | affiliations, relations, review history, projects |
| ``<prefix>-evaluations`` | ``evaluation|key`` | evaluations: written by program officers, read fresh (not data) |
| ``<prefix>-integrity`` | record id | the current version (written with if_seq_no/if_primary_term) |
| ``<prefix>-integrity-versions`` | ``id#version`` | every version |
| ``<prefix>-audit`` | sequence number | the hash-chained audit trail (op_type=create) |
| ``<prefix>-meta`` / ``-roles`` / ``-panels`` / ``-sessions`` | key / user / panel id / session id | the rest |

Consistency: every write outside a bulk load asks for a refresh, so a search right after a
write sees it (as with SQLite). `batch()` keeps a journal of the previous source of every
document it touches and, if the block raises, puts those back and deletes the documents it
created. Elasticsearch has no multi-document transactions, so a reader on another connection
can see a batch's writes before it ends, and a rollback restores documents without checking
whether someone else changed them in between. One exception keeps the audit chain whole: an
audit entry that another writer has already chained onto is left in place (the exception
raised out of the batch carries a note saying so).

Data version (`data_version`): a random generation in the meta index (`DATA_GENERATION_KEY`).
The first change to experts or records (``-records``: not evaluations, not integrity) in a batch
first marks it as
changing (while marked, every call returns a new token: nothing gets cached); when the batch
ends, after its documents are written and refreshed (or restored, on a rollback), a new
generation replaces the mark. A writer that dies half way leaves the mark, so the store stays
uncacheable until the next completed change rather than stale. With several writers at once,
the first to finish clears the mark while the others are still writing; each of them replaces
the generation again when it ends. `rebuild_index` also replaces it: expert writes racing a
rebuild are lost with the old index.

Ranking: `es_query`, part by part the SQLite store's (BM25 of the words, half the BM25 of the
bigrams, a whole-name match), so the two agree on the top 10 (checked on generated and real text
in tests/contract/test_contract_ranking_overlap.py). The text index's format is
`textindex.TEXT_INDEX_VERSION`, kept in the meta index; an index of another format is not
searched (`index rebuild` makes a current one).

Upgrades: opening a store made before an index existed creates it (`_ensure_indices`), and the
evaluations such a store kept in ``-records`` are moved to ``-evaluations`` (`_move_old_evaluations`).

The store needs only what Elasticsearch's minimal distribution has (scripts/es-local runs that
one): core analysers, no scripts, no _reindex/_delete_by_query, no ``GET /``.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import elastic_transport
from elasticsearch import ApiError, ConflictError, Elasticsearch, NotFoundError, helpers
from elasticsearch.exceptions import HTTP_EXCEPTIONS

from expertpool import segment
from expertpool.domain.expert_ids import expert_keys, number_key
from expertpool.domain.models import AuditEntry, Expert, IntegrityRecord
from expertpool.errors import (
    ConcurrentEdit,
    ExpertPoolError,
    InputError,
    PermissionDenied,
    StoreMissing,
    StoreUnavailable,
)
from expertpool.progress import NullProgress, Progress
from expertpool.stores import es_query
from expertpool.stores.base import (
    DATA_GENERATION_KEY,
    RebuildResult,
    GENESIS_HASH,
    RECORD_KINDS,
    AuditDraft,
    ImportLease,
    RecordKind,
    SearchHit,
    SearchQuery,
    TermCounts,
    UpsertCounts,
    decode_record,
    field_paths,
    record_expert_id,
    record_key,
    seal_audit,
)
from expertpool.stores.guard import translated
from expertpool.stores.textindex import TEXT_INDEX_VERSION, index_text, matches

SCHEMA_VERSION = "1"
#: meta key: the `textindex.TEXT_INDEX_VERSION` of the experts index the alias points at
TEXT_INDEX_KEY = "text_index_version"
#: The fixed indices, by short name (the experts index is versioned behind an alias).
SIMPLE_INDICES: tuple[str, ...] = ("records", "evaluations", "integrity", "integrity-versions", "audit", "roles", "panels",
                                   "sessions", "meta")
_PREFIX_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,100}$")
_MISSING = object()
#: A data generation starting with this marks a change under way (see the module docstring).
_CHANGING = "changing-"


class BulkIndexingFailed(ExpertPoolError):
    """Elasticsearch rejected documents of a bulk write; `failures` lists (id, reason).

    The write was inside a batch, so the store was put back as it was before it.
    """

    def __init__(self, message: str, failures: list[tuple[str, str]]):
        super().__init__(message)
        self.failures = failures


def mapping_path(name: str):
    return segment.INDEXES_DIR / "es" / f"{name.replace('-', '_')}.json"


def load_index_body(name: str) -> dict:
    """Settings and mappings of an index from ``indexes/es/<name>.json``."""
    return json.loads(mapping_path(name).read_text(encoding="utf-8"))


def expert_source(expert: Expert) -> dict:
    """The experts-index document for `expert`."""
    text = index_text(expert)
    raw = [expert.name, " ".join(expert.fields), " ".join(expert.keywords), expert.research,
           expert.discipline or "", expert.institution, expert.department or ""]
    return {
        "id": expert.id,
        # every key the expert answers to (expert_ids.expert_keys), for `find_experts`
        "source_ids": sorted(expert_keys(expert)),
        "name": expert.name,
        es_query.NAME_FIELD: text.name,
        "region": expert.region,
        "sub_region": expert.sub_region,
        "title": expert.title,
        "honours": list(expert.honours),
        "fields": list(expert.fields),
        "institution": expert.institution,
        "status": expert.status,
        "birth_year": expert.birth_year,
        "content_hash": expert.content_hash(),
        es_query.TEXT_PREFIX: {"words": text.words, "grams": text.grams},
        es_query.BASELINE_FIELD: " ".join(filter(None, raw)),
        "doc": expert.model_dump(mode="json"),
    }


def _json(source: dict) -> str:
    """`source` as the client would serialise it (a str body is sent as it is)."""
    return json.dumps(source, ensure_ascii=False, separators=(",", ":"))


def _prepared_ahead(prepare, chunks: Iterable) -> Iterator:
    """Yield from `prepare(chunk)` for each chunk, `prepare` running on a worker thread one chunk
    ahead: segmenting and serialising the next documents overlaps with waiting for the cluster
    to index the current ones. `chunks` itself is advanced in the caller's thread."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ahead = None
        for chunk in chunks:
            future = pool.submit(prepare, chunk)
            if ahead is not None:
                yield from ahead.result()
            ahead = future
        if ahead is not None:
            yield from ahead.result()


def record_doc_id(kind: str, key: str) -> str:
    """``kind|key``; keys too long for an _id (512 bytes) are replaced by their SHA-1."""
    doc_id = f"{kind}|{key}"
    if len(doc_id.encode()) > 500:
        doc_id = f"{kind}|sha1:{hashlib.sha1(key.encode()).hexdigest()}"
    return doc_id


def parse_hosts(es_url: str, ca_certs: str | None = None) -> tuple[list[str], tuple[str, str] | None]:
    """Comma-separated hosts → URLs with scheme and port, and any user:password found in them.

    Credentials are taken out of the URLs, so the URLs can appear in messages.
    """
    hosts: list[str] = []
    auth: tuple[str, str] | None = None
    for raw in es_url.split(","):
        raw = raw.strip()
        if not raw:
            continue
        if "://" not in raw:
            raw = ("https://" if ca_certs else "http://") + raw
        parts = urlsplit(raw)
        if parts.username is not None:
            auth = (parts.username, parts.password or "")
        host = parts.hostname or "localhost"
        if ":" in host:
            host = f"[{host}]"
        port = parts.port or 9200
        hosts.append(urlunsplit((parts.scheme, f"{host}:{port}", parts.path.rstrip("/"), "", "")))
    if not hosts:
        raise InputError("EXPERTPOOL_ES_URL 为空：请给出 Elasticsearch 地址，如 http://127.0.0.1:9200")
    return hosts, auth


#: answers that mean "busy, or not ready yet: try again" (429 too many requests, 502/504 from a
#: proxy, 503 e.g. while a new index's shards are still recovering)
TRANSIENT_STATUSES = frozenset({429, 502, 503, 504})


class PatientTransport(elastic_transport.Transport):
    """The client's transport, retrying transient answers (`TRANSIENT_STATUSES`) with exponential
    backoff and jitter for up to `patience_s` seconds, for every request the store makes. The
    stock transport retries them at once, which on a busy cluster only repeats the refusal.
    Connection errors keep the stock handling (another node, `max_retries`)."""

    patience_s = 60.0
    first_delay_s = 0.2
    max_delay_s = 4.0

    def perform_request(self, method, target, **kwargs):
        deadline = time.monotonic() + self.patience_s
        delay = self.first_delay_s
        while True:
            response = super().perform_request(method, target, **kwargs)
            if response.meta.status not in TRANSIENT_STATUSES or time.monotonic() + delay > deadline:
                return response
            time.sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, self.max_delay_s)


#: what a cluster without security answers `_security/_authenticate` with (no such endpoint)
_NO_SECURITY_STATUSES = frozenset({400, 404, 405})


def authenticated_principal(client: Elasticsearch) -> str | None:
    """The user the cluster authenticated for the client's credentials (for an API key, its
    owner), from `_security/_authenticate`; None when the cluster runs without security.
    Credentials the cluster refuses are a `PermissionDenied`."""
    try:
        info = client.security.authenticate()
    except ApiError as exc:
        status = exc.meta.status
        if status in _NO_SECURITY_STATUSES:
            return None
        if status in (401, 403):
            raise PermissionDenied(f"Elasticsearch 拒绝了当前凭据（{status}）：检查 EXPERTPOOL_ES_API_KEY 或 "
                                   "EXPERTPOOL_ES_USER/EXPERTPOOL_ES_PASSWORD") from None
        raise
    return info.get("username") or None


def _translate(store: "ElasticsearchStore", exc: BaseException) -> BaseException:
    """Connection failures, and transient answers that outlasted `PatientTransport`'s patience,
    become `StoreUnavailable`; the cluster's refusals (401/403: the Elasticsearch user's privileges
    do not allow it) `PermissionDenied`; any other answer is raised as it was."""
    if isinstance(exc, ApiError):
        if exc.meta.status in (401, 403):
            return PermissionDenied(_scrub(f"Elasticsearch 拒绝了此操作（{exc.meta.status}）：当前 Elasticsearch "
                                           f"用户的索引权限不允许（{_reason(exc)}）", store._secrets))
        if exc.meta.status not in TRANSIENT_STATUSES:
            return exc
    return store._unavailable(exc)


_guarded = translated((elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout, ApiError), _translate)


class ElasticsearchStore:
    """`ExpertStore` on an Elasticsearch 8.x cluster; see the module docstring for the layout."""

    backend = "elasticsearch"
    #: documents per bulk request and per mget when comparing content hashes
    BULK_CHUNK = 500
    #: loads at least this large run with refresh off and no replicas (restored afterwards)
    BULK_SETTINGS_MIN = 1000
    #: page size when reading in order with search_after
    PAGE = 1000
    #: seconds an open waits for the store's indices to have their primary shards started
    READY_TIMEOUT_S = 60

    def __init__(self, client: Elasticsearch, prefix: str = "expertpool", *,
                 hosts: Sequence[str] = (), secrets: Sequence[str] = (), owns_client: bool = True,
                 create: bool = True):
        if not _PREFIX_RE.match(prefix):
            raise InputError(f"索引前缀「{prefix}」无效：只可用小写字母、数字、-、_、.（EXPERTPOOL_ES_PREFIX）")
        self._es = client
        self.prefix = prefix
        self._text_index_checked = False
        self._hosts = tuple(hosts)
        self._secrets = tuple(s for s in secrets if s)
        self._owns_client = owns_client
        self._lock = threading.RLock()
        self._depth = 0
        self._journal: dict[tuple[str, str], dict | None] | None = None
        self._owner: int | None = None  # the thread whose batch the journal belongs to
        self._changing = False  # the open batch has marked the data generation as changing
        self._principal: object = _MISSING  # `authenticated_user`, asked once
        self.experts_alias = f"{prefix}-experts"
        self.ix = {name: f"{prefix}-{name}" for name in SIMPLE_INDICES}
        #: the indices whose documents `data_version` speaks for (not integrity: see base.py)
        self._data_indices = frozenset({self.experts_alias, self.ix["records"]})
        try:
            self.created = self._ensure_indices(create)
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as exc:
            raise self._unavailable(exc) from None
        except ApiError as exc:
            if exc.meta.status not in TRANSIENT_STATUSES:
                raise
            raise self._unavailable(exc) from None

    @classmethod
    def from_config(cls, config, *, create: bool = True,
                    on_authenticated: Callable[[str | None], None] | None = None) -> "ElasticsearchStore":
        """Connect as `config` says (hosts, API key or user/password, CA certificate) and open the
        store. `on_authenticated` gets the user the cluster authenticated for these credentials
        (None without security) before anything is created; it may raise to refuse."""
        if not config.es_url:
            raise InputError("未配置 Elasticsearch 地址：请设置 EXPERTPOOL_ES_URL（多个节点用逗号分隔）")
        hosts, url_auth = parse_hosts(config.es_url, config.es_ca_certs)
        # Transient statuses are retried by PatientTransport, with backoff, not at once by the stock loop.
        kwargs: dict = {"request_timeout": 30, "max_retries": 2, "retry_on_timeout": True, "retry_on_status": (),
                        "transport_class": PatientTransport}
        secrets: list[str] = []
        if config.es_api_key:
            kwargs["api_key"] = config.es_api_key
            secrets.append(config.es_api_key)
        elif config.es_username or url_auth:
            user = config.es_username or url_auth[0]  # type: ignore[index]
            password = config.es_password if config.es_password is not None else (url_auth or ("", ""))[1]
            kwargs["basic_auth"] = (user, password or "")
            secrets.append(password or "")
        if config.es_ca_certs:
            kwargs["ca_certs"] = config.es_ca_certs
        client = Elasticsearch(hosts=hosts, **kwargs)
        where = "、".join(hosts)
        try:
            client.cluster.health()
            principal = authenticated_principal(client)
            if on_authenticated is not None:
                on_authenticated(principal)
            store = cls(client, config.es_index_prefix, hosts=hosts, secrets=secrets, create=create)
        except (elastic_transport.ConnectionError, elastic_transport.ConnectionTimeout) as exc:
            client.close()
            raise StoreUnavailable(_scrub(f"无法连接 Elasticsearch（{where}）：{_reason(exc)}", secrets)) from None
        except ApiError as exc:
            client.close()
            refused = PermissionDenied if exc.meta.status in (401, 403) else StoreUnavailable
            raise refused(_scrub(f"Elasticsearch（{where}）拒绝了请求：{exc.meta.status} {_reason(exc)}"
                                 f"{'（检查 API key 或用户名、密码）' if refused is PermissionDenied else ''}",
                                 secrets)) from None
        except BaseException:
            client.close()
            raise
        store._principal = principal
        return store

    def __repr__(self) -> str:
        return f"ElasticsearchStore(hosts={list(self._hosts)!r}, prefix={self.prefix!r})"

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        where = "、".join(self._hosts) or "Elasticsearch"
        return StoreUnavailable(_scrub(f"Elasticsearch 不可用（{where}）：{_reason(exc)}", self._secrets))

    # ---- indices ----
    def _ensure_indices(self, create: bool = True) -> bool:
        """Create whatever index is missing; True when this call created the store (its meta index).
        With `create` false, a store that does not exist yet (no meta index) is `StoreMissing`."""
        existing = self._es.indices.get_alias(index=f"{self.prefix}-*", expand_wildcards="open,closed")
        if not create and self.ix["meta"] not in existing:
            where = "、".join(self._hosts) or "Elasticsearch"
            raise StoreMissing(f"{where} 上没有索引前缀为 {self.prefix} 的专家库（请检查 EXPERTPOOL_ES_PREFIX；"
                               "新建请用 expertpool --backend elasticsearch import --create 文件…）")
        aliased = [name for name, info in existing.items() if self.experts_alias in info.get("aliases", {})]
        if self.experts_alias in existing and not aliased:
            raise InputError(f"Elasticsearch 中已有名为 {self.experts_alias} 的索引（应为别名）：请换一个 EXPERTPOOL_ES_PREFIX")
        todo: list[tuple[str, dict]] = []
        if not aliased:
            versions = self._experts_versions(existing)
            body = load_index_body("experts")
            body["aliases"] = {self.experts_alias: {"is_write_index": True}}
            todo.append((f"{self.experts_alias}-v{(max(versions) if versions else 0) + 1}", body))
        todo += [(self.ix[short], load_index_body(short)) for short in SIMPLE_INDICES
                 if short != "meta" and self.ix[short] not in existing]
        if todo:  # independent of each other: create them side by side
            with ThreadPoolExecutor(max_workers=len(todo)) as pool, self._upgrading(
                    "创建" + "、".join(name for name, _ in todo), existing):
                list(pool.map(lambda item: self._create_index(*item), todo))
        # The meta index comes last: its existence means the store is complete.
        created = self.ix["meta"] not in existing and self._create_index(self.ix["meta"], load_index_body("meta"))
        # Indices another process has just created (or is creating) may still have their shards
        # recovering, and answer 503 until they are ready: wait for that before the first read.
        self._wait_until_ready()
        if created:
            self.set_meta("schema_version", SCHEMA_VERSION)
            self.set_meta(TEXT_INDEX_KEY, TEXT_INDEX_VERSION)
            self._replace_generation()
        else:
            version = self.get_meta("schema_version")
            if version is not None and version != SCHEMA_VERSION:
                raise InputError(f"Elasticsearch 索引 {self.prefix}-* 的版本 {version} 与本程序（{SCHEMA_VERSION}）不符")
            with self._upgrading(f"把旧的评价移入 {self.ix['evaluations']}", existing):
                self._move_old_evaluations()
        return created

    def _move_old_evaluations(self) -> int:
        """Move the evaluations a store made before ``-evaluations`` existed keeps in ``-records``
        into ``-evaluations`` (same _id); returns how many. Checked on every open of an existing
        store (one count), so an upgrade interrupted half way is finished by the next open.

        A document already in ``-evaluations`` is newer than the old copy and is kept
        (op_type=create). Evaluations are read fresh, not part of the data generation, so the
        move leaves the generation alone."""
        records, evaluations = self.ix["records"], self.ix["evaluations"]
        old = {"term": {"kind": "evaluation"}}
        if not self._es.count(index=records, query=old)["count"]:
            return 0
        hits = list(self._scan(records, old, [{"key": "asc"}]))
        copies = ({"_op_type": "create", "_index": evaluations, "_id": hit["_id"], "_source": hit["_source"]}
                  for hit in hits)
        self._upgrade_bulk(copies, f"移入 {evaluations}", kept=409)
        self._es.indices.refresh(index=evaluations)
        # Only once every copy is searchable do the originals go.
        self._upgrade_bulk(({"_op_type": "delete", "_index": records, "_id": hit["_id"]} for hit in hits),
                           f"从 {records} 删除", kept=404)
        self._es.indices.refresh(index=records)
        return len(hits)

    def _upgrade_bulk(self, actions: Iterable[dict], what: str, kept: int) -> None:
        """Bulk actions of an upgrade step; an item answered `kept` is fine (already done). A
        refused item (403) is the upgrade's `PermissionDenied`; any other failure is raised."""
        failures: list[tuple[str, str]] = []
        for ok, item in helpers.streaming_bulk(self._es, actions, chunk_size=self.BULK_CHUNK, raise_on_error=False,
                                               raise_on_exception=True, max_retries=3, initial_backoff=0.5):
            status = next(iter(item.values())).get("status")
            if ok or status == kept:
                continue
            if status == 403:
                raise self._upgrade_refused(what, _failure(item)[1])
            failures.append(_failure(item))
        if failures:
            listed = "；".join(f"{doc_id}：{reason}" for doc_id, reason in failures[:10])
            raise BulkIndexingFailed(f"升级专家库时 {len(failures)} 条评价未能{what}（原件保留，下次打开时再做）：{listed}",
                                     failures)

    @contextmanager
    def _upgrading(self, step: str, existing: dict):
        """Around a step that brings an existing store up to this program's layout (an index
        added since, old evaluations moved out of ``-records``): a user whose Elasticsearch role
        may not do it (a program officer's may not create indices nor delete from ``-records``)
        is told that an administrator has to open the store once, not that the credentials are
        wrong. On a store being made (no meta index yet) a refusal is raised as it is."""
        try:
            yield
        except ApiError as exc:
            if exc.meta.status != 403 or self.ix["meta"] not in existing:
                raise
            raise self._upgrade_refused(step, _reason(exc)) from None

    def _upgrade_refused(self, step: str, reason: str) -> PermissionDenied:
        return PermissionDenied(_scrub(
            f"专家库（索引前缀 {self.prefix}）需要升级到本程序的索引布局（{step}），当前 Elasticsearch 用户无权完成"
            f"（{reason}）：请管理员先用本程序打开一次（如 expertpool stats）", self._secrets))

    def _wait_until_ready(self) -> None:
        """Wait until every index of the store has its primary shards started (health yellow)."""
        timeout_s = self.READY_TIMEOUT_S
        names = ",".join([self.experts_alias, *self.ix.values()])
        try:
            health = self._es.options(request_timeout=timeout_s + 30).cluster.health(
                index=names, wait_for_status="yellow", timeout=f"{timeout_s}s")
            timed_out = bool(health.get("timed_out"))
        except ApiError as exc:
            if exc.meta.status != 408:  # 408: the wait timed out
                raise
            timed_out = True
        if timed_out:
            where = "、".join(self._hosts) or "Elasticsearch"
            raise StoreUnavailable(f"Elasticsearch（{where}）上索引 {self.prefix}-* 在 {timeout_s} 秒内未就绪"
                                   "（分片未能分配：检查集群状态 GET _cluster/health 与磁盘空间）")

    def _create_index(self, name: str, body: dict) -> bool:
        try:
            self._es.indices.create(index=name, **body)
            return True
        except ApiError as exc:
            if exc.error == "resource_already_exists_exception":
                return False  # another process created it first
            raise

    def _experts_versions(self, existing: Iterable[str]) -> list[int]:
        pattern = re.compile(re.escape(self.experts_alias) + r"-v(\d+)$")
        return [int(m.group(1)) for name in existing if (m := pattern.match(name))]

    def index_names(self) -> list[str]:
        """Every concrete index of this store."""
        existing = self._es.indices.get_alias(index=f"{self.prefix}-*", expand_wildcards="open,closed")
        versions = set(f"{self.experts_alias}-v{v}" for v in self._experts_versions(existing))
        return sorted(name for name in existing if name in versions or name in self.ix.values())

    @_guarded
    def delete_indices(self) -> list[str]:
        """Delete every index of this store (by name, never by wildcard). Returns their names."""
        names = self.index_names()
        if names:
            self._es.indices.delete(index=",".join(names), ignore_unavailable=True)
        return names

    def experts_index(self) -> str:
        """The concrete index the experts alias points at now."""
        return next(iter(self._es.indices.get_alias(name=self.experts_alias)))

    # ---- transactions ----
    @contextmanager
    def batch(self):
        with self._lock:  # other threads using this instance wait for the outermost batch
            if self._depth:
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            self._journal = {}
            self._owner = threading.get_ident()
            self._depth = 1
            try:
                yield
            except BaseException as exc:
                journal, self._journal, self._depth = self._journal, None, 0
                changing, self._changing = self._changing, False
                try:
                    for note in self._restore(journal):
                        exc.add_note(note)
                except Exception as failure:  # report, but let the original error through
                    exc.add_note(_scrub(f"回滚未能完成，部分写入可能残留：{_reason(failure)}", self._secrets))
                if changing:
                    # Others saw the batch's writes before the rollback: they get a new version too.
                    try:
                        self._replace_generation()
                    except Exception as failure:  # the mark stays: uncacheable, never stale
                        exc.add_note(_scrub(f"数据版本未能更新：{_reason(failure)}", self._secrets))
                raise
            else:
                self._journal, self._depth = None, 0
                changing, self._changing = self._changing, False
                if changing:  # the batch's writes are refreshed by now: readers can see them
                    self._replace_generation()

    def _remember(self, index: str, doc_id: str, previous: object = _MISSING) -> None:
        """Inside a batch, note a document's source before its first change (None: did not exist).

        Every write of a batch passes here before it is sent, so this is also where the first
        change to the data marks the data generation as changing.
        """
        if self._journal is None or self._owner != threading.get_ident():
            return
        if index in self._data_indices and not self._changing:
            self._set_generation(f"{_CHANGING}{uuid.uuid4().hex}")
            self._changing = True
        if (index, doc_id) in self._journal:
            return
        if previous is _MISSING:
            previous = self._get_source(index, doc_id)
        self._journal[(index, doc_id)] = previous  # type: ignore[assignment]

    def _restore(self, journal: dict[tuple[str, str], dict | None]) -> list[str]:
        """Put back what a failed batch changed; returns notes on what could not be undone."""
        if not journal:
            return []
        notes = []
        audit = self.ix["audit"]
        # Audit entries the batch appended go newest first, and only while nothing follows them:
        # deleting an entry another writer has chained onto would break the chain for everyone.
        for doc_id in sorted((d for (i, d) in journal if i == audit), key=int, reverse=True):
            if self._get_source(audit, str(int(doc_id) + 1)) is None:
                self._es.delete(index=audit, id=doc_id, refresh=True)
            else:
                notes.append(f"审计日志第 {doc_id} 条之后已有他人追加的条目，为保持哈希链完整，该条未撤回")
        actions = []
        for (index, doc_id), previous in journal.items():
            if index == audit:
                continue
            if previous is None:
                actions.append({"_op_type": "delete", "_index": index, "_id": doc_id})
            else:
                actions.append({"_op_type": "index", "_index": index, "_id": doc_id, "_source": previous})
        failures = []
        for ok, item in helpers.streaming_bulk(self._es, actions, chunk_size=self.BULK_CHUNK, raise_on_error=False,
                                               ignore_status=(404,), max_retries=3, initial_backoff=0.5):
            if not ok:
                failures.append(_failure(item))
        self._es.indices.refresh(index=",".join(sorted({index for index, _ in journal})), ignore_unavailable=True)
        if failures:
            listed = "；".join(f"{doc_id}：{reason}" for doc_id, reason in failures[:10])
            raise BulkIndexingFailed(f"回滚时 {len(failures)} 个文档未能恢复：{listed}", failures)
        return notes

    def close(self) -> None:
        if self._owns_client:
            self._es.close()

    # ---- small helpers ----
    def _get_source(self, index: str, doc_id: str) -> dict | None:
        try:
            return self._es.get(index=index, id=doc_id)["_source"]
        except NotFoundError:
            return None

    def _put(self, index: str, doc_id: str, source: dict) -> None:
        self._remember(index, doc_id)
        self._es.index(index=index, id=doc_id, document=source, refresh=True)

    def _delete(self, index: str, doc_id: str) -> None:
        self._remember(index, doc_id)
        try:
            self._es.delete(index=index, id=doc_id, refresh=True)
        except NotFoundError:
            pass

    def _scan(self, index: str, query: dict, sort: list, source: object = True) -> Iterator[dict]:
        """Every hit of `query` in `sort` order (sort must end on a unique key), read in pages
        with search_after over a point in time, so the listing is one consistent snapshot."""
        pit = self._es.open_point_in_time(index=index, keep_alive="2m")["id"]
        after = None
        try:
            while True:
                kwargs = {"search_after": after} if after is not None else {}
                result = self._es.search(pit={"id": pit, "keep_alive": "2m"}, query=query, sort=sort,
                                         size=self.PAGE, _source=source, track_total_hits=False, **kwargs)
                pit = result.get("pit_id", pit)
                hits = result["hits"]["hits"]
                yield from hits
                if len(hits) < self.PAGE:
                    return
                after = hits[-1]["sort"]
        finally:
            try:
                self._es.close_point_in_time(id=pit)
            except Exception:  # it expires by itself
                pass

    def _bulk(self, actions: Iterable[dict], what: str, on_ok=None) -> None:
        """Run bulk actions; collect every rejected document and raise `BulkIndexingFailed`."""
        failures: list[tuple[str, str]] = []
        for ok, item in helpers.streaming_bulk(self._es, actions, chunk_size=self.BULK_CHUNK, raise_on_error=False,
                                               raise_on_exception=True, max_retries=3, initial_backoff=0.5):
            if ok:
                if on_ok:
                    on_ok()
            else:
                failures.append(_failure(item))
        if failures:
            raise BulkIndexingFailed(_failure_message(what, failures), failures)

    @contextmanager
    def _bulk_settings(self, index: str, large: bool):
        """For a large load: refresh off and no replicas, restored afterwards; refresh at the end."""
        if not large:
            try:
                yield
            finally:
                self._es.indices.refresh(index=index)
            return
        names = ("index.refresh_interval", "index.number_of_replicas", "index.auto_expand_replicas")
        current = self._es.indices.get_settings(index=index, name=list(names), flat_settings=True)
        saved = {concrete: {n: info["settings"].get(n) for n in names} for concrete, info in current.items()}
        for concrete in saved:
            self._es.indices.put_settings(index=concrete, settings={
                "index.refresh_interval": "-1", "index.auto_expand_replicas": "false", "index.number_of_replicas": 0})
        try:
            yield
        finally:
            for concrete, values in saved.items():
                self._es.indices.put_settings(index=concrete, settings=values)
            self._es.indices.refresh(index=index)

    # ---- who is connected ----
    @_guarded
    def authenticated_user(self) -> str | None:
        if self._principal is _MISSING:
            self._principal = authenticated_principal(self._es)
        return self._principal  # type: ignore[return-value]

    # ---- meta ----
    @_guarded
    def get_meta(self, key: str) -> str | None:
        source = self._get_source(self.ix["meta"], key)
        return None if source is None else source["value"]

    @_guarded
    def set_meta(self, key: str, value: str) -> None:
        self._put(self.ix["meta"], key, {"value": value})

    @_guarded
    def delete_meta(self, key: str) -> None:
        self._delete(self.ix["meta"], key)

    @_guarded
    def claim_meta(self, key: str, value: str) -> bool:
        try:  # op_type=create: Elasticsearch refuses the document if the id exists
            self._es.index(index=self.ix["meta"], id=key, document={"value": value}, op_type="create", refresh=True)
        except ConflictError:
            return False
        self._remember(self.ix["meta"], key, previous=None)  # journalled only once won: a rollback removes it
        return True

    # ---- the import lock ----
    IMPORT_LOCK_ID = "import-lock"
    #: seconds a lease lasts unless renewed, and how often the holder renews it
    LEASE_S = 60.0
    RENEW_S = 15.0

    def import_lock(self, holder: str, wait: float = 600.0, on_wait=None):
        """A lease document in the meta index: created with op_type=create; taken over (with
        if_seq_no, so by one process only) when its lease has expired; renewed by a thread while
        held; deleted at the end if still ours."""
        return self._import_lock(holder, wait, on_wait)

    @contextmanager
    @_guarded  # its requests fail as every store method's do (StoreUnavailable, PermissionDenied)
    def _import_lock(self, holder: str, wait: float, on_wait):
        import os
        import socket
        import time

        index, doc_id = self.ix["meta"], self.IMPORT_LOCK_ID
        owner = uuid.uuid4().hex
        description = (f"{holder}，{socket.gethostname()} 进程 {os.getpid()}，"
                       f"{time.strftime('%Y-%m-%d %H:%M:%S')} 起")

        def lease() -> dict:
            return {"value": json.dumps({"owner": owner, "holder": description,
                                         "expires": time.time() + self.LEASE_S}, ensure_ascii=False)}

        deadline, delay, told = time.monotonic() + wait, 0.05, False
        while True:
            try:
                written = self._es.index(index=index, id=doc_id, document=lease(), op_type="create", refresh=True)
                break
            except ConflictError:
                pass
            try:
                current = self._es.get(index=index, id=doc_id)
            except NotFoundError:
                continue  # released meanwhile: try again at once
            info = _lock_info(current["_source"])
            if info.get("expires", 0) < time.time():  # the holder died or stalled: take it over
                try:
                    written = self._es.index(index=index, id=doc_id, document=lease(), refresh=True,
                                             if_seq_no=current["_seq_no"], if_primary_term=current["_primary_term"])
                    break
                except ConflictError:
                    continue
            if time.monotonic() > deadline:
                raise ConcurrentEdit(f"另一个导入仍在进行（{info.get('holder', '未知')}），等待 {wait:.0f} 秒后仍未结束；"
                                     "请稍后再试")
            if not told and on_wait is not None:
                on_wait(str(info.get("holder", "另一个进程")))
                told = True
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        held = ImportLease(description)
        version = {"seq": written["_seq_no"], "term": written["_primary_term"]}
        guard = threading.Lock()
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(self.RENEW_S):
                with guard:
                    try:
                        done = self._es.index(index=index, id=doc_id, document=lease(), refresh=True,
                                              if_seq_no=version["seq"], if_primary_term=version["term"])
                        version.update(seq=done["_seq_no"], term=done["_primary_term"])
                    except (ConflictError, NotFoundError):
                        held.lost = True
                        return
                    except Exception:  # a transient failure: try again at the next tick
                        continue

        renewer = threading.Thread(target=renew, name="import-lock-lease", daemon=True)
        renewer.start()
        try:
            yield held
        finally:
            stop.set()
            renewer.join()
            if not held.lost:
                try:
                    self._es.delete(index=index, id=doc_id, refresh=True,
                                    if_seq_no=version["seq"], if_primary_term=version["term"])
                except (ConflictError, NotFoundError):
                    pass

    # ---- data version ----
    def _set_generation(self, value: str) -> None:
        # Not journalled: a rollback must never bring back a token readers may have used meanwhile.
        self._es.index(index=self.ix["meta"], id=DATA_GENERATION_KEY, document={"value": value}, refresh=True)

    def _replace_generation(self) -> None:
        self._set_generation(uuid.uuid4().hex)

    @_guarded
    def data_version(self) -> str:
        generation = self.get_meta(DATA_GENERATION_KEY)  # a real-time get: the latest write
        if generation is None or generation.startswith(_CHANGING):
            # A change under way or interrupted, or a store made before data versions.
            generation = f"unsettled-{uuid.uuid4().hex}"
        return f"elasticsearch:{','.join(self._hosts)}/{self.experts_alias}#{generation}"

    # ---- experts ----
    @_guarded
    def upsert_experts(self, experts: Sequence[Expert], progress: Progress | None = None) -> UpsertCounts:
        progress = progress or NullProgress()
        counts = UpsertCounts()
        alias = self.experts_alias
        written: dict[str, str] = {}  # id → content hash written by this call (ids may repeat)
        progress.start("写入专家库", len(experts))

        def to_write(chunk: Sequence[Expert]) -> list[Expert]:
            """The experts of `chunk` that change, journalled and counted (in the batch's thread)."""
            lookup = sorted({e.id for e in chunk} - written.keys())
            stored = {}
            if lookup:
                for doc in self._es.mget(index=alias, ids=lookup)["docs"]:
                    if doc.get("found"):
                        stored[doc["_id"]] = doc["_source"]
            out = []
            for expert in chunk:
                digest = expert.content_hash()
                before = written.get(expert.id) or (stored[expert.id]["content_hash"] if expert.id in stored else None)
                if before == digest:
                    counts.unchanged += 1
                    progress.advance()
                    continue
                if before is None:
                    counts.inserted += 1
                else:
                    counts.updated += 1
                self._remember(alias, expert.id, stored.get(expert.id))
                written[expert.id] = digest
                out.append(expert)
            return out

        def actions(chunk: list[Expert]) -> list[dict]:
            return [{"_op_type": "index", "_index": alias, "_id": expert.id, "_source": _json(expert_source(expert))}
                    for expert in chunk]

        chunks = (to_write(experts[start:start + self.BULK_CHUNK]) for start in range(0, len(experts), self.BULK_CHUNK))
        with self.batch(), self._bulk_settings(alias, len(experts) >= self.BULK_SETTINGS_MIN):
            self._bulk(_prepared_ahead(actions, chunks), "位专家", on_ok=progress.advance)
        progress.finish()
        return counts

    @_guarded
    def get_expert(self, expert_id: str) -> Expert | None:
        try:
            hit = self._es.get(index=self.experts_alias, id=expert_id, _source=["doc"])
        except NotFoundError:
            found = self.find_experts([number_key(expert_id), expert_id])
            return found[0] if len(found) == 1 else None
        return _decode(Expert, hit)

    @_guarded
    def find_experts(self, keys: Sequence[str]) -> list[Expert]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return []
        # `id` too: documents written before source_ids held every key had only other lists' numbers
        query = {"bool": {"should": [{"terms": {"source_ids": keys}}, {"terms": {"id": keys}}],
                          "minimum_should_match": 1}}
        # few experts share a number: one request usually answers; a full page means there may be more
        hits = self._es.search(index=self.experts_alias, query=query, sort=[{"id": "asc"}], size=self.PAGE,
                               _source=["doc"], track_total_hits=False)["hits"]["hits"]
        if len(hits) >= self.PAGE:
            hits = list(self._scan(self.experts_alias, query, [{"id": "asc"}], ["doc"]))
        return [_decode(Expert, hit) for hit in hits]

    @_guarded
    def iter_experts(self) -> Iterator[Expert]:
        for hit in self._scan(self.experts_alias, {"match_all": {}}, [{"id": "asc"}], ["doc"]):
            yield _decode(Expert, hit)

    @_guarded
    def count_experts(self) -> int:
        return self._es.count(index=self.experts_alias)["count"]

    def _check_text_index(self) -> None:
        """Refuse to rank on an experts index another version of ExpertPool built (other fields,
        other tokens): its scores would be wrong, not just different."""
        if self._text_index_checked:
            return
        found = self.get_meta(TEXT_INDEX_KEY)
        if found != TEXT_INDEX_VERSION:
            raise InputError(f"Elasticsearch 索引 {self.experts_alias} 的检索格式（{found or '旧版'}）与本程序"
                             f"（{TEXT_INDEX_VERSION}）不符：请先运行 expertpool --backend elasticsearch index rebuild")
        self._text_index_checked = True

    @_guarded
    def search(self, query: SearchQuery) -> list[SearchHit]:
        if query.ranked:
            self._check_text_index()
        body = es_query.search_body(query)
        if "from" in body:
            hits = self._es.search(index=self.experts_alias, **body)["hits"]["hits"]
        else:  # deeper than one request may go: page through in order
            hits = []
            scan = self._scan(self.experts_alias, body["query"], body["sort"], body["_source"])
            for i, hit in enumerate(scan):
                if i >= query.offset + query.limit:
                    break
                if i >= query.offset:
                    hits.append(hit)
            scan.close()
        out = []
        for hit in hits:
            source = hit["_source"]
            expert = _decode(Expert, hit)
            if query.ranked:
                text = source.get(es_query.TEXT_PREFIX, {})
                found = matches(query.terms, text.get("words", ""), text.get("grams", ""),
                                source.get(es_query.NAME_FIELD) in query.names, query.expansion)
                out.append(SearchHit(expert, float(hit["_score"] or 0.0), found.words, found.partial, found.name,
                                     found.related))
            else:
                out.append(SearchHit(expert, 0.0, ()))
        return out

    @_guarded
    def term_counts(self, words: Sequence[str], grams: Sequence[str]) -> TermCounts:
        words = list(dict.fromkeys(w for w in words if w.strip()))
        grams = list(dict.fromkeys(g for g in grams if g.strip()))
        if not words and not grams:
            return TermCounts({}, {})
        self._check_text_index()
        buckets = self._es.search(index=self.experts_alias, size=0, query={"match_all": {}},
                                  aggs=es_query.count_aggregations(words, grams))["aggregations"]["counts"]["buckets"]
        return TermCounts({w: buckets[f"w{i}"]["doc_count"] for i, w in enumerate(words)},
                          {g: buckets[f"g{i}"]["doc_count"] for i, g in enumerate(grams)})

    @_guarded
    def institution_names(self) -> list[str]:
        names: list[str] = []
        after = None
        while True:
            composite: dict = {"size": 1000, "sources": [{"name": {"terms": {"field": "institution"}}}]}
            if after is not None:
                composite["after"] = after
            result = self._es.search(index=self.experts_alias, size=0,
                                     aggs={"names": {"composite": composite}})["aggregations"]["names"]
            names += [bucket["key"]["name"] for bucket in result["buckets"]]
            after = result.get("after_key")
            if not result["buckets"] or after is None:
                return sorted(names)

    @_guarded
    def rank_many(self, queries: Sequence[SearchQuery], index: object | None = None) -> list[list[tuple[str, float]]]:
        """One msearch with the bodies `search` sends, without sources; queries deeper than one
        request may go are paged through one by one, as `search` does. (`index` is always None
        here: the server ranks.)"""
        queries = list(queries)
        out: list[list[tuple[str, float]]] = [[] for _ in queries]
        shallow: list[int] = []
        searches: list[dict] = []
        if any(q.ranked for q in queries):
            self._check_text_index()
        for i, query in enumerate(queries):
            body = es_query.search_body(query)
            body["_source"] = False
            if "from" in body:
                shallow.append(i)
                searches += [{"index": self.experts_alias}, body]
            else:
                scan = self._scan(self.experts_alias, body["query"], body["sort"], False)
                page = itertools.islice(scan, query.offset, query.offset + query.limit)
                out[i] = [_ranked(query, hit) for hit in page]
                scan.close()
        if searches:
            response = self._es.msearch(searches=searches)
            for i, item in zip(shallow, response["responses"]):
                if "error" in item:
                    raise _item_error(response, item)
                out[i] = [_ranked(queries[i], hit) for hit in item["hits"]["hits"]]
        return out

    def rank_index(self, previous: object | None = None) -> None:
        """Nothing to copy: the server ranks, and one msearch is already cheap."""
        return None

    @_guarded
    def rebuild_index(self, progress: Progress | None = None) -> RebuildResult:
        """Build a new experts index from the stored experts (current mappings and segmentation),
        then swap the alias to it in one atomic step and delete the old one.

        Searches keep working throughout. Expert writes made while it runs go to the old index
        and are lost with it: run it when no import is in progress.
        """
        progress = progress or NullProgress()
        existing = self._es.indices.get_alias(index=f"{self.prefix}-*", expand_wildcards="open,closed")
        old = self.experts_index()
        name = f"{self.experts_alias}-v{max(self._experts_versions(existing)) + 1}"
        body = load_index_body("experts")
        final_settings = copy.deepcopy(body["settings"]["index"])
        body["settings"]["index"].update({"refresh_interval": "-1", "number_of_replicas": 0})
        body["settings"]["index"].pop("auto_expand_replicas", None)
        self._es.indices.create(index=name, **body)
        total = self.count_experts()
        progress.start("重建检索索引", total)
        done = 0

        def actions() -> Iterator[dict]:
            for hit in self._scan(old, {"match_all": {}}, [{"id": "asc"}], ["doc"]):
                expert = _decode(Expert, hit)
                yield {"_op_type": "index", "_index": name, "_id": expert.id, "_source": expert_source(expert)}

        def advance() -> None:
            nonlocal done
            done += 1
            progress.advance()

        try:
            self._bulk(actions(), "位专家（重建索引）", on_ok=advance)
            self._es.indices.put_settings(index=name, settings={
                "index.refresh_interval": None,
                "index.number_of_replicas": final_settings.get("number_of_replicas", 0),
                "index.auto_expand_replicas": final_settings.get("auto_expand_replicas", "false")})
            self._es.indices.refresh(index=name)
            self._es.indices.update_aliases(actions=[
                {"remove": {"index": old, "alias": self.experts_alias}},
                {"add": {"index": name, "alias": self.experts_alias, "is_write_index": True}},
            ])
        except BaseException:
            self._es.indices.delete(index=name, ignore_unavailable=True)
            raise
        self._es.indices.delete(index=old, ignore_unavailable=True)
        self.set_meta(TEXT_INDEX_KEY, TEXT_INDEX_VERSION)
        self._text_index_checked = False
        # Same data, unless expert writes raced the rebuild and were lost with the old index.
        self._replace_generation()
        progress.finish()
        return RebuildResult(index=name, previous=old, experts=done)

    # ---- generic records ----
    @_guarded
    def upsert_records(self, kind: RecordKind, records: Sequence) -> UpsertCounts:
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        counts = UpsertCounts()
        index = self._records_index(kind)
        written: dict[str, str] = {}

        def actions() -> Iterator[dict]:
            for start in range(0, len(records), self.BULK_CHUNK):
                chunk = [(record_doc_id(kind, record_key(kind, r)), r) for r in records[start:start + self.BULK_CHUNK]]
                lookup = sorted({doc_id for doc_id, _ in chunk} - written.keys())
                stored = {}
                if lookup:
                    for doc in self._es.mget(index=index, ids=lookup)["docs"]:
                        if doc.get("found"):
                            stored[doc["_id"]] = doc["_source"]
                for doc_id, record in chunk:
                    digest = record.content_hash()
                    before = written.get(doc_id) or (stored[doc_id]["content_hash"] if doc_id in stored else None)
                    if before == digest:
                        counts.unchanged += 1
                        continue
                    if before is None:
                        counts.inserted += 1
                    else:
                        counts.updated += 1
                    self._remember(index, doc_id, stored.get(doc_id))
                    written[doc_id] = digest
                    yield {"_op_type": "index", "_index": index, "_id": doc_id, "_source": {
                        "kind": kind, "key": record_key(kind, record), "expert_id": record_expert_id(record),
                        "content_hash": digest, "doc": record.model_dump(mode="json")}}

        with self.batch(), self._bulk_settings(index, len(records) >= self.BULK_SETTINGS_MIN):
            self._bulk(actions(), "条记录")
        return counts

    @_guarded
    def iter_records(self, kind: RecordKind, expert_id: str | None = None) -> Iterator:
        model = RECORD_KINDS[kind][0]
        filters = [{"term": {"kind": kind}}]
        if expert_id is not None:
            filters.append({"term": {"expert_id": expert_id}})
        for hit in self._scan(self._records_index(kind), {"bool": {"filter": filters}}, [{"key": "asc"}], ["doc"]):
            yield _decode(model, hit)

    @_guarded
    def iter_record_fields(self, kind: RecordKind, fields: Sequence[str]) -> Iterator[tuple]:
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        paths = [name.split(".") for name in field_paths(fields)]
        query = {"bool": {"filter": [{"term": {"kind": kind}}]}}
        for hit in self._scan(self._records_index(kind), query, [{"key": "asc"}], [f"doc.{name}" for name in fields]):
            doc = hit["_source"].get("doc", {})
            yield tuple(_at(doc, path) for path in paths)

    def _records_index(self, kind: RecordKind) -> str:
        # Evaluations have an index of their own: program officers write them (a server-side
        # privilege on that index alone, not on the conflict data in -records), and like integrity
        # records they are read fresh, so writing them leaves the data generation alone.
        return self.ix["evaluations"] if kind == "evaluation" else self.ix["records"]

    # ---- integrity ----
    @_guarded
    def get_integrity(self, record_id: str) -> IntegrityRecord | None:
        source = self._get_source(self.ix["integrity"], record_id)
        return None if source is None else _decode(IntegrityRecord, {"_index": self.ix["integrity"], "_id": record_id,
                                                                     "_source": source})

    @_guarded
    def put_integrity(self, record: IntegrityRecord, expected_version: int | None) -> IntegrityRecord:
        heads, versions = self.ix["integrity"], self.ix["integrity-versions"]
        with self.batch():
            try:
                head = self._es.get(index=heads, id=record.id)
            except NotFoundError:
                head = None
            current = head["_source"]["version"] if head else None
            if current != expected_version:
                raise _stale(record.id, expected_version, current)
            stored = record.model_copy(update={"version": (expected_version or 0) + 1})
            source = {"id": stored.id, "expert_id": stored.expert_id, "version": stored.version,
                      "doc": stored.model_dump(mode="json")}
            self._remember(heads, record.id, head["_source"] if head else None)
            try:
                # The head is the commit point: only one writer can move it from the version it read.
                if head is None:
                    self._es.create(index=heads, id=record.id, document=source, refresh=True)
                else:
                    self._es.index(index=heads, id=record.id, document=source, refresh=True,
                                   if_seq_no=head["_seq_no"], if_primary_term=head["_primary_term"])
            except ConflictError:
                if self._journal is not None and self._owner == threading.get_ident():
                    self._journal.pop((heads, record.id), None)  # not ours to restore
                # The winner's write may not be searchable yet; make it so, so that a caller who
                # re-reads after ConcurrentEdit (e.g. to pick a free id) sees it.
                self._es.indices.refresh(index=heads)
                latest = self._get_source(heads, record.id)
                raise _stale(record.id, expected_version, latest["version"] if latest else None) from None
            # History: the new version, and the one it replaced in case an earlier writer stopped
            # between its two steps (both writes are idempotent).
            history = [source] + ([head["_source"]] if head else [])
            for doc in history:
                doc_id = f"{doc['id']}#{doc['version']}"
                self._remember(versions, doc_id)
                self._es.index(index=versions, id=doc_id, document=doc, refresh=True)
        return stored

    @_guarded
    def integrity_versions(self, record_id: str) -> list[IntegrityRecord]:
        found = {hit["_source"].get("version"): hit for hit in self._scan(
            self.ix["integrity-versions"], {"term": {"id": record_id}}, [{"version": "asc"}], ["version", "doc"])}
        head = self._get_source(self.ix["integrity"], record_id)
        if head is not None:
            found.setdefault(head.get("version"), {"_index": self.ix["integrity"], "_id": record_id, "_source": head})
        return [_decode(IntegrityRecord, found[v]) for v in sorted(found, key=lambda v: (not isinstance(v, int), v))]

    @_guarded
    def iter_integrity(self, expert_id: str | None = None) -> Iterator[IntegrityRecord]:
        query = {"match_all": {}} if expert_id is None else {"term": {"expert_id": expert_id}}
        for hit in self._scan(self.ix["integrity"], query, [{"id": "asc"}], ["doc"]):
            yield _decode(IntegrityRecord, hit)

    @_guarded
    def iter_integrity_versions(self) -> Iterator[IntegrityRecord]:
        """The versions index in one scan. A head whose version a writer stopped before copying
        into it is not listed here (integrity_versions adds it; iter_integrity has it)."""
        for hit in self._scan(self.ix["integrity-versions"], {"match_all": {}}, [{"id": "asc"}, {"version": "asc"}],
                              ["doc"]):
            yield _decode(IntegrityRecord, hit)

    # ---- audit ----
    def _audit_tail(self) -> tuple[int, str]:
        hits = self._es.search(index=self.ix["audit"], sort=[{"seq": "desc"}], size=1,
                               _source=["seq", "doc.hash"], track_total_hits=False)["hits"]["hits"]
        if not hits:
            return 0, GENESIS_HASH
        tail = hits[0]["_source"]
        tail_hash = (tail.get("doc") or {}).get("hash")
        if not isinstance(tail_hash, str):  # the entry every append links to: nothing can be chained on
            _decode(AuditEntry, hits[0])  # raises StoreDamaged naming it
        return tail["seq"], tail_hash

    @_guarded
    def append_audit(self, draft: AuditDraft) -> AuditEntry:
        """Optimistic append: create entry n+1 (op_type=create) linked to entry n; when another
        writer took n+1 first, read that entry (a real-time get) and try after it."""
        index = self.ix["audit"]
        seq, prev_hash = self._audit_tail()
        while True:
            entry = seal_audit(draft, seq + 1, prev_hash)
            try:
                self._es.create(index=index, id=str(entry.seq), refresh=True,
                                document={"seq": entry.seq, "doc": entry.model_dump(mode="json")})
            except ConflictError:
                taken = self._get_source(index, str(seq + 1))
                if taken is None:  # removed again by a rolled-back batch
                    seq, prev_hash = self._audit_tail()
                else:
                    seq, prev_hash = seq + 1, taken["doc"]["hash"]
                continue
            self._remember(index, str(entry.seq), None)
            return entry

    @_guarded
    def iter_audit(self) -> Iterator[AuditEntry]:
        for hit in self._scan(self.ix["audit"], {"match_all": {}}, [{"seq": "asc"}], ["doc"]):
            yield _decode(AuditEntry, hit)

    # ---- roles ----
    @_guarded
    def get_roles(self) -> dict[str, set[str]]:
        return {hit["_source"]["user"]: set(hit["_source"]["roles"])
                for hit in self._scan(self.ix["roles"], {"match_all": {}}, [{"user": "asc"}])}

    @_guarded
    def set_roles(self, user: str, roles: Iterable[str]) -> None:
        roles = sorted(set(roles))
        if roles:
            self._put(self.ix["roles"], user, {"user": user, "roles": roles})
        else:
            self._delete(self.ix["roles"], user)

    # ---- panels ----
    @_guarded
    def save_panel(self, panel_id: str, document: dict) -> None:
        self._put(self.ix["panels"], panel_id, {"id": panel_id, "doc": document})

    @_guarded
    def get_panel(self, panel_id: str) -> dict | None:
        source = self._get_source(self.ix["panels"], panel_id)
        return None if source is None else source["doc"]

    @_guarded
    def iter_panels(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        yield from self._iter_documents("panels", keys)

    # ---- review sessions ----
    @_guarded
    def save_session(self, session_id: str, document: dict) -> None:
        self._put(self.ix["sessions"], session_id, {"id": session_id, "doc": document})

    @_guarded
    def get_session(self, session_id: str) -> dict | None:
        source = self._get_source(self.ix["sessions"], session_id)
        return None if source is None else source["doc"]

    @_guarded
    def iter_sessions(self, keys: Sequence[str] | None = None) -> Iterator[dict]:
        yield from self._iter_documents("sessions", keys)

    def _iter_documents(self, short: str, keys: Sequence[str] | None) -> Iterator[dict]:
        """The documents of a panels-like index in id order; with `keys`, only those top-level
        keys (source filtering: the cluster sends nothing else)."""
        source = ["doc"] if keys is None else [f"doc.{k}" for k in keys]
        for hit in self._scan(self.ix[short], {"match_all": {}}, [{"id": "asc"}], source):
            yield hit["_source"].get("doc", {})


def _at(doc: dict, path: list[str]):
    """The value at a dotted path of a source document, None where any step is missing."""
    value: object = doc
    for step in path:
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _lock_info(source: dict) -> dict:
    try:
        info = json.loads(source.get("value") or "{}")
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}


def _decode(model, hit) -> object:
    """The record in a hit's (or a get response's) ``doc``; StoreDamaged naming the index and _id
    when it is missing or no longer such a record."""
    source = hit.get("_source")
    doc = source.get("doc") if isinstance(source, dict) else None
    return decode_record(model, doc if isinstance(doc, dict) else {"__not_a_record__": doc},
                         table=hit.get("_index", "?"), key=hit.get("_id", "?"))


def _ranked(query: SearchQuery, hit: dict) -> tuple[str, float]:
    """(id, score) of a hit exactly as `search` scores it."""
    return hit["_id"], (float(hit["_score"] or 0.0) if query.ranked else 0.0)


def _item_error(response, item: dict) -> ApiError:
    """The exception the search API raises for the error one msearch item reports."""
    status = int(item.get("status") or 500)
    error = item.get("error")
    message = str(error.get("type", error)) if isinstance(error, dict) else str(error)
    meta = dataclasses.replace(response.meta, status=status)
    return HTTP_EXCEPTIONS.get(status, ApiError)(message=message, meta=meta, body=item)


def _stale(record_id: str, expected: int | None, current: int | None) -> ConcurrentEdit:
    if expected is None:
        return ConcurrentEdit(f"诚信记录 {record_id} 已存在（版本 {current}）")
    return ConcurrentEdit(f"诚信记录 {record_id} 已被他人修改（读取时为版本 {expected}，现为版本 {current}）；"
                          "请重新读取后再修改")


def _reason(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"{exc.error}: {exc.message}" if exc.message != exc.error else str(exc.error)
    return str(exc) or type(exc).__name__


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, "***")
    return text


def _failure(item: dict) -> tuple[str, str]:
    op, info = next(iter(item.items()))
    error = info.get("error") or {}
    if isinstance(error, dict):
        reason = f"{error.get('type', 'error')}: {error.get('reason', '')}"
        cause = error.get("caused_by")
        if isinstance(cause, dict) and cause.get("reason"):
            reason += f"（{cause['reason']}）"
    else:
        reason = str(error) or f"status {info.get('status')}"
    return str(info.get("_id")), reason


def _failure_message(what: str, failures: list[tuple[str, str]], shown: int = 10) -> str:
    listed = "；".join(f"{doc_id}：{reason}" for doc_id, reason in failures[:shown])
    more = f"；……共 {len(failures)} 条" if len(failures) > shown else ""
    return f"Elasticsearch 拒绝写入 {len(failures)} {what}，已全部撤回：{listed}{more}"
