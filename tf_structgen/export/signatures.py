"""Names of the SavedModel's signatures (no TensorFlow import: the HMM-only
command-line paths read them too)."""

# Per direction: the threading signature (node_index, confidence, top-K).
THREADING_SIGNATURES = {"ensemble": "serving_default", "forward": "forward",
                        "backward": "backward"}
# Per direction: the [B, L, M] scores the constrained (HMM) decoder adds to
# its emissions (see StructureGenerator.emission_correction).
CORRECTION_SIGNATURES = {"ensemble": "emission_correction",
                         "forward": "emission_correction_forward",
                         "backward": "emission_correction_backward"}
# The link head's SavedModel (saved_models/links): per-contact link logits.
LINK_SIGNATURE = "link_scores"
