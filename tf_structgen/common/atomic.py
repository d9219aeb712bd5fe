"""Atomic file output: a failed or killed run never leaves a partial file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import IO, Iterator

from tf_structgen.common.errors import InputError


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w",
                 encoding: str | None = "utf-8") -> Iterator[IO]:
    """Opens a temporary file beside ``path``; renames it onto ``path`` on success.

    On any exception the temporary file is removed and ``path`` is untouched.

    Raises:
      InputError: if the parent directory does not exist or is not writable.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{path}: output directory {parent} does not exist")
    if "b" in mode:
        encoding = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                   dir=parent)
    except OSError as e:
        raise InputError(f"{path}: cannot write here ({e.strerror})") from None
    try:
        # mkstemp creates 0600 files; give the usual permissions instead.
        os.chmod(tmp, _default_mode(0o666))
        with os.fdopen(fd, mode, encoding=encoding) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike) -> Iterator[Path]:
    """Yields a temporary folder beside ``path``; renames it onto ``path`` on success.

    An existing ``path`` is replaced only once the new folder is complete; on
    any exception the temporary folder is removed and ``path`` is untouched.
    """
    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, _default_mode(0o777))  # mkdtemp made it 0700
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _default_mode(mode: int) -> int:
    """``mode`` less the process umask (what open()/mkdir() would give)."""
    umask = os.umask(0)
    os.umask(umask)
    return mode & ~umask
