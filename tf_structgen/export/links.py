"""The link head's SavedModel: one signature, ``link_scores``.

Inputs (one candidate set per request; link scores do not depend on the
sequence): ``xyz`` float32 [M, 3], ``aa_probs`` float32 [M, 20]. Outputs
``source`` int32 [E], ``target`` int32 [E] (every ordered pair of nodes
closer than the exported cutoff, sorted by source then target) and
``logits`` float32 [E], the log-odds that the two nodes hold consecutive
residues of one chain (symmetric: both directions score alike).

The contact graph is built inside the signature
(:func:`~.graph_builder.contact_pairs`), so serving needs neither
tf_structgen nor tensorflow_gnn.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import tensorflow as tf

from tf_structgen.common.atomic import atomic_directory
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS
from tf_structgen.export.graph_builder import contact_pairs
from tf_structgen.export.serving import METADATA_FILE
from tf_structgen.export.signatures import LINK_SIGNATURE
from tf_structgen.models.link_scorer import LinkScorer

LINK_INPUTS = {
    "xyz": tf.TensorSpec([None, 3], tf.float32, name="xyz"),
    "aa_probs": tf.TensorSpec([None, NUM_AMINO_ACIDS], tf.float32, name="aa_probs"),
}


class LinkModule(tf.Module):
    """The served function around a :class:`LinkScorer`."""

    def __init__(self, model: LinkScorer, cutoff: float):
        super().__init__()
        self.model = model
        self.cutoff = float(cutoff)

    @tf.function(input_signature=[LINK_INPUTS])
    def link_scores(self, inputs):
        xyz, aa_probs = inputs["xyz"], inputs["aa_probs"]
        tf.debugging.assert_equal(tf.shape(aa_probs)[0], tf.shape(xyz)[0],
                                  message="aa_probs must be [M, 20] with the M of xyz")
        total = tf.reduce_sum(aa_probs, axis=-1, keepdims=True)
        aa_probs = aa_probs / tf.maximum(total, 1e-12)
        num_nodes = tf.shape(xyz)[0]
        source, target = contact_pairs(xyz, tf.zeros([num_nodes], tf.int32), self.cutoff)
        return {"source": source, "target": target, "logits": self.model.score(aa_probs, xyz, source, target)}


def export_link_model(model: LinkScorer, base_dir: str | os.PathLike,
                      version: int | None = None, *,
                      metadata: dict | None = None) -> Path:
    """Writes ``base_dir/<version>/`` (TF Serving layout) atomically, with
    the model's settings and ``metadata`` (e.g. the decoder's link weight)
    in ``assets.extra/tf_structgen.json``."""
    base_dir = Path(base_dir)
    base_dir.mkdir(parents=True, exist_ok=True)
    if version is None:
        existing = [int(p.name) for p in base_dir.iterdir() if p.name.isdigit()]
        version = max(existing, default=0) + 1
    module = LinkModule(model, model.max_distance)
    final = base_dir / str(version)
    with atomic_directory(final) as tmp:
        tf.saved_model.save(module, str(tmp),
                            signatures={LINK_SIGNATURE: module.link_scores})
        extra = tmp / "assets.extra"
        extra.mkdir(exist_ok=True)
        info = {"link_model_config": model.get_config(), "cutoff": module.cutoff,
                **(metadata or {})}
        (extra / METADATA_FILE).write_text(json.dumps(info, indent=2))
    return final
