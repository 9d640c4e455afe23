"""Secret keys kept outside every store and cache: loading, creating (0600) and fingerprinting.

A key protects something that lives elsewhere, so it must never sit beside it: the identity-hash
key (HMAC-SHA256 of identity numbers) would let anyone holding a copy of the store test guesses
of the numbers; the cache key authenticates files in the cache directory, which anyone who could
plant a file there could otherwise forge.

Each key is named by a `KeySpec`: an environment variable that holds it (hex, at least 32 bytes),
else a file `<name>.key` in the key directory (`EXPERTPOOL_KEY_DIR`, default `keys/` in the
user's config directory), created on first need with mode 0600. Deployments that must share a
key (both provinces' identity-hash key) copy the file or set the variable to the same value;
`fingerprint` lets them compare keys without showing them. New kinds of key (e.g. for sealing
panel results) add a `KeySpec` and reuse the rest.

Infrastructure, not domain: this module reads the environment and files.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from expertpool.errors import ExpertPoolError

#: bytes of a generated key, and the fewest a configured key may have
KEY_BYTES = 32


class KeyUnavailable(ExpertPoolError):
    """A key the command needs is missing or unusable; the message says how to provide it."""

    exit_code = 2


@dataclass(frozen=True)
class KeySpec:
    name: str       # file stem: `<key dir>/<name>.key`
    env: str        # environment variable that may hold the key (hex)
    label: str      # what it is, for messages (Chinese: users read them)


#: HMAC-SHA256 key of identity numbers; the same on both provinces' deployments
ID_HASH_KEY = KeySpec("id-hash", "EXPERTPOOL_ID_KEY", "证件号码哈希密钥")
#: authenticates the pool-snapshot and rank-index cache files (per user; never shared)
CACHE_KEY = KeySpec("cache", "EXPERTPOOL_CACHE_KEY", "本地缓存校验密钥")
#: encrypts sealed panel results (`panel build --sealed-until`) in the store; shared by everyone
#: who runs the invitation process of a sealed panel on that store
SEAL_KEY = KeySpec("panel-seal", "EXPERTPOOL_SEAL_KEY", "专家组密封密钥")


def key_dir() -> Path:
    configured = os.environ.get("EXPERTPOOL_KEY_DIR")
    if configured:
        return Path(configured)
    from platformdirs import user_config_dir

    return Path(user_config_dir("expertpool", appauthor=False)) / "keys"


def key_path(spec: KeySpec) -> Path:
    return key_dir() / f"{spec.name}.key"


def _parse(text: str, where: str, spec: KeySpec) -> bytes:
    value = text.strip()
    try:
        key = bytes.fromhex(value)
    except ValueError:
        key = b""
    if len(key) < KEY_BYTES:
        raise KeyUnavailable(f"{where}: {spec.label}应为至少 {KEY_BYTES * 2} 个十六进制字符"
                             f"（可用 python3 -c \"import secrets; print(secrets.token_hex({KEY_BYTES}))\" 生成）")
    return key


def load_key(spec: KeySpec) -> bytes | None:
    """The key from its environment variable, else from its file; None when neither exists."""
    configured = os.environ.get(spec.env)
    if configured:
        return _parse(configured, spec.env, spec)
    path = key_path(spec)
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXO | stat.S_IWGRP):
            raise KeyUnavailable(f"{path}: {spec.label}文件可被其他用户读取或改写；请执行 chmod 600 {path}")
        return _parse(path.read_text(encoding="ascii", errors="replace"), str(path), spec)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise KeyUnavailable(f"{path}: 无法读取{spec.label}（{exc.strerror or exc}）") from None


def load_or_create_key(spec: KeySpec) -> bytes:
    """The key (see `load_key`); when there is none, a new random one written to its file with
    mode 0600. Two processes creating it at once end up with the same key (the first file wins)."""
    key = load_key(spec)
    if key is not None:
        return key
    path = key_path(spec)
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{spec.name}-", suffix=".tmp")  # mode 0600
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                os.link(tmp, path)  # never replaces a key another process wrote meanwhile
            except FileExistsError:
                pass
        finally:
            Path(tmp).unlink(missing_ok=True)
    except OSError as exc:
        raise KeyUnavailable(f"{path}: 无法创建{spec.label}（{exc.strerror or exc}）；"
                             f"可改用环境变量 {spec.env} 提供密钥") from None
    key = load_key(spec)
    if key is None:  # removed between link and read: nothing sensible to do but say so
        raise KeyUnavailable(f"{path}: {spec.label}文件创建后消失")
    return key


def fingerprint(key: bytes) -> str:
    """A short public name of a key: equal keys, equal fingerprints; it reveals nothing of the key
    (an HMAC of a constant), so it can be stored and printed to compare two deployments' keys."""
    return hmac.new(key, b"expertpool key fingerprint v1", hashlib.sha256).hexdigest()[:16]


__all__ = ["CACHE_KEY", "ID_HASH_KEY", "SEAL_KEY", "KEY_BYTES", "KeySpec", "KeyUnavailable", "fingerprint", "key_dir",
           "key_path", "load_key", "load_or_create_key"]
