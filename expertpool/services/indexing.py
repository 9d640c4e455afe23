"""Rebuilding the search index (after a dictionary or synonym change, or a mapping upgrade)."""
from __future__ import annotations

from expertpool.services.access import Actor, audit, check
from expertpool.progress import Progress
from expertpool.stores.base import ExpertStore, RebuildResult


def rebuild_index(store: ExpertStore, actor: Actor, progress: Progress | None = None) -> RebuildResult:
    """Re-segment every expert into a new index and swap it in atomically; audited."""
    check(actor, "import", "重建检索索引")
    result = store.rebuild_index(progress)
    audit(store, actor, "index.rebuild", target=result.index,
          after={"backend": store.backend, "index": result.index, "previous": result.previous,
                 "experts": result.experts})
    return result
