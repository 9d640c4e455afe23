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

# Functional zones (新区, 高新区, 经开区 …) that real lists write in the 市州/区县 column. Chongqing's
# three named in seed 001 are sub-regions of their own (the pairing table treats them as peers of
# the districts); the 重庆经开区 lies in 南岸区. A Sichuan zone lies within one city, and Sichuan's
# sub-regions are its 21 cities and prefectures, so it maps to its city. Names follow the official
# lists of national new areas, national high-tech zones and national economic-development zones
# (and the provincial new areas 东部新区, 三江新区). A bare 高新区 names no city and stays unknown.
FUNCTIONAL_ZONES: dict[str, tuple[str, str]] = {
    **{alias: ("重庆", "两江新区") for alias in ("重庆两江新区", "两江新区(重庆)", "两江新区管委会")},
    **{alias: ("重庆", "重庆高新区") for alias in ("重庆高新技术产业开发区", "重庆高新技术产业开发区管委会",
                                               "西部(重庆)科学城", "重庆西部科学城", "西部科学城重庆高新区")},
    **{alias: ("重庆", "万盛经开区") for alias in ("万盛经济技术开发区", "重庆万盛经济技术开发区", "万盛区", "万盛")},
    **{alias: ("重庆", "南岸区") for alias in ("重庆经开区", "重庆经济技术开发区")},
    **{alias: ("四川", "成都") for alias in (
        "天府新区", "四川天府新区", "成都天府新区", "天府新区成都直管区", "天府新区成都片区",
        "成都高新区", "成都高新技术产业开发区", "高新区(成都)", "成都东部新区", "东部新区",
        "成都经开区", "成都经济技术开发区")},
    "天府新区眉山片区": ("四川", "眉山"),
    **{alias: ("四川", "绵阳") for alias in ("中国(绵阳)科技城", "绵阳科技城", "绵阳科技城新区")},
    **{alias: ("四川", "宜宾") for alias in ("宜宾三江新区", "三江新区")},
    **{f"{city}{kind}": ("四川", city) for city, kinds in {
        "绵阳": ("高新区", "经开区"), "自贡": ("高新区",), "乐山": ("高新区",), "泸州": ("高新区",),
        "攀枝花": ("钒钛高新区", "高新区"), "德阳": ("高新区", "经开区"), "内江": ("高新区", "经开区"),
        "宜宾": ("高新区", "临港经开区"), "遂宁": ("高新区", "经开区"), "广安": ("经开区",), "广元": ("经开区",),
        "雅安": ("经开区",), "南充": ("高新区", "经开区"), "达州": ("高新区",), "眉山": ("高新区",),
        "资阳": ("高新区",)}.items() for kind in kinds},
}
_REGION_PREFIXES = {"四川": ("四川省", "四川"), "重庆": ("重庆市", "重庆")}

