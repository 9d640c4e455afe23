"""Files we write for users (reject lists, exports): whole or not at all."""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


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
    import errno

    reason = {errno.ENOSPC: "磁盘已满（No space left on device）", errno.EDQUOT: "超出磁盘配额",
              errno.EACCES: "没有写入权限", errno.EROFS: "文件系统只读"}.get(exc.errno, exc.strerror or str(exc))
    return f"{exc.filename}: {reason}" if getattr(exc, "filename", None) else reason
