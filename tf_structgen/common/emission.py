"""Constants of the classical emission model, shared by decoder and network.

The HMM threader (:class:`~tf_structgen.decoding.config.HMMConfig`) and the
network's emission prior (:class:`~tf_structgen.models.emission_prior.EmissionLogOdds`)
compute the same log-odds ``log(p_v(a) / background(a))``; their defaults
come from here so that neither package imports the other.
"""

# Floor on the renormalised node scores before the log-odds (then
# renormalised again): one wrong detector score cannot veto a node.
EMISSION_PROB_FLOOR = 1e-3
