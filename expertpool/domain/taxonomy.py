"""Controlled vocabularies: fields, regions, titles, honours, statuses.

Every normaliser here either returns a canonical value or raises `UnknownValue`;
nothing is guessed. Aliases are matched after full-width→half-width folding,
whitespace removal and ASCII lower-casing.
"""
from __future__ import annotations

from dataclasses import dataclass

from expertpool.domain.text import fold

# The 11 fields of the 2020 Sichuan–Chongqing framework agreement (seeds 003/004), in their order.
FIELDS: tuple[str, ...] = (
    "新一代信息技术",
    "人工智能",
    "航空航天",
    "先进制造",
    "汽车摩托车",
    "仪器仪表",
    "生物医药",
    "现代农业",
    "资源环境",
    "新能源",
    "新材料",
)

_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "新一代信息技术": ("信息技术", "电子信息", "新一代信息", "信息通信", "IT", "ICT", "next-generation it",
                 "information technology"),
    "人工智能": ("AI", "A.I.", "artificial intelligence", "智能科学"),
    "航空航天": ("航空", "航天", "aerospace", "航空航天技术"),
    "先进制造": ("智能制造", "高端装备", "装备制造", "先进制造技术", "advanced manufacturing", "manufacturing"),
    "汽车摩托车": ("汽车", "摩托车", "汽摩", "汽车与摩托车", "automotive", "automobile"),
    "仪器仪表": ("仪器", "仪表", "instrumentation", "instruments"),
    "生物医药": ("生物", "医药", "生物医学", "医药卫生", "biomedicine", "biopharma", "pharmaceuticals"),
    "现代农业": ("农业", "农业科技", "agriculture", "modern agriculture"),
    "资源环境": ("环境", "资源", "生态环境", "节能环保", "资源与环境", "environment", "resources and environment"),
    "新能源": ("能源", "清洁能源", "new energy", "energy"),
    "新材料": ("材料", "先进材料", "new materials", "materials"),
}

REGIONS: tuple[str, ...] = ("四川", "重庆")
REGION_CODES: dict[str, str] = {"四川": "SC", "重庆": "CQ"}
_REGION_ALIASES: dict[str, tuple[str, ...]] = {
    "四川": ("四川省", "川", "sichuan", "sc"),
    "重庆": ("重庆市", "渝", "chongqing", "cq"),
}

# Sichuan: 21 cities and prefectures (short names).
SICHUAN_SUBREGIONS: tuple[str, ...] = (
    "成都", "自贡", "攀枝花", "泸州", "德阳", "绵阳", "广元", "遂宁", "内江", "乐山", "南充",
    "眉山", "宜宾", "广安", "达州", "雅安", "巴中", "资阳", "阿坝", "甘孜", "凉山",
)
# Chongqing: 38 districts and counties plus the three functional zones named in seed 001.
CHONGQING_SUBREGIONS: tuple[str, ...] = (
    "万州区", "涪陵区", "渝中区", "大渡口区", "江北区", "沙坪坝区", "九龙坡区", "南岸区", "北碚区",
    "綦江区", "大足区", "渝北区", "巴南区", "黔江区", "长寿区", "江津区", "合川区", "永川区",
    "南川区", "璧山区", "铜梁区", "潼南区", "荣昌区", "开州区", "梁平区", "武隆区",
    "城口县", "丰都县", "垫江县", "忠县", "云阳县", "奉节县", "巫山县", "巫溪县",
    "石柱县", "秀山县", "酉阳县", "彭水县",
    "两江新区", "重庆高新区", "万盛经开区",
)
SUBREGIONS: dict[str, tuple[str, ...]] = {"四川": SICHUAN_SUBREGIONS, "重庆": CHONGQING_SUBREGIONS}

TITLES: tuple[str, ...] = ("正高级", "副高级", "中级", "其他")
SENIOR_TITLES = frozenset({"正高级", "副高级"})
_TITLE_ALIASES: dict[str, tuple[str, ...]] = {
    "正高级": ("正高", "教授", "研究员", "主任医师", "主任药师", "正高级工程师", "教授级高级工程师",
            "教授级高工", "正高级经济师", "正高级会计师", "农业技术推广研究员", "full senior", "professor"),
    "副高级": ("副高", "副教授", "副研究员", "副主任医师", "副主任药师", "高级工程师", "高工",
            "高级农艺师", "高级实验师", "高级经济师", "associate senior", "associate professor"),
    "中级": ("讲师", "助理研究员", "工程师", "主治医师", "农艺师", "实验师", "intermediate"),
    "其他": ("初级", "助理工程师", "无", "other"),
}


@dataclass(frozen=True)
class Honour:
    name: str
    high_level: bool  # counts towards the ~2,300 高层次人才 and the age-70 limit
    aliases: tuple[str, ...] = ()


