"""Experts and records with realistic Chinese text, for tests and (later) benchmarks.

`make_expert(...)` builds one expert with sensible defaults, any field overridable;
`generate_experts(n, seed)` builds a reproducible pool spread over the 11 fields and both
regions, with research descriptions drawn from each field's vocabulary.
"""
from __future__ import annotations

import datetime as dt
import random

from expertpool.domain.models import Expert, IntegrityRecord

#: field → (discipline, department, topic words)
FIELD_TOPICS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "新一代信息技术": ("信息与通信工程", "信息与通信工程学院",
                 ("5G通信", "物联网", "集成电路设计", "云计算", "网络安全", "区块链", "大数据分析", "边缘计算", "光纤通信")),
    "人工智能": ("计算机科学与技术", "计算机学院",
             ("机器学习", "深度学习", "计算机视觉", "自然语言处理", "知识图谱", "强化学习", "图像识别", "语音识别", "智能决策")),
    "航空航天": ("航空宇航科学与技术", "航空航天学院",
             ("飞行器设计", "航空发动机", "复合材料结构", "飞行控制", "卫星导航", "空气动力学", "无人机", "结构强度")),
    "先进制造": ("机械工程", "机械工程学院",
             ("数控机床", "工业机器人", "增材制造", "精密加工", "智能制造", "故障诊断", "数字孪生", "摩擦学")),
    "汽车摩托车": ("车辆工程", "汽车工程学院",
              ("新能源汽车", "动力电池管理", "自动驾驶", "整车控制", "内燃机", "轻量化设计", "车联网", "摩托车底盘")),
    "仪器仪表": ("仪器科学与技术", "光电工程学院",
             ("传感器", "精密测量", "光谱分析", "在线监测", "计量校准", "无损检测", "光纤传感")),
    "生物医药": ("药学", "华西药学院",
             ("中药现代化", "药物代谢", "肿瘤免疫", "基因治疗", "疫苗研发", "医学影像", "生物制药", "抗体药物")),
    "现代农业": ("作物学", "农学与生物科技学院",
             ("水稻育种", "柑橘栽培", "生猪养殖", "茶叶加工", "土壤改良", "农业遥感", "植物保护", "榨菜加工")),
    "资源环境": ("环境科学与工程", "环境与生态学院",
             ("水污染治理", "大气污染防治", "页岩气开发", "地质灾害防治", "固废资源化", "生态修复", "碳排放核算")),
    "新能源": ("电气工程", "电气工程学院",
            ("光伏发电", "储能技术", "氢能", "风力发电", "锂离子电池", "智能电网", "水电开发")),
    "新材料": ("材料科学与工程", "材料科学与工程学院",
            ("钒钛新材料", "石墨烯", "高分子材料", "稀土功能材料", "纳米材料", "先进陶瓷", "高温合金")),
}

INSTITUTIONS: dict[str, tuple[str, ...]] = {
    "四川": ("四川大学", "电子科技大学", "西南交通大学", "成都大学", "西南科技大学", "中国工程物理研究院",
           "中国科学院成都生物研究所"),
    "重庆": ("重庆大学", "西南大学", "重庆邮电大学", "重庆医科大学", "中国汽车工程研究院"),
}
SUBREGIONS: dict[str, tuple[str, ...]] = {
    "四川": ("成都", "绵阳", "德阳", "南充", "攀枝花", "宜宾"),
    "重庆": ("沙坪坝区", "北碚区", "南岸区", "渝北区", "九龙坡区"),
}
SURNAMES = "张王李刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志宏海燕红晓东文博"
HONOURS = ("长江学者", "国家杰出青年科学基金获得者", "享受国务院政府特殊津贴专家", "天府学者", "巴渝学者", "重庆英才")
TITLES = ("正高级", "正高级", "副高级", "副高级", "副高级", "中级")

_TEMPLATES = (
    "主要从事{a}与{b}研究，在{c}方面取得系列成果。",
    "长期致力于{a}的基础理论与工程应用，近年来开展{b}和{c}关键技术攻关。",
    "研究方向为{a}、{b}，主持国家重点研发计划项目，研究{c}在行业中的应用。",
    "围绕{a}开展研究，兼顾{b}，承担多项{c}相关的省部级科研项目。",
)


def make_expert(id: str = "SC-000001", **overrides) -> Expert:
    """One valid expert; pass any `Expert` field to override the default."""
    region = overrides.get("region") or ("重庆" if id.startswith("CQ") else "四川")
    data = {
        "id": id,
        "source_ids": {region: id},
        "name": "张伟",
        "gender": "男",
        "birth_year": 1975,
        "region": region,
        "sub_region": SUBREGIONS[region][0],
        "institution": INSTITUTIONS[region][0],
        "department": "计算机学院",
        "title": "正高级",
        "honours": [],
        "fields": ["人工智能"],
        "discipline": "计算机科学与技术",
        "research": "主要从事机器学习与计算机视觉研究，在图像识别方面取得系列成果。",
        "keywords": ["机器学习", "计算机视觉"],
        "phone": "13800000000",
        "email": "expert@example.cn",
        "status": "在库",
    }
    data.update(overrides)
    return Expert(**data)


def generate_experts(n: int, seed: int = 0) -> list[Expert]:
    """`n` reproducible experts across the 11 fields and both regions."""
    rng = random.Random(seed)
    fields = list(FIELD_TOPICS)
    out = []
    for i in range(n):
        region = "四川" if i % 3 else "重庆"
        primary = fields[i % len(fields)]
        chosen = [primary]
        if rng.random() < 0.4:
            chosen.append(rng.choice([f for f in fields if f != primary]))
        discipline, department, _ = FIELD_TOPICS[primary]
        pool = [t for f in chosen for t in FIELD_TOPICS[f][2]]
        topics = rng.sample(pool, 3)
        keywords = rng.sample(pool, rng.randint(2, 4))
        code = "SC" if region == "四川" else "CQ"
        expert_id = f"{code}-{i + 1:06d}"
        out.append(make_expert(
            id=expert_id,
            source_ids={region: expert_id},
            name=rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2))),
            gender=rng.choice(("男", "女")),
            birth_year=rng.randint(1958, 1990),
            region=region,
            sub_region=rng.choice(SUBREGIONS[region]),
            institution=rng.choice(INSTITUTIONS[region]),
            department=department,
            title=rng.choice(TITLES),
            honours=[rng.choice(HONOURS)] if rng.random() < 0.15 else [],
            fields=chosen,
            discipline=discipline,
            research=rng.choice(_TEMPLATES).format(a=topics[0], b=topics[1], c=topics[2]),
            keywords=keywords,
            status="在库" if rng.random() < 0.9 else "暂停",
        ))
    return out


def make_integrity_record(**overrides) -> IntegrityRecord:
    """An active one-year sanction on SC-000001 from 2026-01-01; any field overridable."""
    data = dict(id="IR-1", expert_id="SC-000001", category="抄袭剽窃", severity="一般", start=dt.date(2026, 1, 1),
                end=dt.date(2027, 1, 1))
    data.update(overrides)
    return IntegrityRecord(**data)
