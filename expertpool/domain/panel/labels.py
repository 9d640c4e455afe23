"""How the panel's English keys (modes, solve statuses, replacement methods) are named to users:
one mapping for every screen, progress line, export and record sheet. The keys stay in specs,
flags and JSON."""
from __future__ import annotations

#: the draw modes (`strategies.STRATEGIES`)
MODE_LABELS: dict[str, str] = {"lottery": "随机抽取", "best": "择优抽取"}
#: how a draw's end (`SolveStatus`) is named to users
STATUS_LABELS: dict[str, str] = {"optimal": "最优", "feasible": "可行（未证明最优）", "infeasible": "无可行解",
                                 "timeout": "超时"}
#: how a replacement's method is named to users
METHOD_LABELS: dict[str, str] = {"backup": "备选依次替补", "re-solve": "重新求解该席位"}


def mode_label(mode: str | None) -> str:
    """The Chinese name of a draw mode (`MODE_LABELS`); a mode this code does not know is shown as stored."""
    return MODE_LABELS.get(mode or "", mode or "")


def status_label(status: object) -> str:
    return STATUS_LABELS.get(str(status), str(status))


def method_label(method: str) -> str:
    return METHOD_LABELS.get(method, method)
