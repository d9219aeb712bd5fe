"""Tunables of the HMM threader and the assembly decoder."""

from __future__ import annotations

import dataclasses

import numpy as np

from tf_structgen.common.emission import EMISSION_PROB_FLOOR
from tf_structgen.common.residue_constants import NUM_AMINO_ACIDS


@dataclasses.dataclass(frozen=True, kw_only=True)
class HMMConfig:
    """Tunables of :func:`hmm_thread` (log-weights are natural logs).

    Attributes:
      noise: expected coordinate noise sigma (Å) of the candidate positions;
        widens the distance models.
      ca_distance: consecutive Cα-Cα distance (Å) across a trans peptide.
      distance_sigma: spread (Å) of the distances without coordinate noise.
      max_sigmas: cut-off, in sigmas, of the sparse transitions (adjacency
        edges, second-neighbour pairs, re-entry margin).
      cis_distance: consecutive Cα-Cα distance across a cis peptide (~0.2%
        of residues).
      cis_penalty: log-prior cost of a cis step.
      second_neighbour_range: range (Å) of the Cα(i)-Cα(i+2) distance that
        costs nothing; Gaussian fall-off outside.
      second_neighbour_weight: factor on that term (0 makes the model first
        order, back-and-forth paths included).
      cis_second_neighbour_min: lower end of that range when the step from
        residue i to i+1 is a cis peptide.
      dihedral_weight: factor on the dihedral score of each four
        consecutive assigned residues: a penalty where real chains rarely
        take their virtual dihedral, at this ``noise``, re-centred so that
        real dihedrals score 0 on average
        (:mod:`~tf_structgen.decoding.backbone_prior`); 0 turns it off. The Viterbi pass scores a dihedral with the residue
        before it on the best path into its first link: exact for the path
        it returns, not a full third-order search.
      reentry_radius: largest distance (Å) from the last assigned node at which
        the chain may resume after a gap at ``reentry_penalty``.
      emission_weight: factor on the amino-acid log-odds.
      prob_floor: floor on the renormalised node scores before the log-odds.
      gap_open: cost of leaving an assigned node for a null position.
      null_cost: cost of each further null position.
      reentry_penalty: cost of resuming near the last assigned node.
      jump_penalty: cost of resuming (or continuing) anywhere.
      max_repair_rounds: re-decodes allowed to remove duplicate nodes.
      unknown_emission: log-weight of placing an unknown residue (X) on a
        node. X mostly marks residues absent from the model (unresolved
        loops and termini); at 0 a run of them is threaded for free through
        other chains' nodes, which the slightly negative default prevents
        while single X residues still take a node.
      untangle_copies: after decoding, re-pair the path segments of chains
        with identical sequences (homo-oligomer copies) where that removes
        geometric breaks (see :func:`untangle_copies`).
      clash_distance: two residues three or more apart in a chain never
        have their Cα atoms closer than this (Å) in real structures (see
        :mod:`~tf_structgen.decoding.sterics`); 0 turns the steric
        exclusion off.
      clash_sigmas: the clash cut-off is ``clash_distance`` less this many
        times the spread of a distance between two noisy nodes
        (``sqrt(2) * noise``).
      clash_rounds: re-decodes of a chain allowed to remove its clashes.
        The three ``clash_*`` settings are read by the assembly decoder
        (``tfsg predict``'s HMM decoders); :func:`hmm_thread`, the
        previous release's sequential threader, ignores them.
    """

    noise: float = 0.0
    ca_distance: float = 3.80
    distance_sigma: float = 0.10
    max_sigmas: float = 3.5
    cis_distance: float = 2.95
    cis_penalty: float = 5.0
    second_neighbour_range: tuple[float, float] = (5.0, 7.35)
    second_neighbour_weight: float = 1.0
    cis_second_neighbour_min: float = 4.4
    dihedral_weight: float = 1.0
    reentry_radius: float = 7.6
    emission_weight: float = 1.0
    prob_floor: float = EMISSION_PROB_FLOOR
    gap_open: float = 4.0
    null_cost: float = 0.3
    reentry_penalty: float = 1.0
    jump_penalty: float = 8.0
    max_repair_rounds: int = 2
    unknown_emission: float = -1.0
    untangle_copies: bool = True
    clash_distance: float = 3.3
    clash_sigmas: float = 2.0
    clash_rounds: int = 3

    def __post_init__(self):
        for name in ("noise", "gap_open", "null_cost", "reentry_penalty",
                     "jump_penalty", "max_repair_rounds", "emission_weight",
                     "second_neighbour_weight", "cis_penalty",
                     "dihedral_weight",
                     "clash_distance", "clash_sigmas", "clash_rounds"):
            if getattr(self, name) < 0:
                raise ValueError(f"HMMConfig.{name} must be >= 0")
        for name in ("distance_sigma", "max_sigmas", "reentry_radius",
                     "ca_distance", "cis_distance"):
            if getattr(self, name) <= 0:
                raise ValueError(f"HMMConfig.{name} must be > 0")
        lo, hi = self.second_neighbour_range
        if not 0 <= lo <= hi:
            raise ValueError("HMMConfig.second_neighbour_range must be "
                             "(low, high) with 0 <= low <= high")
        if not 0.0 < self.prob_floor < 1.0 / NUM_AMINO_ACIDS:
            raise ValueError("HMMConfig.prob_floor must be in (0, 1/20)")

    @property
    def sigma(self) -> float:
        """Spread (Å) of an observed distance between two candidate nodes."""
        return float(np.hypot(self.distance_sigma, np.sqrt(2.0) * self.noise))


