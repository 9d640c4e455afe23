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
from rich.text import Text

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
    from expertpool.domain.text import mask_personal

    # Messages may quote what the user typed or a stored cell: never an identity or phone number.
    err_console().print(Text("错误：", style="bold red") + Text(mask_personal(message)), highlight=False,
                        soft_wrap=True)
    raise typer.Exit(code)


@functools.cache
def console():
    from rich.console import Console

    # Markup off: names, units and file values are printed as written (a cell "[/x]" would
    # otherwise be a markup error). The few styled lines pass markup=True and escape their data.
    return Console(markup=False)


@functools.cache
def err_console():
    from rich.console import Console

    return Console(stderr=True, markup=False)


def print_json(data: Any) -> None:
    """One JSON document on stdout (dates as ISO strings, Chinese unescaped, indented by two).
    orjson writes it: the standard library's encoder is pure Python once it indents (a panel's
    1.4 MB took ≈ 0.1 s, `coi check --json` on a large pool seconds); anything orjson will not
    take goes through the standard encoder, with the same result."""
    import orjson

    try:
        text = orjson.dumps(data, default=_json_default,
                            option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY).decode()
    except orjson.JSONEncodeError:
        text = json.dumps(data, ensure_ascii=False, indent=2, default=_json_default)
    sys.stdout.write(text + "\n")


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
    _user: str | None = field(default=None, repr=False)

    def config(self):
        from expertpool.config import StoreConfig

        return StoreConfig.from_env(backend=self.backend, db=self.db)

    def store(self, *, may_create: bool = False, create: bool = False):
        """The store. Only a writing command (`may_create`) may make a new one, and only when the
        user asked (`create`, its --create flag) or the store is at the default location: a
        mistyped --db otherwise exits 2 naming the path instead of answering from an empty store."""
        if self._store is None:
            from expertpool.config import claimed_user, login_name
            from expertpool.services.access import acting_user
            from expertpool.stores import open_store

            def authenticated(principal: str | None) -> None:
                # before the store is opened or created: a refused user changes nothing
                self._user = acting_user(principal, claimed_user(), login_name())

            config = self.config()
            self._store = open_store(config, create=may_create and (create or config.default_location),
                                     on_authenticated=authenticated)
            if self._user is None:
                authenticated(self._store.authenticated_user())
            if self._store.created and not self.quiet:
                err_console().print(Text(f"已新建数据库：{config.location()}"), highlight=False, soft_wrap=True)
        return self._store

    def user(self) -> str:
        """The acting user (`services.access.acting_user`): known once the store is open."""
        self.store()
        return self._user

    def authorise(self, permission: str, what: str, *, may_create: bool = False, create: bool = False):
        """(store, actor) for the acting user, if they hold `permission`; else PermissionDenied naming
        `what` was refused. Every command starts here (`may_create`, `create`: see `store`)."""
        from expertpool.services.access import require

        store = self.store(may_create=may_create, create=create)
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
CREATE_OPTION = typer.Option(False, "--create",
                             help="数据库不存在时新建（--db/EXPERTPOOL_DB 指定的路径需要此项；默认位置首次使用时自动新建）")
