"""Every command has help text with an example and appears in the README's command reference."""
from __future__ import annotations

from pathlib import Path

import typer

from expertpool.cli.main import app

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def leaf_commands(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        if hasattr(command, "commands"):  # a sub-app (typer's group type)
            yield from leaf_commands(command, prefix + (name,))
        else:
            yield prefix + (name,), command


def test_every_command_is_documented():
    root = typer.main.get_command(app)
    commands = list(leaf_commands(root))
    assert len(commands) >= 20
    for path, command in commands:
        assert command.help and "Example: expertpool" in command.help, path
        assert f"expertpool {' '.join(path)}" in README or f"{path[0]} {path[1]}" in README, path