HONOURS: tuple[Honour, ...] = (
    Honour("中国科学院院士", True, ("中科院院士", "科学院院士", "CAS院士")),
    Honour("中国工程院院士", True, ("工程院院士", "CAE院士")),
    Honour("长江学者", True, ("长江学者特聘教授", "长江学者讲座教授", "教育部长江学者")),
    Honour("国家杰出青年科学基金获得者", True, ("国家杰青", "杰青", "国家杰出青年")),
    Honour("国家万人计划", True, ("万人计划", "国家高层次人才特殊支持计划")),
    Honour("百千万人才工程国家级人选", True, ("百千万人才", "新世纪百千万人才工程国家级人选")),
    Honour("国家优秀青年科学基金获得者", True, ("国家优青", "优青")),
    Honour("享受国务院政府特殊津贴专家", False, ("国务院特殊津贴", "国务院政府特殊津贴", "政府特殊津贴")),
    Honour("天府学者", False, ("天府学者特聘专家",)),
    Honour("四川省学术和技术带头人", False, ("省学术技术带头人", "四川省学术技术带头人")),
    Honour("巴渝学者", False, ("巴渝学者特聘教授",)),
    Honour("重庆英才", False, ("重庆英才计划", "重庆英才·优秀科学家")),
)
HIGH_LEVEL_HONOURS = frozenset(h.name for h in HONOURS if h.high_level)
# Honours that count as 两院院士 for the "high-level talents up to 70" rule.
ACADEMICIANS = frozenset({"中国科学院院士", "中国工程院院士"})

STATUSES: tuple[str, ...] = ("在库", "暂停", "出库")
_STATUS_ALIASES: dict[str, tuple[str, ...]] = {
    "在库": ("正常", "有效", "active", "in pool"),
    "暂停": ("暂停使用", "冻结", "suspended", "paused"),
    "出库": ("退出", "已出库", "removed", "retired"),
}

GENDERS: tuple[str, ...] = ("男", "女")
_GENDER_ALIASES: dict[str, tuple[str, ...]] = {"男": ("m", "male", "男性"), "女": ("f", "female", "女性")}


class UnknownValue(ValueError):
    """A value is not in a controlled vocabulary. `kind` names the vocabulary."""

    def __init__(self, kind: str, value: str, choices: tuple[str, ...] | None = None):
        self.kind = kind
        self.value = value
        hint = f"；可选：{'、'.join(choices)}" if choices and len(choices) <= 12 else ""
        super().__init__(f"未知的{kind}「{value}」{hint}")


def _alias_table(canonical: tuple[str, ...], aliases: dict[str, tuple[str, ...]]) -> dict[str, str]:
    table: dict[str, str] = {}
    for name in canonical:
        table[fold(name)] = name
        for alias in aliases.get(name, ()):
            table[fold(alias)] = name
    return table


_FIELD_TABLE = _alias_table(FIELDS, _FIELD_ALIASES)
# "领域" suffix is common in the source documents ("新材料领域").
_FIELD_TABLE.update({fold(name + "领域"): name for name in FIELDS})
_REGION_TABLE = _alias_table(REGIONS, _REGION_ALIASES)
_TITLE_TABLE = _alias_table(TITLES, _TITLE_ALIASES)
_STATUS_TABLE = _alias_table(STATUSES, _STATUS_ALIASES)
_GENDER_TABLE = _alias_table(GENDERS, _GENDER_ALIASES)
_HONOUR_TABLE = {fold(a): h.name for h in HONOURS for a in (h.name, *h.aliases)}


def _subregion_table() -> dict[str, tuple[str, str]]:
    table: dict[str, tuple[str, str]] = {}
    for region, names in SUBREGIONS.items():
        for name in names:
            table[fold(name)] = (region, name)
            if region == "四川":
                suffix = "州" if name in ("阿坝", "甘孜", "凉山") else "市"
                table[fold(name + suffix)] = (region, name)
                if suffix == "州":
                    table[fold(name + "自治州")] = (region, name)
            else:
                bare = name.removesuffix("区").removesuffix("县")
                if bare and bare not in ("两江新", "重庆高新", "万盛经开"):
                    table.setdefault(fold(bare), (region, name))
    table[fold("石柱土家族自治县")] = ("重庆", "石柱县")
    table[fold("秀山土家族苗族自治县")] = ("重庆", "秀山县")
    table[fold("酉阳土家族苗族自治县")] = ("重庆", "酉阳县")
    table[fold("彭水苗族土家族自治县")] = ("重庆", "彭水县")
    return table


_SUBREGION_TABLE = _subregion_table()


def _lookup(table: dict[str, str], kind: str, value: str, choices: tuple[str, ...]) -> str:
    key = fold(value)
    if key in table:
        return table[key]
    raise UnknownValue(kind, value, choices)


def normalise_field(value: str) -> str:
    return _lookup(_FIELD_TABLE, "专业领域", value, FIELDS)


def normalise_region(value: str) -> str:
    return _lookup(_REGION_TABLE, "地区", value, REGIONS)


def normalise_title(value: str) -> str:
    return _lookup(_TITLE_TABLE, "职称", value, TITLES)


def normalise_status(value: str) -> str:
    return _lookup(_STATUS_TABLE, "状态", value, STATUSES)


def normalise_gender(value: str) -> str:
    return _lookup(_GENDER_TABLE, "性别", value, GENDERS)


def normalise_honour(value: str) -> str:
    return _lookup(_HONOUR_TABLE, "人才称号", value, tuple(h.name for h in HONOURS))


def normalise_subregion(value: str, region: str | None = None) -> tuple[str, str]:
    """Return (region, sub-region). With `region` given, the sub-region must lie in it."""
    key = fold(value)
    found = _SUBREGION_TABLE.get(key)
    if found is None:
        raise UnknownValue("市州/区县", value)
    if region is not None and found[0] != region:
        raise UnknownValue("市州/区县", f"{value}（不属于{region}）")
    return found


def is_high_level(honours: list[str] | tuple[str, ...]) -> bool:
    return any(h in HIGH_LEVEL_HONOURS for h in honours)
