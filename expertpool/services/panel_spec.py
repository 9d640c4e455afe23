"""A panel's spec: the rules of one panel, from a TOML spec file (README "Panel rules") and/or
command-line flags, validated through the vocabularies; `to_rules()` gives the solver's rules and
`eligibility_rules()` who may sit on it."""
from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Any

from expertpool.domain import taxonomy
from expertpool.domain.eligibility import PANEL_RULES, EligibilityRules
from expertpool.domain.panel import STRATEGIES, PanelRules
from expertpool.domain.text import parse_date
from expertpool.errors import InputError


@dataclass(frozen=True)
class PanelSpec:
    """The rules of one panel, from a TOML spec file and/or CLI flags (see README)."""
    name: str = "评审专家组"
    session: str | None = None   # 评审活动 (the review session the panel is for), for the record sheet
    group: str | None = None     # 组别 within the session
    place: str | None = None     # 评审地点, for invitations and the record sheet
    review_date: dt.date = field(default_factory=dt.date.today)
    size: int = 15
    fields: tuple[str, ...] | str = "all"
    min_per_field: int = 1
    coverage: str = "any"
    regions: Mapping[str, tuple[float, float]] = field(
        default_factory=lambda: {"四川": (0.4, 0.6), "重庆": (0.4, 0.6)})
    min_full_senior_share: float = 0.6
    max_per_institution: int | None = 1
    max_age: int = 65
    max_age_high_level: int = 70
    max_reviews_per_year: int | None = 10
    projects: tuple[str, ...] | str = ()  # a projects JSONL path, or ids of stored projects
    backups: int = 5
    mode: str = "lottery"
    max_probability: float | None = None
    relevance_threshold: float = 0.3
    seed: int = 0
    time_limit_s: float = 30.0
    policy: str | None = None  # conflict-policy TOML overriding indexes/coi_policy.toml

    def resolved_fields(self) -> tuple[str, ...]:
        if self.fields == "all":
            return taxonomy.FIELDS
        return tuple(self.fields)

    def to_rules(self, with_projects: bool = True) -> PanelRules:
        """The solver's rules. Without projects under review nobody has a relevance, so the
        lottery's relevance threshold does not apply."""
        return PanelRules(size=self.size, fields=self.resolved_fields(), min_per_field=self.min_per_field,
                          coverage=self.coverage, region_bounds=dict(self.regions),
                          min_full_senior_share=self.min_full_senior_share,
                          max_per_institution=self.max_per_institution, mode=self.mode,
                          max_probability=self.max_probability, backups=self.backups, seed=self.seed,
                          time_limit_s=self.time_limit_s,
                          relevance_threshold=self.relevance_threshold if with_projects else 0.0)

    def eligibility_rules(self) -> EligibilityRules:
        """Who may sit on this panel: every eligibility rule, with this spec's limits."""
        return EligibilityRules(PANEL_RULES, max_age=self.max_age, max_age_high_level=self.max_age_high_level,
                                max_reviews_per_year=self.max_reviews_per_year)

    def to_json(self) -> dict:
        data = asdict(self)
        data["review_date"] = self.review_date.isoformat()
        data["regions"] = {k: list(v) for k, v in self.regions.items()}
        return data


_SPEC_KEYS = {f.name for f in dc_fields(PanelSpec)}
# TOML bare keys are ASCII-only, but officers write `regions = { 四川 = [0.4, 0.6] }` as in the spec
# template; such keys are quoted before parsing (only outside strings: after `{`, `,` or a line start).
_BARE_CJK_KEY = re.compile(r'(^|[{,])(\s*)([^\s"\'=\[\]{},#]*[^\x00-\x7f][^\s"\'=\[\]{},#]*)(\s*=)', re.M)


def _quote_cjk_keys(text: str) -> str:
    return _BARE_CJK_KEY.sub(lambda m: f'{m.group(1)}{m.group(2)}"{m.group(3)}"{m.group(4)}', text)


def load_spec(path: Path | None = None, overrides: Mapping[str, Any] | None = None) -> PanelSpec:
    """Read a TOML spec (unknown keys are errors naming the file and key), apply CLI overrides,
    normalise field and region names through the vocabularies."""
    data: dict[str, Any] = {}
    where = "命令行参数"
    if path is not None:
        where = str(path)
        try:
            data = tomllib.loads(_quote_cjk_keys(Path(path).read_text(encoding="utf-8")))
        except FileNotFoundError:
            raise InputError(f"{path}: 规则文件不存在") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: 不是有效的 TOML（{exc}）") from None
        unknown = sorted(set(data) - _SPEC_KEYS)
        if unknown:
            raise InputError(f"{path}: 未知的规则项 {', '.join(unknown)}；可用：{', '.join(sorted(_SPEC_KEYS))}")
        if "projects" in data and isinstance(data["projects"], str) and not data["projects"].startswith("/"):
            # A relative projects path in a spec file is relative to the spec file.
            candidate = Path(path).parent / data["projects"]
            if candidate.exists():
                data["projects"] = str(candidate.resolve())
    for key, value in (overrides or {}).items():
        if value is not None:
            data[key] = value
    try:
        if "review_date" in data:
            data["review_date"] = parse_date(data["review_date"])
        if isinstance(data.get("fields"), list):
            data["fields"] = tuple(dict.fromkeys(taxonomy.normalise_field(f) for f in data["fields"]))
        elif "fields" in data and data["fields"] != "all":
            raise InputError(f"{where}: fields 应为 \"all\" 或领域列表")
        if "regions" in data:
            regions = {}
            for name, bounds in dict(data["regions"]).items():
                if not (isinstance(bounds, (list, tuple)) and len(bounds) == 2):
                    raise InputError(f"{where}: regions.{name} 应为 [下限, 上限]，如 [0.4, 0.6]")
                regions[taxonomy.normalise_region(name)] = (float(bounds[0]), float(bounds[1]))
            data["regions"] = regions
        if isinstance(data.get("projects"), (list, tuple)):
            data["projects"] = tuple(str(p) for p in data["projects"])
        # Saved with the panel: an absolute path lets `panel show --reproduce` run from anywhere.
        if isinstance(data.get("projects"), str):
            data["projects"] = (data["projects"],)
        if data.get("projects"):
            data["projects"] = tuple(str(Path(p).resolve()) if Path(p).exists() else p for p in data["projects"])
        spec = PanelSpec(**data)
    except taxonomy.UnknownValue as exc:
        raise InputError(f"{where}: {exc}") from None
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise InputError(f"{where}: 规则项类型错误（{exc}）") from None
    if spec.mode not in STRATEGIES:
        raise InputError(f"{where}: 未知的抽取方式「{spec.mode}」；可选：{'、'.join(STRATEGIES)}（--mode）")
    return spec


def strategy_names() -> tuple[str, ...]:
    return tuple(STRATEGIES)