# Sichuan's county-level divisions (districts, counties, county-level cities; the official list
# as of 2024) by city or prefecture: a list that writes 双流区 or 成都市双流区 names 成都. A name two
# cities share (市中区: 内江 and 乐山) or too short to be told apart (东区, 西区) is read only after
# its city (内江市市中区, 攀枝花市东区).
SICHUAN_COUNTIES: dict[str, tuple[str, ...]] = {
    "成都": ("锦江区", "青羊区", "金牛区", "武侯区", "成华区", "龙泉驿区", "青白江区", "新都区", "温江区",
           "双流区", "郫都区", "新津区", "金堂县", "大邑县", "蒲江县", "都江堰市", "彭州市", "邛崃市",
           "崇州市", "简阳市"),
    "自贡": ("自流井区", "贡井区", "大安区", "沿滩区", "荣县", "富顺县"),
    "攀枝花": ("东区", "西区", "仁和区", "米易县", "盐边县"),
    "泸州": ("江阳区", "纳溪区", "龙马潭区", "泸县", "合江县", "叙永县", "古蔺县"),
    "德阳": ("旌阳区", "罗江区", "中江县", "广汉市", "什邡市", "绵竹市"),
    "绵阳": ("涪城区", "游仙区", "安州区", "三台县", "盐亭县", "梓潼县", "北川羌族自治县", "平武县", "江油市"),
    "广元": ("利州区", "昭化区", "朝天区", "旺苍县", "青川县", "剑阁县", "苍溪县"),
    "遂宁": ("船山区", "安居区", "蓬溪县", "大英县", "射洪市"),
    "内江": ("市中区", "东兴区", "威远县", "资中县", "隆昌市"),
    "乐山": ("市中区", "沙湾区", "五通桥区", "金口河区", "犍为县", "井研县", "夹江县", "沐川县",
           "峨边彝族自治县", "马边彝族自治县", "峨眉山市"),
    "南充": ("顺庆区", "高坪区", "嘉陵区", "南部县", "营山县", "蓬安县", "仪陇县", "西充县", "阆中市"),
    "眉山": ("东坡区", "彭山区", "仁寿县", "洪雅县", "丹棱县", "青神县"),
    "宜宾": ("翠屏区", "南溪区", "叙州区", "江安县", "长宁县", "高县", "珙县", "筠连县", "兴文县", "屏山县"),
    "广安": ("广安区", "前锋区", "岳池县", "武胜县", "邻水县", "华蓥市"),
    "达州": ("通川区", "达川区", "宣汉县", "开江县", "大竹县", "渠县", "万源市"),
    "雅安": ("雨城区", "名山区", "荥经县", "汉源县", "石棉县", "天全县", "芦山县", "宝兴县"),
    "巴中": ("巴州区", "恩阳区", "通江县", "南江县", "平昌县"),
    "资阳": ("雁江区", "安岳县", "乐至县"),
    "阿坝": ("马尔康市", "汶川县", "理县", "茂县", "松潘县", "九寨沟县", "金川县", "小金县", "黑水县",
           "壤塘县", "阿坝县", "若尔盖县", "红原县"),
    "甘孜": ("康定市", "泸定县", "丹巴县", "九龙县", "雅江县", "道孚县", "炉霍县", "甘孜县", "新龙县",
           "德格县", "白玉县", "石渠县", "色达县", "理塘县", "巴塘县", "乡城县", "稻城县", "得荣县"),
    "凉山": ("西昌市", "会理市", "木里藏族自治县", "盐源县", "德昌县", "会东县", "宁南县", "普格县", "布拖县",
           "金阳县", "昭觉县", "喜德县", "冕宁县", "越西县", "甘洛县", "美姑县", "雷波县"),
}
#: the official names of Sichuan's three autonomous prefectures
_PREFECTURE_NAMES = {"阿坝": "阿坝藏族羌族自治州", "甘孜": "甘孜藏族自治州", "凉山": "凉山彝族自治州"}

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


#: What an administrator's mapping may say besides a known honour's name (indexes/honours.toml).
HIGH_LEVEL_MARK = "高层次人才"
OTHER_HONOUR_MARK = "其他称号"


