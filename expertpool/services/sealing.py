"""Sealed panel results: what is hidden, and how it is stored.

A sealed panel's document keeps everything public about the draw (the spec without its seed, the
pool figures, exclusions by reason, the solver's status, the seal with its counts and state) and
replaces every part that names or would let someone recompute a member — members, backups,
alternates, each member's replacements, the drawn members, the replacement and invitation logs,
the reply codes, the open-seat diagnoses, and the seed — by one AES-256-GCM ciphertext
(`sealed_payload`), authenticated with the panel id so it cannot be moved to another panel. The key
is `keys.SEAL_KEY`, outside the store (an environment variable or a 0600 file in the user's config
directory), like the identity-hash key: someone reading the store's file or index finds no member.
"""
from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from expertpool import keys
from expertpool.errors import ExpertPoolError

#: the document keys a seal hides, with the value they have in the stored document meanwhile
SEALED_KEYS: dict[str, Any] = {
    "members": [], "backups": [], "alternates": [], "replacements": {}, "drawn_members": None, "replaced": [],
    "invitations": [], "reply_codes": {}, "unfilled": {}, "refill_pending": {}, "seed": 0,
    "warnings": [],   # same-day warnings name members
}
PAYLOAD_KEY = "sealed_payload"
_NONCE = 12


def seal_key() -> bytes:
    """The sealing key (created with mode 0600 on first use where none is configured)."""
    return keys.load_or_create_key(keys.SEAL_KEY)[:32]


def key_fingerprint() -> str:
    return keys.fingerprint(seal_key())


def seal_document(document: dict[str, Any], panel_id: str) -> dict[str, Any]:
    """The stored form of a sealed panel's full document (see the module docstring)."""
    secret = {k: document.get(k) for k in SEALED_KEYS}
    secret["spec_seed"] = document["spec"].get("seed")
    plain = json.dumps(secret, ensure_ascii=False, separators=(",", ":")).encode()
    nonce = os.urandom(_NONCE)
    ciphertext = AESGCM(seal_key()).encrypt(nonce, plain, panel_id.encode())
    stored = {k: v for k, v in document.items() if k not in SEALED_KEYS}
    for key, placeholder in SEALED_KEYS.items():
        if placeholder is not None:
            stored[key] = placeholder
    stored["spec"] = {**document["spec"], "seed": 0}
    stored[PAYLOAD_KEY] = base64.b64encode(nonce + ciphertext).decode("ascii")
    return stored


def is_sealed_document(document: dict[str, Any]) -> bool:
    return PAYLOAD_KEY in document


def open_document(document: dict[str, Any], panel_id: str) -> dict[str, Any]:
    """The full document of a stored sealed one. A wrong key or a changed ciphertext is an error
    naming the key (never a silent empty panel); without a key the error says which is needed
    (reading never creates one: a new key could open nothing)."""
    blob = base64.b64decode(document[PAYLOAD_KEY])
    sealed_with = document.get("seal", {}).get("key_fingerprint")
    provide = f"请用环境变量 {keys.SEAL_KEY.env} 或文件 {keys.key_path(keys.SEAL_KEY)} 提供密封时所用的密钥"
    key = keys.load_key(keys.SEAL_KEY)
    if key is None:
        raise keys.KeyUnavailable(
            f"专家组 {panel_id} 的名单已密封（密钥指纹 {sealed_with}）；读取它需要密封时所用的{keys.SEAL_KEY.label}，"
            f"抽取专家组与安排评审会也要读取它（密封名单中的专家同样占用当日席位和年度评审次数），"
            f"而本机没有配置该密钥。{provide}")
    try:
        plain = AESGCM(key[:32]).decrypt(blob[:_NONCE], blob[_NONCE:], panel_id.encode())
    except InvalidTag:
        raise ExpertPoolError(
            f"专家组 {panel_id} 的密封名单无法解密：当前的{keys.SEAL_KEY.label}（指纹 {keys.fingerprint(key[:32])}）"
            f"不是密封时所用的（指纹 {sealed_with}），或密文已被改动。{provide}") from None
    secret = json.loads(plain)
    spec_seed = secret.pop("spec_seed", None)
    full = {k: v for k, v in document.items() if k != PAYLOAD_KEY}
    for key in SEALED_KEYS:
        if secret.get(key) is None:
            full.pop(key, None)
        else:
            full[key] = secret[key]
    full["spec"] = {**document["spec"], "seed": spec_seed}
    return full
