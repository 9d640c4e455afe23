"""Where the store is and who is acting: from flags, then environment, then defaults."""
from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path

BACKENDS = ("sqlite", "elasticsearch")


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("expertpool", appauthor=False)) / "expertpool.sqlite3"


@dataclass(frozen=True)
class StoreConfig:
    backend: str = "sqlite"
    db_path: Path | None = None
    # Elasticsearch: comma-separated hosts; secrets are kept out of repr so they are never printed.
    es_url: str | None = None
    es_index_prefix: str = "expertpool"
    es_api_key: str | None = field(default=None, repr=False)
    es_username: str | None = None
    es_password: str | None = field(default=None, repr=False)
    es_ca_certs: str | None = None
    #: the store is where nobody pointed: the default database file, or the default index prefix.
    #: Only there may a writing command create a store unasked (see `cli.app.State.authorise`).
    default_location: bool = False

    def location(self) -> str:
        """The store's file or cluster and prefix, for messages."""
        if self.backend == "elasticsearch":
            return f"{self.es_url or '(未配置 EXPERTPOOL_ES_URL)'} 前缀 {self.es_index_prefix}"
        return str(self.db_path)

    @classmethod
    def from_env(cls, backend: str | None = None, db: str | Path | None = None) -> "StoreConfig":
        env = os.environ
        chosen = backend or env.get("EXPERTPOOL_BACKEND") or "sqlite"
        if chosen == "elasticsearch":
            default_location = not env.get("EXPERTPOOL_ES_PREFIX")
        else:
            default_location = not (db or env.get("EXPERTPOOL_DB"))
        return cls(
            backend=chosen,
            db_path=Path(db or env.get("EXPERTPOOL_DB") or default_db_path()),
            es_url=env.get("EXPERTPOOL_ES_URL"),
            es_index_prefix=env.get("EXPERTPOOL_ES_PREFIX", "expertpool"),
            es_api_key=env.get("EXPERTPOOL_ES_API_KEY"),
            es_username=env.get("EXPERTPOOL_ES_USER"),
            es_password=env.get("EXPERTPOOL_ES_PASSWORD"),
            es_ca_certs=env.get("EXPERTPOOL_ES_CA_CERTS"),
            default_location=default_location,
        )


def claimed_user() -> str | None:
    """`EXPERTPOOL_USER`, if set: who the caller says they are (checked against the store's own
    authentication where it has one: `services.access.acting_user`)."""
    return os.environ.get("EXPERTPOOL_USER") or None


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


@dataclass(frozen=True)
class SmtpConfig:
    """The outgoing mail server for invitations, from the environment (`from_env`; None when
    `EXPERTPOOL_SMTP_HOST` is not set: no e-mail is sent). The password is kept out of repr so it
    is never printed."""
    host: str
    port: str | None = None            # as written; default by security: 465 (ssl), 587 (starttls), 25 (none)
    security: str = "starttls"         # starttls | ssl | none
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str | None = None          # the From address, e.g. "川渝专家库 <review@example.cn>"
    timeout_s: str | None = None       # seconds, as written (checked where the connection is made)

    @classmethod
    def from_env(cls) -> "SmtpConfig | None":
        env = os.environ
        host = env.get("EXPERTPOOL_SMTP_HOST", "").strip()
        if not host:
            return None
        return cls(host=host, port=env.get("EXPERTPOOL_SMTP_PORT", "").strip() or None,
                   security=env.get("EXPERTPOOL_SMTP_TLS", "starttls").strip().lower() or "starttls",
                   user=env.get("EXPERTPOOL_SMTP_USER") or None, password=env.get("EXPERTPOOL_SMTP_PASSWORD") or None,
                   sender=env.get("EXPERTPOOL_SMTP_SENDER") or None, timeout_s=env.get("EXPERTPOOL_SMTP_TIMEOUT") or None)
