"""``--model`` and ``--decoder`` for the benchmark scripts, meaning what they
mean to ``tfsg predict``.

Defaults are what a user gets today: the ``hmm`` decoder (tfsg predict's
default since 2026-12-02) and, for the network decoders, the bundled model
(:func:`~tf_structgen.inference.model_store.resolve_model_dir` of nothing;
``auto`` = ``constrained`` for it); the other settings are the CLI's
defaults unless a script says otherwise. Only the
package's public API is used.
"""

from __future__ import annotations

import argparse
import pathlib

# tfsg predict --decoder; DEFAULT_DECODER is its default. One more name for
# the ablations: ``constrained+links`` is ``tfsg predict --decoder
# constrained --link-model saved_models/links/1`` (emission correction and
# link scores together).
DECODERS = ("auto", "unique", "greedy", "hmm", "constrained", "links", "constrained+links")
BOTH = "constrained+links"
DEFAULT_DECODER = "hmm"
# tfsg predict's defaults for the other Predictor settings.
CLI_DEFAULTS = {"direction": "ensemble", "min_confidence": 0.1, "coord_noise": 0.3}

MODEL_HELP = ("SavedModel folder or version folder, as tfsg predict --model "
              "(default: the bundled model); not used by --decoder hmm")


def add_model_option(parser: argparse.ArgumentParser, help: str = MODEL_HELP) -> None:
    parser.add_argument("--model", type=pathlib.Path, default=None, help=help)


def add_decoder_option(parser: argparse.ArgumentParser, *, several: bool = False,
                       default=DEFAULT_DECODER, choices=DECODERS, help: str = "") -> None:
    """``--decoder`` (one name) or, with ``several``, ``--decoder A B ...``
    (also spelt ``--decoders``)."""
    flags = ("--decoder", "--decoders") if several else ("--decoder",)
    parser.add_argument(*flags, dest="decoders" if several else "decoder",
                        nargs="+" if several else None, default=default,
                        choices=choices, metavar="DECODER", help=help or (
                            f"{', '.join(choices)}, as tfsg predict --decoder "
                            f"(default: {' '.join(default) if several else default})"))


def resolved_model(decoder: str, model: pathlib.Path | None) -> pathlib.Path | None:
    """The SavedModel version folder ``decoder`` runs with (None for hmm)."""
    from tf_structgen.inference.model_store import resolve_model_dir

    from tf_structgen.inference.predictor import needs_model

    return resolve_model_dir(model) if needs_model(decoder) else None


def make_predictor(decoder: str, model: pathlib.Path | None, **settings):
    """A :class:`Predictor` as ``tfsg predict --decoder D --model M`` builds
    it; ``settings`` override the CLI's defaults."""
    from tf_structgen.inference.model_store import resolve_link_model_dir
    from tf_structgen.inference.predictor import Predictor

    if decoder == BOTH:
        settings = {"link_model": resolve_link_model_dir(None), **settings}
    return Predictor(resolved_model(decoder, model),
                     decoder="constrained" if decoder == BOTH else decoder,
                     **{**CLI_DEFAULTS, **settings})


def describe(predictor) -> str:
    """``auto (constrained, weight 0.1)``-like label of what a Predictor runs."""
    details = [predictor.decoder]
    if predictor.decoder == "constrained":
        details.append(f"weight {predictor.correction_weight:g}")
    if predictor.links is not None:
        details.append(f"link weight {predictor.links.weight:g}, {predictor.links.model_dir}")
    if predictor.model_dir is not None:
        details.append(str(predictor.model_dir))
    return ", ".join(details)
