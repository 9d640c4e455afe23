"""The CLI's shared machinery: a Typer that turns expected errors into messages, the global
options (store, acting user), JSON output and the rich progress bar.

Only the CLI layer imports rich or prints. Heavy libraries are imported inside commands so
`expertpool --help` stays fast.
"""
from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import typer

from expertpool.errors import ExpertPoolError


class ExpertPoolTyper(typer.Typer):
    """A Typer whose commands report `ExpertPoolError` (the stores translate their backends' errors
    into it) and file errors as one clear line on stderr with a non-zero exit, never a stack trace."""

    def __init__(self, **kwargs):
        kwargs.setdefault("pretty_exceptions_enable", False)
        kwargs.setdefault("no_args_is_help", True)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(**kwargs)

    def command(self, *args, **kwargs):
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable) -> Callable:
            @functools.wraps(fn)
            def wrapper(*a, **kw):
                try:
                    return fn(*a, **kw)
                except ExpertPoolError as exc:
                    fail(str(exc), exc.exit_code)
                except OSError as exc:
                    from expertpool.io.files import describe_os_error

                    fail(describe_os_error(exc), 5)

            register(wrapper)
            return fn

        return decorator


def fail(message: str, code: int = 1) -> None:
    err_console().print(f"[bold red]错误：[/]{message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@functools.cache
def console():
    from rich.console import Console

    return Console()


@functools.cache
def err_console():
    from rich.console import Console

    return Console(stderr=True)


def print_json(data: Any) -> None:
    """One JSON document on stdout (dates as ISO strings, Chinese unescaped)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=_json_default) + "\n")


def _json_default(obj):
    if hasattr(obj, "isoformat"):
        return obj.isoformat()
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump(mode="json")
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


@dataclass
class State:
    """Global options, resolved lazily so `--help` never opens a store."""
    db: Path | None = None
    backend: str | None = None
    quiet: bool = False
    _store: Any = field(default=None, repr=False)

    def config(self):
        from expertpool.config import StoreConfig

        return StoreConfig.from_env(backend=self.backend, db=self.db)

    def store(self):
        if self._store is None:
            from expertpool.stores import open_store

            self._store = open_store(self.config())
        return self._store

    def user(self) -> str:
        from expertpool.config import acting_user

        return acting_user()

    def authorise(self, permission: str, what: str):
        """(store, actor) for the acting user, if they hold `permission`; else PermissionDenied naming
        `what` was refused. Every command starts here."""
        from expertpool.services.access import require

        store = self.store()
        return store, require(store, self.user(), permission, what)

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def state(ctx: typer.Context) -> State:
    root = ctx.find_root()
    if not isinstance(root.obj, State):
        root.obj = State()
    return root.obj


class RichProgress:
    """The `Progress` protocol as a rich progress bar on stderr; silent when not a terminal."""

    def __init__(self, enabled: bool):
        self.enabled = enabled and err_console().is_terminal
        self._progress = None
        self._task = None

    def start(self, description: str, total: int | None) -> None:
        if not self.enabled:
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.finish()
        self._progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=err_console(), transient=True)
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def finish(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


def progress_for(ctx: typer.Context, json_output: bool = False) -> RichProgress:
    return RichProgress(enabled=not (json_output or state(ctx).quiet))


JSON_OPTION = typer.Option(False, "--json", help="以 JSON 输出（便于程序处理）")
