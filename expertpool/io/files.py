"""Files a user names on the command line: read them, make room to write them, and write them
whole.

A path the user gave that cannot be used (missing, a directory, no permission, not text) is bad
input: `InputError` (exit 2) naming the path, never an `OSError` that would read as a storage
failure (exit 5) or escape as a traceback. A file we write for the user (a reject list, an export)
is written through a temporary file and renamed (`atomic_output`): whole, or not at all; a failure
while writing it (a full disk) is an `OSError`, described by `describe_os_error`.
"""
from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

from expertpool.errors import InputError


def _unusable(path: Path, exc: OSError, what: str) -> InputError:
    if isinstance(exc, FileNotFoundError):
        return InputError(f"{path}: {what}不存在")
    if isinstance(exc, IsADirectoryError):
        return InputError(f"{path}: 是目录，不是{what}")
    if isinstance(exc, NotADirectoryError):
        return InputError(f"{path}: 路径中有一段不是目录")
    if isinstance(exc, PermissionError):
        return InputError(f"{path}: 没有读写该{what}的权限")
    return InputError(f"{path}: 无法使用该{what}（{exc.strerror or exc}）")


def read_input_bytes(path: str | Path, what: str = "文件") -> bytes:
    """The bytes of a file the user named (an import file, a spec, a policy, an anchors file)."""
    path = Path(path)
    try:
        return path.read_bytes()
    except OSError as exc:
        raise _unusable(path, exc, what) from None


def read_input_text(path: str | Path, what: str = "文件") -> str:
    """A UTF-8 text file the user named (a BOM is allowed)."""
    data = read_input_bytes(path, what)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what}应为 UTF-8 编码（第 {exc.start} 字节无法解码）") from None


def check_input_file(path: str | Path, what: str = "文件") -> Path:
    """`path`, if it names a readable file (for readers that open it themselves)."""
    path = Path(path)
    try:
        with path.open("rb"):
            pass
    except OSError as exc:
        raise _unusable(path, exc, what) from None
    return path


def output_directory(path: str | Path, what: str = "输出目录") -> Path:
    """`path` as a directory to write into, created if missing."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise InputError(f"{path}: 已有同名文件，不是目录（{what}）") from None
    except OSError as exc:
        raise _unusable(path, exc, what) from None
    return path


def output_file(path: str | Path, what: str = "输出文件") -> Path:
    """`path` as a file to (re)write: its directory is created if missing; it must not be a directory."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path}: 是目录；请给出文件名（{what}）")
    output_directory(path.parent, f"{what}所在目录")
    return path


@contextlib.contextmanager
def atomic_output(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; when the block ends, it replaces `target` in one
    rename. If the block (or the rename) fails — a full disk, say — the temporary file is removed
    and `target` is left as it was, never half written."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        yield tmp
        with open(tmp, "rb") as written:  # on a full disk the data may fail only at the flush
            os.fsync(written.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def describe_os_error(exc: OSError) -> str:
    """The cause in words (磁盘已满 for ENOSPC), with the file when known."""
    reason = {errno.ENOSPC: "磁盘已满（No space left on device）", errno.EDQUOT: "超出磁盘配额",
              errno.EACCES: "没有写入权限", errno.EROFS: "文件系统只读"}.get(exc.errno, exc.strerror or str(exc))
    return f"{exc.filename}: {reason}" if getattr(exc, "filename", None) else reason
