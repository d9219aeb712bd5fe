"""User-facing errors.

Anything raised as :class:`InputError` is reported by the CLI as one line on
stderr (no traceback) with a non-zero exit code, so its message must say what
is wrong and where, e.g. ``"cands.json: nodes.aa_probs has 19 columns, expected 20"``.
"""


class InputError(ValueError):
    """Bad user input: a malformed file, an invalid value, an unusable path."""
