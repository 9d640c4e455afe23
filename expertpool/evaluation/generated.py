"""Generated experts as `Expert` records straight from the synthetic generator (no files, no
import), with their true topics: a quick pool for tests that compare rankings."""
from __future__ import annotations

from expertpool.domain.models import Expert
from expertpool.synthetic.generate import generate_experts


def generated_experts(count: int, seed: int) -> tuple[list[Expert], dict[str, list[str]]]:
    """`count` experts of both regions and each one's true research topics (id → topics)."""
    experts, topics = [], {}
    for e in generate_experts(count, seed):
        experts.append(Expert(
            id=e.id, source_ids={e.region: e.id}, name=e.name, gender=e.gender, birth_year=e.birth_year,
            region=e.region, sub_region=e.sub_region, institution=e.institution, department=e.department or None,
            title=e.title, honours=list(e.honours), fields=list(e.fields), discipline=e.discipline,
            research=e.research, keywords=list(e.keywords), status=e.status))
        topics[e.id] = list(e.topics)
    return experts, topics
