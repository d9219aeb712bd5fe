"""Assertions shared by the I/O tests (importable: pytest puts tests/ on sys.path)."""

import builtins
import errno
import io
import os

import pytest

from tf_structgen.common.errors import InputError


def assert_input_error(call, path, match):
    """``call()`` raises one line "<path>: ..." matching ``match``."""
    with pytest.raises(InputError, match=match) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{path}: "), message
    assert "\n" not in message
    return message


# Permission errors without chmod. Root (CI runs as root) reads and writes
# any file whatever its mode bits, so `chmod 0` cannot make a file unreadable
# there. These helpers make the calls the package uses (os.access, open,
# os.open, os.mkdir, os.replace) answer for the given paths as the kernel
# answers a user without permission: os.access says no, and opening or
# creating raises PermissionError(EACCES). Root meets the same errors for
# real on an NFS share with root squash.

def _resolved(path) -> str | None:
    """``path``'s absolute real path; None for a file descriptor."""
    if isinstance(path, int):
        return None
    return os.path.realpath(os.fspath(path))


def _denied(path) -> PermissionError:
    return PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))


def deny_reading(monkeypatch, *paths) -> None:
    """Makes ``paths`` behave like files with mode 000 for a non-root user."""
    denied = {_resolved(p) for p in paths}
    real_access, real_open, real_os_open = os.access, builtins.open, os.open

    def access(path, mode, **kwargs):
        if mode & os.R_OK and _resolved(path) in denied:
            return False
        return real_access(path, mode, **kwargs)

    def open_(file, *args, **kwargs):
        if _resolved(file) in denied:
            raise _denied(file)
        return real_open(file, *args, **kwargs)

    def os_open(path, *args, **kwargs):
        if _resolved(path) in denied:
            raise _denied(path)
        return real_os_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)  # pathlib's Path.open
    monkeypatch.setattr(os, "open", os_open)


def deny_writing(monkeypatch, directory, *, access_knows: bool = True) -> None:
    """Makes ``directory`` behave like a read-only folder (mode 500) for a
    non-root user: nothing can be created, renamed or written into it.

    ``access_knows=False`` keeps os.access saying "writable", as when the
    folder turns read-only after a check (or on NFS with root squash), so
    that the failure comes at the write itself.
    """
    denied = _resolved(directory)
    real_access, real_open = os.access, builtins.open
    real_os_open, real_mkdir, real_replace = os.open, os.mkdir, os.replace

    def inside(path) -> bool:
        resolved = _resolved(path)
        return resolved is not None and os.path.dirname(resolved) == denied

    def access(path, mode, **kwargs):
        if access_knows and mode & os.W_OK and _resolved(path) == denied:
            return False
        return real_access(path, mode, **kwargs)

    def open_(file, mode="r", *args, **kwargs):
        if inside(file) and any(c in mode for c in "wax+"):
            raise _denied(file)
        return real_open(file, mode, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):
        if inside(path) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise _denied(path)
        return real_os_open(path, flags, *args, **kwargs)

    def mkdir(path, *args, **kwargs):
        if inside(path):
            raise _denied(path)
        return real_mkdir(path, *args, **kwargs)

    def replace(src, dst, *args, **kwargs):
        if inside(src) or inside(dst):
            raise _denied(dst)
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(builtins, "open", open_)
    monkeypatch.setattr(io, "open", open_)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "replace", replace)
