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


def configure_logging(verbose: bool) -> None:
    import logging

    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    # Training progress (devices, validation AA) is worth showing by default.
    logging.getLogger("tf_structgen.training").setLevel(
        logging.DEBUG if verbose else logging.INFO)
    for noisy in ("absl", "tensorflow", "h5py"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow with its C++ start-up chatter (oneDNN, CUDA probes) hidden.

    TF 2.21 writes these lines through absl before TF_CPP_MIN_LOG_LEVEL is
    read, so the only way to keep stderr to our one-line errors is to point
    file descriptor 2 at /dev/null during the import. ``--verbose`` keeps them.
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