@dataclasses.dataclass(frozen=True, kw_only=True)
class AssemblyConfig:
    """Tunables of :func:`~tf_structgen.decoding.assembly.thread_assembly`.

    Attributes:
      weak_confidence: paths are cut around positions whose posterior is
        below this (and it is the "confident" threshold of auto copies).
      loose_link_sigmas: paths are cut at links whose length is further
        than this many sigmas from ``ca_distance``.
      drop_weight: a fragment may be left out of every chain at this
        factor times its worth (its emission log-odds, each clipped to
        [0, 3]).
      confidence_radius: the confidence is the forward-backward posterior
        over the free nodes within this distance (Å) of the path.
      min_copy_residues, min_copy_fraction: with auto copies, a further
        copy is kept when it has at least this many confident residues and
        this fraction of the first copy's; with a given number of copies,
        an assembled copy with fewer than ``min_copy_residues`` confident
        residues comes back all null.
      max_copies: with auto copies, at most this many per entity.
      workers: worker processes for large inputs (0: one per CPU core).
      refine: after gap filling, search for tail exchanges between copies
        and relocations of runs between broken junctions that raise the
        assembly's score (:mod:`~tf_structgen.decoding.refine`).
      repeat_swap: the refinement also swaps windows of a chain with their
        repeat partners one or more sequence periods away, in the same
        chain or a touching copy (internal repeats).
      rethread: the refinement also threads a chain of an assembly with a
        broken junction again from scratch over the free nodes near its
        own, kept where that raises its score, and exchanges two nearby
        copies' tails after a broken junction and threads both again.
    """

    weak_confidence: float = 0.5
    loose_link_sigmas: float = 1.0
    drop_weight: float = 1.0
    confidence_radius: float = 10.0
    min_copy_residues: int = 10
    min_copy_fraction: float = 0.5
    max_copies: int = 100
    workers: int = 0
    refine: bool = True
    repeat_swap: bool = True
    rethread: bool = True

    def __post_init__(self):
        if not 0.0 <= self.weak_confidence <= 1.0:
            raise ValueError("AssemblyConfig.weak_confidence must be in [0, 1]")
        if not 0.0 <= self.min_copy_fraction <= 1.0:
            raise ValueError("AssemblyConfig.min_copy_fraction must be in [0, 1]")
        for name in ("loose_link_sigmas", "drop_weight", "confidence_radius",
                     "min_copy_residues", "workers"):
            if getattr(self, name) < 0:
                raise ValueError(f"AssemblyConfig.{name} must be >= 0")
        if self.max_copies < 1:
            raise ValueError("AssemblyConfig.max_copies must be >= 1")
