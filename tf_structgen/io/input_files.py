"""Opening user-supplied input files, with one-line errors for every failure.

Every reader in :mod:`tf_structgen.io` goes through these two functions, so a
missing path, a directory, an unreadable file, a truncated gzip stream or a
binary file all give the same kind of message: ``"<path>: <what is wrong>"``.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

from tf_structgen.common.errors import InputError

_GZIP_MAGIC = b"\x1f\x8b"


def check_input_file(path: str | os.PathLike) -> Path:
    """Returns ``path`` as a :class:`Path` after checking it is a readable file.

    Raises:
      InputError: if ``path`` does not exist, is a directory or is not readable.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a file")
    if not os.access(path, os.R_OK):
        raise InputError(f"{path}: cannot read file (permission denied)")
    return path


def read_bytes(path: str | os.PathLike) -> bytes:
    """Returns the content of ``path``, gunzipped if it starts with the gzip magic.

    Compression is detected from the content, not the name, so ``x.pdb`` that
    is really gzipped and ``x.json.gz`` both work.

    Raises:
      InputError: if the file cannot be read or its gzip stream is corrupt or
        truncated.
    """
    path = check_input_file(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read file ({e.strerror})") from None
    if not data.startswith(_GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError:
        raise InputError(f"{path}: truncated gzip file") from None
    except (OSError, zlib.error) as e:
        raise InputError(f"{path}: corrupt gzip file ({e})") from None


def read_text(path: str | os.PathLike) -> str:
    """Returns the (gunzipped) content of ``path`` decoded as UTF-8.

    Raises:
      InputError: as :func:`read_bytes`, or if the content is not UTF-8 text.
    """
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise InputError(
            f"{path}: not a text file (invalid UTF-8 at byte {e.start})") from None


def read_json(path: str | os.PathLike):
    """Returns the parsed content of the (optionally gzipped) JSON file ``path``.

    Raises:
      InputError: as :func:`read_text`, or if the content is not valid JSON.
    """
    # Read outside the try: read_text's InputError is a ValueError too, and
    # must not be wrapped again as "invalid JSON".
    text = read_text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: invalid JSON ({e.msg} at line {e.lineno}, "
                         f"column {e.colno})") from None
    except (ValueError, RecursionError) as e:
        raise InputError(f"{path}: invalid JSON ({one_line(e)})") from None


def one_line(error: BaseException) -> str:
    """Returns ``str(error)`` squeezed onto one line (for third-party messages)."""
    text = " ".join(str(error).split())
    return text or type(error).__name__


def matching_suffix(path: Path, suffixes) -> str | None:
    """The longest of ``suffixes`` that ends ``path``'s name (case-insensitive)."""
    name = Path(path).name.lower()
    return next((s for s in sorted(suffixes, key=len, reverse=True)
                 if name.endswith(s)), None)


def expand_paths(spec: str, suffixes, kind: str) -> list[Path]:
    """A file, a directory (its files with one of ``suffixes``) or a glob -> files.

    Raises:
      InputError: if a directory or pattern yields no file.
    """
    import glob

    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and matching_suffix(p, suffixes))
        if not files:
            raise InputError(f"{spec}: no {kind} files in this directory")
        return files
    if any(c in spec for c in "*?["):
        files = sorted(Path(p) for p in glob.glob(spec) if Path(p).is_file())
        if not files:
            raise InputError(f"{spec}: no file matches this pattern")
        return files
    return [path]
