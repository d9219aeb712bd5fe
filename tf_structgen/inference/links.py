"""Learned backbone-link scores for the HMM-based decoders.

The link head's SavedModel (:mod:`tf_structgen.export.links`) scores every
contact of a candidate set once; the decoders add ``weight x log P(link)``
to the transition of each scored contact (:class:`~tf_structgen.decoding.
graph.LinkScores`), for every chain and copy alike. A contact the head finds
unlikely to be a backbone link costs up to ``weight x`` its log-probability;
a likely one costs almost nothing, so the HMM's calibration of nulls and
jumps is left as it was.

Two modes: ``absolute`` adds ``w x log P(link)``; ``relative`` (default)
measures each contact against the second most likely contact of each of its
two nodes (a chain residue has two links): ``w/2 x [min(0, log P(u, v) -
log P_2(u)) + min(0, log P(u, v) - log P_2(v))]``. A residue's two best
contacts then cost nothing even where the head is unsure of every contact
(dense near decoys), and only the contacts it ranks below them pay.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from tf_structgen.common.errors import InputError
from tf_structgen.decoding.graph import LinkScores
from tf_structgen.export.signatures import LINK_SIGNATURE
from tf_structgen.inference.model_store import read_metadata

logger = logging.getLogger(__name__)

DEFAULT_LINK_WEIGHT = 1.0
LINK_MODES = ("relative", "absolute")
# log P(link) below this is clipped: one contact never costs more than a jump.
MIN_LOG_PROB = -8.0


class LinkModel:
    """A loaded link-head SavedModel.

    Args:
      model_dir: the SavedModel version folder.
      weight: factor on ``log P(link)``; None: the value stored with the
        export (``link_weight``), else ``DEFAULT_LINK_WEIGHT``.
    """

    def __init__(self, model_dir: Path, weight: float | None = None,
                 mode: str | None = None):
        import tensorflow as tf

        self.model_dir = Path(model_dir)
        try:
            loaded = tf.saved_model.load(str(model_dir))
        except (OSError, ValueError, tf.errors.OpError) as e:
            raise InputError(f"{model_dir}: cannot load the link SavedModel ({e})") from None
        if LINK_SIGNATURE not in loaded.signatures:
            raise InputError(f"{model_dir}: not a link model (no {LINK_SIGNATURE!r} signature)")
        self._loaded = loaded
        self._signature = loaded.signatures[LINK_SIGNATURE]
        stored = read_metadata(self.model_dir)
        if weight is None:
            weight = float(stored.get("link_weight", DEFAULT_LINK_WEIGHT))
        if not 0.0 <= weight <= 10.0:
            raise InputError("link weight must be within [0, 10]")
        self.weight = weight
        if mode is None:
            mode = str(stored.get("link_mode", "relative"))
        if mode not in LINK_MODES:
            raise InputError(f"link mode must be one of {', '.join(LINK_MODES)}, not {mode!r}")
        self.mode = mode

    def logits(self, xyz: np.ndarray, aa_probs: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(source, target, logits)`` of every contact of the candidate set."""
        out = self._signature(xyz=np.asarray(xyz, np.float32),
                              aa_probs=np.asarray(aa_probs, np.float32))
        return (out["source"].numpy(), out["target"].numpy(),
                out["logits"].numpy().astype(np.float64))

    def scores(self, xyz: np.ndarray, aa_probs: np.ndarray) -> LinkScores | None:
        """The transition terms the decoders add (None at weight 0)."""
        if self.weight == 0 or len(xyz) == 0:
            return None
        source, target, logits = self.logits(xyz, aa_probs)
        log_prob = np.maximum(-np.logaddexp(0.0, -logits), MIN_LOG_PROB)
        if self.mode == "relative":
            second = second_best(source, log_prob, len(xyz))
            log_prob = 0.5 * (np.minimum(0.0, log_prob - second[source])
                              + np.minimum(0.0, log_prob - second[target]))
        return LinkScores(source, target, self.weight * log_prob)


def second_best(source: np.ndarray, values: np.ndarray, num_nodes: int) -> np.ndarray:
    """[num_nodes] the second largest value over each node's contacts (its
    largest when it has one, MIN_LOG_PROB when none)."""
    out = np.full(num_nodes, MIN_LOG_PROB)
    if len(source) == 0:
        return out
    order = np.lexsort((-values, source))
    s, v = source[order], values[order]
    first = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    counts = np.diff(np.r_[first, len(s)])
    out[s[first]] = np.where(counts > 1, v[np.minimum(first + 1, len(s) - 1)], v[first])
    return out
