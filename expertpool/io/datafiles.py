"""The data files beside the code and the review's own: the legal-unit alias table
(indexes/institutions.toml), the conflict policy (indexes/coi_policy.toml, or a review's policy
file of the same shape), the honour vocabulary (indexes/honours.toml), the evaluation policy
(indexes/evaluation_policy.toml) and the invitation settings with their e-mail template
(indexes/invitation.toml), read and validated into domain objects. A bad file is an `InputError`
naming the file and key."""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from expertpool.domain.conflicts import ConflictPolicy, PolicyError
from expertpool.domain.evaluation import EvaluationPolicy, EvaluationPolicyError
from expertpool.domain.institutions import InstitutionTable, InstitutionTableError
from expertpool.domain.panel.invitations import parse_template
from expertpool.domain.taxonomy import HonourVocabulary
from expertpool.errors import InputError
from expertpool.io.files import read_input_text
from expertpool.segment import INDEXES_DIR


def default_institutions_path() -> Path:
    return INDEXES_DIR / "institutions.toml"


def default_policy_path() -> Path:
    return INDEXES_DIR / "coi_policy.toml"


def default_honours_path() -> Path:
    return INDEXES_DIR / "honours.toml"


def _read_toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(read_input_text(path, f"{what}文件"))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: TOML 格式错误（{exc}）") from None


_TABLE_CACHE: dict[tuple[str, float], InstitutionTable] = {}


def load_institutions(path: str | Path | None = None) -> InstitutionTable:
    """The alias table of legal units (default indexes/institutions.toml), cached per file version."""
    path = Path(path) if path else default_institutions_path()
    stamp = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    if stamp not in _TABLE_CACHE:
        data = _read_toml(path, "单位别名表")
        try:
            _TABLE_CACHE[stamp] = InstitutionTable.from_mapping(data)
        except InstitutionTableError as exc:
            raise InputError(f"{path}: {exc.key}: {exc.reason}") from None
    return _TABLE_CACHE[stamp]


_HONOURS_CACHE: dict[tuple[str, float], HonourVocabulary] = {}


def load_honours(path: str | Path | None = None) -> HonourVocabulary:
    """人才称号: known honours, aliases and an administrator's mappings (default
    indexes/honours.toml), cached per file version, so an edit applies to the next command."""
    path = Path(path) if path else default_honours_path()
    stamp = (str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    if stamp not in _HONOURS_CACHE:
        try:
            _HONOURS_CACHE[stamp] = HonourVocabulary.from_mapping(_read_toml(path, "人才称号词表"), str(path))
        except ValueError as exc:
            raise InputError(str(exc)) from None
    return _HONOURS_CACHE[stamp]


def load_policy(path: str | Path | None = None, overrides: Mapping[str, Any] | None = None) -> ConflictPolicy:
    """The shipped defaults (indexes/coi_policy.toml), then the review's own policy file `path`
    (same shape; keys not given keep their defaults), then `overrides` — nested like the TOML or
    with dotted keys ({"coauthor.years": 3}). Unknown keys and out-of-range values raise
    InputError naming the file and key."""
    defaults = default_policy_path()
    policy = ConflictPolicy()
    layers: list[tuple[str, Mapping]] = []
    if defaults.exists():
        layers.append((str(defaults), _read_toml(defaults, "回避规则")))
    if path is not None:
        layers.append((str(path), _read_toml(Path(path), "回避规则")))
    if overrides:
        layers.append(("回避规则覆盖项", overrides))
    for source, data in layers:
        try:
            policy = policy.apply(data)
        except PolicyError as exc:
            raise InputError(f"{source}: {exc.key}: {exc.reason}") from None
    return policy


def policy_from(policy: ConflictPolicy | Mapping | str | Path | None) -> ConflictPolicy:
    """A policy as given, from a TOML path, from a mapping of overrides, or the defaults (None)."""
    if isinstance(policy, ConflictPolicy):
        return policy
    if isinstance(policy, (str, Path)):
        return load_policy(policy)
    return load_policy(overrides=policy)


def default_evaluation_policy_path() -> Path:
    return INDEXES_DIR / "evaluation_policy.toml"


def load_evaluation_policy(path: str | Path | None = None) -> EvaluationPolicy:
    """The evaluation policy (default indexes/evaluation_policy.toml, or `EXPERTPOOL_EVALUATION_POLICY`):
    which evaluations pause an expert from draws, and for how long."""
    path = Path(path or os.environ.get("EXPERTPOOL_EVALUATION_POLICY") or default_evaluation_policy_path())
    data = _read_toml(path, "评价政策")
    try:
        return EvaluationPolicy.from_mapping(data)
    except EvaluationPolicyError as exc:
        raise InputError(f"{path}: {exc.key}: {exc.reason}") from None


@dataclass(frozen=True)
class InvitationSettings:
    """indexes/invitation.toml: when unanswered calls open a seat, and the e-mail template."""
    max_unanswered: int
    subject: str
    body: str
    template_path: Path


def load_invitation_settings(path: str | Path | None = None, template: str | Path | None = None) -> InvitationSettings:
    """The invitation settings (default indexes/invitation.toml, or `EXPERTPOOL_INVITATION_CONFIG`)
    and their template (or `template`), every placeholder checked: an unknown one is an InputError
    naming the file and the placeholder."""
    path = Path(path or os.environ.get("EXPERTPOOL_INVITATION_CONFIG") or INDEXES_DIR / "invitation.toml")
    data = _read_toml(path, "邀请设置")
    unknown = sorted(set(data) - {"max_unanswered", "template"})
    if unknown:
        raise InputError(f"{path}: 未知的设置项 {', '.join(unknown)}；可用：max_unanswered, template")
    max_unanswered = data.get("max_unanswered", 3)
    if not isinstance(max_unanswered, int) or isinstance(max_unanswered, bool) or max_unanswered < 1:
        raise InputError(f"{path}: max_unanswered: 应为正整数")
    template_path = Path(template) if template else path.parent / str(data.get("template", "invitation_email.txt"))
    # like every file the user names: missing, a directory, unreadable or not UTF-8 is bad input
    subject, body = parse_template(read_input_text(template_path, "邀请邮件模板"), str(template_path))
    return InvitationSettings(max_unanswered, subject, body, template_path)
