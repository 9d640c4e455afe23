"""`panel show`: the saved panel with where its invitations stand and how its members were evaluated."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from expertpool.domain.models import Evaluation
from expertpool.domain.panel import invitations
from expertpool.domain.panel.record import PanelRecord
from expertpool.io.datafiles import load_invitation_settings
from expertpool.services.access import Actor, check
from expertpool.services.evaluations import panel_evaluations
from expertpool.services.panels import load_panel, panel_state, shown_to
from expertpool.stores.base import ExpertStore


@dataclass
class PanelView:
    record: PanelRecord                     # the public view while sealed
    state: invitations.PanelState
    statuses: dict[str, invitations.MemberStatus] = field(default_factory=dict)   # empty while sealed
    evaluations: dict[str, Evaluation] = field(default_factory=dict)


def panel_view(store: ExpertStore, actor: Actor, panel_id: str, now: dt.datetime | None = None) -> PanelView:
    check(actor, "panel.read", "查看评审专家组")
    record = load_panel(store, actor, panel_id, now=now)
    if record.sealed:
        return PanelView(shown_to(actor, record), panel_state(record))
    max_unanswered = load_invitation_settings().max_unanswered
    statuses = invitations.member_statuses(record.member_ids(), record.invitations, max_unanswered)
    evaluations = panel_evaluations(store, record.member_ids(), panel_id) if record.id else {}
    return PanelView(shown_to(actor, record), panel_state(record, max_unanswered), statuses,
                     {k: e.model_copy(update={"note": actor.readable(e.note)}) for k, e in evaluations.items()})