class HonourVocabulary:
    """人才称号 as an open vocabulary (indexes/honours.toml): known honours and their aliases
    normalise to the canonical name; an administrator's mappings make more values known; anything
    else is kept as written and reported by the importer (`normalise` says whether it was known).

    Pure: built from parsed data; `io.datafiles.load_honours()` reads indexes/honours.toml."""

    def __init__(self, honours: tuple[Honour, ...], mappings: dict[str, str] | None = None, source: str = ""):
        self.honours = honours
        self.source = source
        self._table: dict[str, str] = {fold(a): h.name for h in honours for a in (h.name, *h.aliases)}
        self.high_level_names: set[str] = {h.name for h in honours if h.high_level}
        #: the names `normalise` stores for known values (canonical names, mapped values kept)
        self.known_names: set[str] = {h.name for h in honours}
        for value, target in (mappings or {}).items():
            name = " ".join(str(value).split())
            target = " ".join(str(target).split())
            if target == HIGH_LEVEL_MARK:
                self._table[fold(name)] = name
                self.high_level_names.add(name)
                self.known_names.add(name)
            elif target == OTHER_HONOUR_MARK:
                self._table[fold(name)] = name
                self.known_names.add(name)
            elif fold(target) in self._table:
                self._table[fold(name)] = self._table[fold(target)]
            else:
                raise ValueError(f"{source or '人才称号词表'}: [mappings] 中「{name}」映射到未知的称号「{target}」；"
                                 f"应为已知称号、{HIGH_LEVEL_MARK} 或 {OTHER_HONOUR_MARK}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.honours)

    def normalise(self, value: str) -> tuple[str, bool]:
        """(name to store, known?). An unknown value comes back as written (trimmed)."""
        found = self._table.get(fold(value))
        if found is not None:
            return found, True
        return " ".join(value.split()), False

    def is_high_level(self, honours) -> bool:
        names = self.high_level_names
        return any(h in names or self._table.get(fold(h)) in names for h in honours)

    @classmethod
    def from_mapping(cls, data: dict, source: str = "") -> "HonourVocabulary":
        """From the parsed data file (indexes/honours.toml: [[honour]] entries and [mappings]);
        ValueError naming `source` when it does not have that shape."""
        try:
            honours = tuple(Honour(str(h["name"]), bool(h.get("high_level", False)),
                                   tuple(str(a) for a in h.get("aliases", ())))
                            for h in data.get("honour", ()))
            mappings = {str(k): str(v) for k, v in dict(data.get("mappings", {})).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"{source or '人才称号词表'}: 格式错误（{exc}）") from None
        return cls(honours, mappings, source)


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

    def __init__(self, kind: str, value: str, choices: tuple[str, ...] | None = None, hint: str = ""):
        self.kind = kind
        self.value = value
        hint = hint or (f"；可选：{'、'.join(choices)}" if choices and len(choices) <= 12 else "")
        super().__init__(f"未知的{kind}「{value}」{hint}")


#: names that many cities give a zone or district: they name no place without the city in front
AMBIGUOUS_PLACES = frozenset({"高新区", "高新技术产业开发区", "经开区", "经济技术开发区", "新区", "市中区", "东区",
                              "西区", "开发区", "科学城"})


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
                    table[fold(_PREFECTURE_NAMES[name])] = (region, name)
            else:
                bare = name.removesuffix("区").removesuffix("县")
                if bare and bare not in ("两江新", "重庆高新", "万盛经开"):
                    table.setdefault(fold(bare), (region, name))
    table[fold("石柱土家族自治县")] = ("重庆", "石柱县")
    table[fold("秀山土家族苗族自治县")] = ("重庆", "秀山县")
    table[fold("酉阳土家族苗族自治县")] = ("重庆", "酉阳县")
    table[fold("彭水苗族土家族自治县")] = ("重庆", "彭水县")
    for alias, found in FUNCTIONAL_ZONES.items():
        table[fold(alias)] = found
        if found[0] == "四川" and alias.startswith(found[1]):  # 成都市高新区 as well as 成都高新区
            table.setdefault(fold(found[1] + "市" + alias[len(found[1]):]), found)
    shared = {c for city, counties in SICHUAN_COUNTIES.items() for c in counties
              if sum(c in other for other in SICHUAN_COUNTIES.values()) > 1}
    for city, counties in SICHUAN_COUNTIES.items():
        city_names = (city, city + ("州" if city in _PREFECTURE_NAMES else "市"), _PREFECTURE_NAMES.get(city, city))
        for county in counties:
            for prefix in city_names:                           # 成都市双流区, 凉山州西昌市
                table.setdefault(fold(prefix + county), ("四川", city))
            if county not in shared and (len(county) > 2 or county.endswith("县")) and fold(county) not in table:
                table[fold(county)] = ("四川", city)
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


def normalise_honour(value: str, vocabulary: HonourVocabulary) -> str:
    """A known honour's canonical name; an unknown one raises (the importer keeps those instead)."""
    name, known = vocabulary.normalise(value)
    if not known:
        raise UnknownValue("人才称号", value)
    return name


def normalise_subregion(value: str, region: str | None = None) -> tuple[str, str]:
    """Return (region, sub-region). With `region` given, the sub-region must lie in it."""
    key = fold(value)
    found = _SUBREGION_TABLE.get(key)
    if found is None:  # 重庆市渝北区, 四川省成都市: the region written in front
        for prefixed_region, prefixes in _REGION_PREFIXES.items():
            for prefix in prefixes:
                rest = _SUBREGION_TABLE.get(key.removeprefix(fold(prefix))) if key.startswith(fold(prefix)) else None
                if rest is not None and rest[0] == prefixed_region:
                    found = rest
                    break
            if found is not None:
                break
    if found is None:
        bare = fold(value)
        for prefixes in _REGION_PREFIXES.values():      # 四川高新区 names no city either
            bare = next((bare.removeprefix(fold(p)) for p in prefixes if bare.startswith(fold(p))), bare)
        ambiguous = bare in {fold(name) for name in AMBIGUOUS_PLACES}
        raise UnknownValue("市州/区县", value, hint="：多个城市都有此名，请在前面写明城市（如 成都高新区、内江市市中区）"
                           if ambiguous else "")
    if region is not None and found[0] != region:
        raise UnknownValue("市州/区县", f"{value}（不属于{region}）")
    return found

