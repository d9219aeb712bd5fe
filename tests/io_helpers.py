"""Assertions shared by the I/O tests (importable: pytest puts tests/ on sys.path)."""

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
