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
# Models trained with emission_prior: the correction in two steps, the
# sequence-free GCN once per candidate set, then the pointer per chain group.
NODE_STATES_SIGNATURE = "node_states"
CORRECTION_FROM_STATES_SIGNATURES = {
    "ensemble": "emission_correction_from_states",
    "forward": "emission_correction_from_states_forward",
    "backward": "emission_correction_from_states_backward"}
# The link head's SavedModel (saved_models/links): per-contact link logits.
LINK_SIGNATURE = "link_scores"
