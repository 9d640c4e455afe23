"""How long work reports its progress: a small protocol with a do-nothing default. The CLI's rich
progress bar implements it (off when output is not a terminal, or with --quiet / --json); the
stores and the use cases only call it."""
from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Long work reports here. `total` None: a wait of unknown length (the bar pulses)."""

    def start(self, description: str, total: int | None) -> None: ...
    def advance(self, n: int = 1) -> None: ...
    def finish(self) -> None: ...


class NullProgress:
    def start(self, description: str, total: int | None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass
