"""Turning user errors into one line on stderr and a non-zero exit."""

from __future__ import annotations

import contextlib
import signal
import sys

import typer

from tf_structgen.common.errors import InputError

EXIT_INPUT_ERROR = 2
EXIT_INTERRUPTED = 130


def fail(message: str, code: int = EXIT_INPUT_ERROR) -> typer.Exit:
    """Prints ``error: message`` on stderr; returns the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


@contextlib.contextmanager
def user_errors(verbose: bool = False):
    """Maps InputError / OSError to one stderr line (traceback with --verbose)."""
    try:
        yield
    except (InputError, OSError) as e:
        if verbose:
            raise
        if isinstance(e, OSError) and e.filename:
            raise fail(f"{e.filename}: {e.strerror}") from None
        raise fail(str(e)) from None


def sigterm_as_interrupt() -> None:
    """Lets SIGTERM take the KeyboardInterrupt path (checkpoint, clean exit)."""
    def handler(signum, frame):
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError):  # not in the main thread
        signal.signal(signal.SIGTERM, handler)


# tf_structgen/__init__.py sets this default; any other value was the user's.
_PACKAGE_TF_CPP_MIN_LOG_LEVEL = "2"
# Libraries whose warnings are chatter to a user of the CLI: TensorFlow's
# Python side (absl, tensorflow), h5py, and Apache Beam, whose RunInference
# calls the root logger directly ("Resource module is not available for
# current platform ..." in apache_beam/ml/inference/base.py).
_NOISY_LOGGERS = ("absl", "tensorflow", "h5py", "apache_beam")


def configure_logging(verbose: bool) -> None:
    """Sets up logging for a command; call it before TensorFlow is imported.

    By default stderr carries only the tool's own lines: tf_structgen's
    warnings (and training progress) and anyone's errors. TensorFlow's C++
    log lines (``I0000 ...``, ``E0000 ... oneDNN supports DT_BOOL only ...``)
    are turned off with ``TF_CPP_MIN_LOG_LEVEL=3`` unless the user chose
    another level, and third-party loggers, the root logger included, are
    raised to ERROR. ``--verbose`` leaves all of them as TensorFlow, Beam and
    the package set them, and shows tf_structgen's debug messages.
    """
    import logging
    import os

    if not verbose:
        # Read by TF's C++ logging when it first logs: must be set before
        # TensorFlow is imported. The package's own default "2" lets the
        # oneDNN "E0000" line through, so it gives way to "3" as well.
        if os.environ.get("TF_CPP_MIN_LOG_LEVEL",
                          _PACKAGE_TF_CPP_MIN_LOG_LEVEL) == _PACKAGE_TF_CPP_MIN_LOG_LEVEL:
            os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Beam logs its warnings on the root logger itself (logging.warning), so
    # the root level is what hides them; tf_structgen keeps WARNING. Set even
    # where basicConfig does nothing (the root logger already has handlers).
    logging.getLogger().setLevel(logging.DEBUG if verbose else logging.ERROR)
    logging.getLogger("tf_structgen").setLevel(
        logging.DEBUG if verbose else logging.WARNING)
    # Training progress (devices, validation AA) is worth showing by default.
    logging.getLogger("tf_structgen.training").setLevel(
        logging.DEBUG if verbose else logging.INFO)
    for noisy in _NOISY_LOGGERS:
        level = logging.WARNING if verbose else logging.ERROR
        if verbose and noisy == "apache_beam":
            level = logging.NOTSET  # as before: Beam follows the root logger
        logging.getLogger(noisy).setLevel(level)


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) hidden.

    TF 2.21 writes these lines through absl before TF_CPP_MIN_LOG_LEVEL is
    read, so the only way to keep stderr to our one-line errors is to point
    file descriptor 2 at /dev/null during the import. Lines logged later
    (oneDNN's ``E0000 ... DT_BOOL`` at the first run) are kept off by
    :func:`configure_logging`. ``--verbose`` keeps them all.
    """
    import os

    if verbose or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_physical_devices()  # the CUDA probe logs here too
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
