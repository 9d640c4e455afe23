"""`expertpool search | show | stats`: the program officer's look-ups."""
from __future__ import annotations

from typing import List, Optional

import typer
from rich.text import Text

from expertpool.cli.app import JSON_OPTION, console, print_json, state


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        ctx: typer.Context,
        query: str = typer.Argument("", help="中文检索词，如「钒钛新材料 制备」；为空时按筛选条件列出"),
        field: List[str] = typer.Option([], "--field", "-f", help="专业领域（可多次给出；接受别名如 AI）"),
        region: List[str] = typer.Option([], "--region", "-r", help="所在地区：四川 / 重庆"),
        title: List[str] = typer.Option([], "--title", "-t", help="职称：正高级 / 副高级 / 中级 / 其他"),
        honour: List[str] = typer.Option([], "--honour", help="人才称号，如 长江学者、国家杰青"),
        institution: List[str] = typer.Option([], "--institution", "-i",
                                              help="工作单位（全称、简称或曾用名均可，按法人单位匹配，含下属医院、院所）"),
        status: List[str] = typer.Option([], "--status", help="状态：在库 / 暂停 / 出库 / 全部（默认只列在库专家）"),
        eligible_on: Optional[str] = typer.Option(None, "--eligible-on",
                                                  help="只保留该日期可参加评审的专家（排除科研诚信处理期内者）"),
        limit: int = typer.Option(20, "--limit", "-n", help="最多返回条数"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """按中文关键词和筛选条件检索专家，按相关度排序（默认只列在库专家）。

        每个检索词都会说明去向：命中、按同义词命中、库中无此词按字词命中、未找到，或作为停用词未参与检索。

        Example: expertpool search "锂离子电池 正极材料" --region 重庆 --title 正高级
        """
        from expertpool.services.search import SearchRequest, result_view, search_experts

        store, _ = state(ctx).authorise("read", "检索专家")
        request = SearchRequest(query, tuple(field), tuple(region), tuple(title), tuple(honour),
                                tuple(institution), tuple(status), limit, eligible_on=eligible_on or None)
        result = search_experts(store, request)
        if json_output:
            print_json(result_view(result))
            return
        render_hits(result)

    @app.command()
    def show(
        ctx: typer.Context,
        expert_id: str = typer.Argument(..., help="专家编号（四川或重庆名单中的编号均可）"),
        on: Optional[str] = typer.Option(None, "--on", help="按该日期判断能否参加评审（默认今天）"),
        json_output: bool = JSON_OPTION,
    ) -> None:
        """查看一位专家：基本信息、工作经历、关联关系，以及某日能否参加评审。

        Example: expertpool show SC-000123 --on 2026-12-01 --json
        """
        from expertpool.services.profile import expert_profile

        store, actor = state(ctx).authorise("read", "查看专家")
        profile = expert_profile(store, expert_id, actor, on)
        if json_output:
            print_json(profile)
            return
        render_profile(profile)

    @app.command()
    def stats(ctx: typer.Context, json_output: bool = JSON_OPTION) -> None:
        """专家库统计：地区 × 领域、职称、人才称号。

        Example: expertpool stats
        """
        from expertpool.services.search import pool_stats

        store, _ = state(ctx).authorise("read", "查看统计")
        result = pool_stats(store)
        if json_output:
            print_json(result.to_json())
            return
        render_stats(result)


def render_hits(result) -> None:
    from rich.table import Table
    from rich.text import Text

    out = console()
    words = sorted({a for t in result.terms for a in t.alternatives}, key=len, reverse=True)
    wide = out.width >= 140
    table = Table(title=f"检索结果（{len(result.hits)} 位）", show_lines=False)
    for header in ("#", "编号", "姓名", "地区", "单位", "职称", "领域", "关键词" + (" / 研究方向" if wide else ""),
                   "命中", "得分"):
        table.add_column(header, no_wrap=header in ("#", "编号", "姓名", "职称", "得分"), overflow="fold")
    for rank, hit in enumerate(result.hits, 1):
        e = hit.expert
        detail = Text("、".join(e.keywords))
        if wide and e.research:
            detail.append("\n" + (e.research[:60] + ("…" if len(e.research) > 60 else "")), style="dim")
        for w in words:
            detail.highlight_words([w], style="bold yellow", case_sensitive=False)
        table.add_row(str(rank), e.id, e.name, e.sub_region or e.region, e.institution, e.title,
                      "、".join(e.fields), detail, matched_label(hit), f"{hit.score:.2f}")
    if result.words:
        out.print(words_line(result.words), highlight=False)
    out.print(table)
    if result.excluded:
        out.print(f"已排除该日期不能参加评审的专家 {len(result.excluded)} 位。")
    if not result.hits:
        out.print("没有找到匹配的专家。")


def matched_label(hit) -> str:
    """What of the query one expert matched: 姓名, whole words, words matched only partly
    (动力电池≈电池), and the first feedback words it holds (相关词：…)."""
    parts = ["姓名"] if hit.name_matched else []
    parts += list(hit.matched)
    parts += [f"{word}≈{'、'.join(grams)}" for word, grams in hit.partial]
    if hit.related:  # found through words the best matches use (pseudo-relevance feedback)
        parts.append(f"相关词：{'、'.join(hit.related[:RELATED_SHOWN])}" + ("…" if len(hit.related) > RELATED_SHOWN else ""))
    return "、".join(parts)


#: feedback words shown per expert in the table (the JSON lists them all)
RELATED_SHOWN = 3


def words_line(words) -> str:
    """One line accounting for every query word, e.g. 检索词：页岩气（命中，12 位）；压裂（未找到）."""
    from expertpool.services.search import WORD_STATUSES

    items = []
    for w in words:
        detail = WORD_STATUSES[w.status]
        if w.via:
            detail += f"：{'、'.join(w.via)}"
        if w.experts:
            detail += f"，{w.experts} 位"
        items.append(f"{w.word}（{detail}）")
    return "检索词：" + "；".join(items)


def render_profile(profile: dict) -> None:
    from rich.table import Table

    out = console()
    table = Table(show_header=False, title=f"{profile['name']}（{profile['id']}）")
    table.add_column("项", style="bold")
    table.add_column("值", overflow="fold")
    labels = {"source_ids": "来源编号", "gender": "性别", "birth_year": "出生年份", "region": "所在地区",
              "sub_region": "市州/区县", "institution": "工作单位", "department": "部门", "title": "职称",
              "honours": "人才称号", "fields": "专业领域", "discipline": "学科", "research": "研究方向",
              "keywords": "关键词", "phone": "手机", "email": "邮箱", "id_last4": "证件后四位", "status": "状态",
              "eligible": "可参加评审", "barred_by": "限制评审的诚信记录", "paused": "评价暂停"}
    for key, label in labels.items():
        value = profile.get(key)
        if isinstance(value, dict):
            value = "；".join(f"{k}:{v}" for k, v in value.items())
        elif isinstance(value, list):
            value = "、".join(map(str, value))
        elif isinstance(value, bool):
            value = "是" if value else "否"
        table.add_row(label, "" if value is None else str(value))
    out.print(table)
    for section, title in (("affiliations", "工作经历"), ("relations", "关联关系"), ("integrity", "科研诚信记录"),
                           ("reviews", f"近一年评审（{profile.get('eligible_on')} 前 12 个月）"),
                           ("upcoming", f"已入选的评审（{profile.get('eligible_on')} 起）"),
                           ("evaluations", "专家评价")):
        items = profile.get(section) or []
        if items:
            out.print(f"[bold]{title}[/]（{len(items)}）", markup=True)
            for item in items:
                out.print("  " + item, highlight=False)


def render_stats(stats) -> None:
    from rich.table import Table

    from expertpool.domain import taxonomy

    out = console()
    grid = Table(title=f"专家库统计：共 {stats.total} 位（两地名单合并 {stats.merged} 位，高层次人才 {stats.high_level} 位）")
    grid.add_column("专业领域")
    for region in taxonomy.REGIONS:
        grid.add_column(region, justify="right")
    grid.add_column("合计", justify="right")
    for f in taxonomy.FIELDS:
        counts = [stats.region_field[r][f] for r in taxonomy.REGIONS]
        grid.add_row(f, *map(str, counts), str(sum(counts)))
    totals = [sum(stats.titles[r].values()) for r in taxonomy.REGIONS]
    grid.add_row(Text("专家人数", style="bold"), *map(str, totals), str(sum(totals)))
    out.print(grid)
    titles = Table(title="职称")
    titles.add_column("职称")
    for region in taxonomy.REGIONS:
        titles.add_column(region, justify="right")
    titles.add_column("占比", justify="right")
    for t in taxonomy.TITLES:
        counts = [stats.titles[r][t] for r in taxonomy.REGIONS]
        share = sum(counts) / stats.total if stats.total else 0
        titles.add_row(t, *map(str, counts), f"{share:.1%}")
    out.print(titles)
    honours = Table(title="人才称号")
    honours.add_column("称号")
    honours.add_column("人数", justify="right")
    for name, count in stats.honours.items():
        if count:
            honours.add_row(name, str(count))
    out.print(honours)
