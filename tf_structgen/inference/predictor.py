"""Thread one candidate set with one or more sequences."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Sequence

import numpy as np

from tf_structgen.common.errors import InputError
from tf_structgen.common.residue_constants import encode_sequence
from tf_structgen.decoding.unique_greedy import unique_greedy
from tf_structgen.export.requests import padded_request
from tf_structgen.export.signatures import (
    CORRECTION_FROM_STATES_SIGNATURES,
    CORRECTION_SIGNATURES,
    NODE_STATES_SIGNATURE,
    THREADING_SIGNATURES,
)
from tf_structgen.io.candidates import CandidateSet
from tf_structgen.io.sequences import SequenceRecord, chain_ids

logger = logging.getLogger(__name__)

DECODERS = ("auto", "unique", "greedy", "hmm", "constrained", "links")
# Decoders that run the HMM-based assembly decoder, and those without the
# pointer network.
HMM_DECODERS = ("hmm", "constrained", "links")
# tfsg predict's and tfsg evaluate --structures' decoder when none is given
# (README "Decoders"): issue 12's rule, whichever measures best on data
# nothing was tuned on. Session 14 (2026-12-04, with the refinement's
# rethreads), held-out, hmm / links / constrained (the bundled structgen/2):
# real assemblies, four seeds, realistic 0.9962 / 0.9963 / 0.9971, hard
# 0.9509 / 0.9463 / 0.9630; packed assemblies, hard, 4 x 3 / 10 x 4
# 0.9638 / 0.9602, 0.9611 / 0.9592, 0.9755 / 0.9745; real single chains
# (session 12) realistic 0.9863 / 0.9838 / 0.9876, hard 0.9151 / 0.9088 /
# 0.9373. constrained is ahead everywhere; hmm (no network, no TensorFlow)
# is the fastest and leanest (the default from 2026-12-02 to session 13).
DEFAULT_DECODER = "constrained"
NO_POINTER_DECODERS = ("hmm", "links")
# Decoders that take the link head: ``links`` always (the bundled one by
# default), ``constrained`` (or ``auto`` resolving to it) when a link model
# is given (the emission correction and the link scores together).
LINK_DECODERS = ("links", "constrained", "auto")


def choose_decoder(decoder: str | None, model=None, link_model=None) -> str:
    """The CLI's decoder: ``decoder`` when given; else the model's own
    (``auto``) with ``--model``, ``links`` with ``--link-model``, else
    DEFAULT_DECODER. A model given to a decoder that does not use it is
    an error rather than silently ignored."""
    if decoder is None:
        if model is not None and link_model is not None:
            raise InputError("--model and --link-model: say which with --decoder")
        return "auto" if model is not None else "links" if link_model is not None \
            else DEFAULT_DECODER
    if model is not None and not needs_model(decoder):
        raise InputError(f"--model is not used by --decoder {decoder}")
    if link_model is not None and decoder not in LINK_DECODERS:
        raise InputError("--link-model is only used by --decoder links or constrained, "
                         f"not {decoder}")
    return decoder


def needs_model(decoder: str) -> bool:
    """Whether ``decoder`` runs the pointer network's SavedModel (``--model``)."""
    return decoder not in NO_POINTER_DECODERS
COPIES_MODES = ("fasta", "auto")
# Chains are sent to the SavedModel in groups whose pointer matrices
# (chains x residues x nodes) stay below this many entries: larger calls
# save nothing (measured at 5,000 and 20,000 nodes) and cost memory.
MAX_POINTER_ENTRIES = 4_000_000
# Stated limits (docs/reliability.md): beyond them a clear error, not an
# out-of-memory kill. One chain's residues x nodes score matrix cannot be
# split (the network's pointer, the HMM's emissions), so it is bounded too.
MAX_NODES = 200_000
MAX_CHAIN_ENTRIES = 100_000_000


@dataclasses.dataclass(frozen=True)
class ChainAssignment:
    """The threading of one copy of one sequence record.

    Attributes:
      id: the proposed chain id (the record's chain id for this copy; may
        still be replaced by a valid, unused one when the model is written).
      sequence: the record's (entity's) sequence.
      nodes: int32 [n] node per position, -1 = null.
      confidence: float32 [n] in [0, 1].
      entity: the record id.
      copy: 0-based copy index within the record.
    """

    id: str
    sequence: str
    nodes: np.ndarray
    confidence: np.ndarray
    entity: str = ""
    copy: int = 0

    def to_json(self) -> dict:
        return {"id": self.id, "sequence": self.sequence,
                "nodes": [int(v) if v >= 0 else None for v in self.nodes],
                "confidence": [round(float(c), 6) for c in self.confidence],
                "entity": self.entity or self.id, "copy": int(self.copy)}


def parse_copies(value) -> str | int:
    """``--copies``: ``fasta`` (each record's own count), ``auto`` (found
    from the candidates) or a positive integer (every record)."""
    text = str(value).strip().lower()
    if text in COPIES_MODES:
        return text
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number < 1 or str(number) != text.lstrip("+"):
        raise InputError(f"--copies must be 'fasta', 'auto' or a positive integer, "
                         f"not {value!r}")
    return number


def assignments_for(records: Sequence[SequenceRecord],
                    decoded: Sequence[Sequence[tuple[np.ndarray, np.ndarray]]]
                    ) -> list[ChainAssignment]:
    """One ChainAssignment per copy, with distinct chain ids: the record's
    named chain ids (PDB entity FASTA), else the record id for the first
    copy and the first unused of A..Z, a..z, 0..9, AA, ... for the others."""
    proposals, rows = [], []
    for record, copies in zip(records, decoded):
        for k, (nodes, conf) in enumerate(copies):
            if k < len(record.chain_ids):
                proposal = record.chain_ids[k]
            else:
                proposal = record.id if k == 0 else ""
            proposals.append(SequenceRecord(proposal, record.sequence))
            rows.append((record, k, len(copies), nodes, conf))
    # A record threaded once keeps its own id (even one that no model
    # format accepts: the model writer maps it); copies get valid, distinct ids.
    valid = chain_ids(proposals, max_length=4)
    return [ChainAssignment(p.id if count == 1 else v, r.sequence, nodes, conf,
                            entity=r.id, copy=k)
            for p, v, (r, k, count, nodes, conf) in zip(proposals, valid, rows)]


def check_limits(num_nodes: int, lengths: Sequence[int]) -> None:
    """Raises InputError when a problem exceeds the documented limits."""
    if num_nodes > MAX_NODES:
        raise InputError(f"{num_nodes} candidates exceed the limit of {MAX_NODES:,}; "
                         "split the map into regions")
    longest = max(lengths)
    if longest * num_nodes > MAX_CHAIN_ENTRIES:
        raise InputError(f"a {longest}-residue chain against {num_nodes} candidates "
                         f"({longest * num_nodes:,} scores) exceeds the limit of "
                         f"{MAX_CHAIN_ENTRIES:,} residues x candidates per chain")


class Predictor:
    """Threads candidate sets with a SavedModel (or the classical HMM).

    Args:
      model_dir: a SavedModel version folder (ignored by the HMM decoder).
      decoder: ``auto`` (``constrained`` for a model trained with the
        emission prior, such as the bundled one, else ``unique``), ``unique``
        (greedy over the model's top-K, each node once,
        chains disjoint), ``greedy`` (per-position argmax, nodes may repeat),
        ``hmm`` (the classical Viterbi threader, no network) or
        ``constrained`` (the HMM's Viterbi decoding with the network's
        emission correction added: each node once, consecutive positions
        on nodes ~3.8 Å apart, gaps allowed) or ``links`` (the HMM with the
        link head's learned backbone-link scores added to its transitions,
        :mod:`~tf_structgen.inference.links`; no pointer network).
      direction: ``forward``, ``backward`` or ``ensemble``.
      min_confidence: positions whose best free node is less probable stay
        null.
      coord_noise: expected coordinate error (Å) of the candidates; widens
        the HMM's distance model (HMM and constrained decoders).
      dihedral_weight: factor on the HMM's dihedral penalty
        (:class:`~tf_structgen.decoding.config.HMMConfig`; hmm, links and
        constrained decoders); 0 turns it off (the second-order HMM).
      correction_weight: factor on the network's emission correction in the
        constrained decoder; None: the value stored with the model (1 when
        none is).
      copies: ``fasta`` (each record's copy number, 1 unless its header
        says otherwise), ``auto`` (the HMM-based decoders find the number of
        copies from the candidates) or a positive integer for every record.
      link_model: the link head's SavedModel version folder for the
        ``links`` decoder (None: the bundled one); given with
        ``constrained``, its link scores are added to the transitions as
        well (emission correction and link scores together).
      link_weight: factor on the link scores; None: the value stored with
        the link model.
      link_mode: ``relative`` or ``absolute`` link scores
        (:mod:`~tf_structgen.inference.links`); None: the stored mode.
    """

    def __init__(self, model_dir: Path | None, *, decoder: str = "unique",
                 direction: str = "ensemble", min_confidence: float = 0.1,
                 coord_noise: float = 0.3, dihedral_weight: float = 1.0,
                 correction_weight: float | None = None,
                 copies: str | int = "fasta", link_model: Path | None = None,
                 link_weight: float | None = None, link_mode: str | None = None):
        if decoder not in DECODERS:
            raise InputError(f"unknown decoder {decoder!r}; choose from {', '.join(DECODERS)}")
        if direction not in THREADING_SIGNATURES:
            raise InputError(f"unknown direction {direction!r}; choose from "
                             f"{', '.join(THREADING_SIGNATURES)}")
        if not 0.0 <= min_confidence <= 1.0:
            raise InputError("min-confidence must be within [0, 1]")
        self.decoder, self.direction = decoder, direction
        self.min_confidence = min_confidence
        if not 0.0 <= coord_noise <= 5.0:
            raise InputError("coord-noise must be within [0, 5] Å")
        self.coord_noise = coord_noise
        if not 0.0 <= dihedral_weight <= 10.0:
            raise InputError("dihedral-weight must be within [0, 10]")
        self.dihedral_weight = dihedral_weight
        self.copies = parse_copies(copies)
        self.model_dir = model_dir
        self._signature = None
        self._states_signatures = None
        self.links = None
        if link_model is not None and decoder not in LINK_DECODERS:
            raise InputError("a link model is only used by the links and constrained "
                             f"decoders, not {decoder}")
        metadata = {}
        if decoder not in NO_POINTER_DECODERS:
            from tf_structgen.inference.model_store import read_metadata

            if model_dir is None:
                raise InputError("a model folder is needed unless --decoder hmm or links")
            metadata = read_metadata(Path(model_dir))
        if decoder == "auto":
            emission_prior = metadata.get("model_config", {}).get("emission_prior")
            decoder = self.decoder = "constrained" if emission_prior else "unique"
            if link_model is not None and decoder != "constrained":
                raise InputError(f"{model_dir}: a link model needs the constrained decoder; "
                                 "this model has no emission correction")
        if decoder == "links" or link_model is not None:
            from tf_structgen.inference.links import LinkModel
            from tf_structgen.inference.model_store import resolve_link_model_dir

            self.links = LinkModel(resolve_link_model_dir(link_model), link_weight,
                                   link_mode)
        if decoder not in NO_POINTER_DECODERS:
            import tensorflow as tf

            try:
                loaded = tf.saved_model.load(str(model_dir))
            except (OSError, ValueError, tf.errors.OpError) as e:
                raise InputError(f"{model_dir}: cannot load SavedModel ({e})") from None
            self._loaded = loaded  # keeps the variables alive
            name = (CORRECTION_SIGNATURES[direction] if decoder == "constrained"
                    else THREADING_SIGNATURES[direction])
            if name not in loaded.signatures:
                raise InputError(f"{model_dir}: the SavedModel has no {name!r} signature "
                                 "(exported by an older version: export it again)")
            self._signature = loaded.signatures[name]
            # Exports with the two-step correction: one GCN pass per
            # candidate set instead of one per chain group.
            states_name = CORRECTION_FROM_STATES_SIGNATURES[direction]
            if (decoder == "constrained" and NODE_STATES_SIGNATURE in loaded.signatures
                    and states_name in loaded.signatures):
                self._states_signatures = (loaded.signatures[NODE_STATES_SIGNATURE],
                                           loaded.signatures[states_name])
            if correction_weight is None:
                correction_weight = float(metadata.get("correction_weight", 1.0))
        if correction_weight is not None and not 0.0 <= correction_weight <= 10.0:
            raise InputError("correction weight must be within [0, 10]")
        self.correction_weight = correction_weight

    @property
    def name(self) -> str:
        if self.decoder == "links":
            return f"links ({self.links.model_dir})"
        if self.decoder == "hmm":
            return "hmm"
        if self.links is not None:
            return f"{self.model_dir} + links ({self.links.model_dir})"
        return str(self.model_dir)

    def thread(self, candidates: CandidateSet,
               records: Sequence[SequenceRecord]) -> list[ChainAssignment]:
        """Assigns a node (or null) to every position of every record."""
        if not records:
            raise InputError("no sequence to thread")
        check_limits(candidates.num_nodes, [len(r.sequence) for r in records])
        sequences = [encode_sequence(r.sequence) for r in records]
        counts = self._copy_counts(records)
        if self.decoder in HMM_DECODERS:
            from tf_structgen.decoding.assembly import thread_assembly
            from tf_structgen.decoding.hmm import HMMConfig

            prior = (self.emission_corrections(candidates, sequences)
                     if self.decoder == "constrained" else None)
            link_scores = (self.links.scores(candidates.xyz, candidates.aa_probs)
                           if self.links is not None else None)
            decoded = thread_assembly(candidates.xyz, candidates.aa_probs, sequences,
                                      counts, HMMConfig(noise=self.coord_noise,
                                                dihedral_weight=self.dihedral_weight),
                                      log_emission_prior=prior,
                                      link_scores=link_scores)
        else:
            if None in counts:
                raise InputError("--copies auto needs the hmm, constrained or links decoder")
            expanded = [seq for seq, c in zip(sequences, counts) for _ in range(c)]
            top_nodes, top_log_probs = self._top_candidates(candidates, expanded)
            if self.decoder == "unique":
                flat = unique_greedy(top_nodes, top_log_probs,
                                     min_confidence=self.min_confidence)
            else:
                flat = [self._argmax(t, p) for t, p in zip(top_nodes, top_log_probs)]
            decoded, start = [], 0
            for c in counts:
                decoded.append(flat[start:start + c])
                start += c
        return assignments_for(records, decoded)

    def _copy_counts(self, records: Sequence[SequenceRecord]) -> list[int | None]:
        """Copies to thread per record: the FASTA's, a fixed number, or None
        (``auto``: the decoder decides)."""
        if self.copies == "fasta":
            return [r.copies for r in records]
        if self.copies == "auto":
            return [None] * len(records)
        return [self.copies] * len(records)

    def _argmax(self, top_nodes, top_log_probs):
        conf = np.exp(top_log_probs[:, 0]).astype(np.float32)
        nodes = np.where(conf >= self.min_confidence, top_nodes[:, 0], -1).astype(np.int32)
        return nodes, np.where(nodes >= 0, conf, 0.0).astype(np.float32)

    def _groups(self, m: int, sequences) -> list[list[int]]:
        """Chains batched so that one call's [chains, residues, nodes] output
        stays below MAX_POINTER_ENTRIES."""
        groups, group = [], []
        for k, seq in enumerate(sequences):
            longest = max([len(sequences[j]) for j in group] + [len(seq)])
            if group and (len(group) + 1) * longest * m > MAX_POINTER_ENTRIES:
                groups.append(group)
                group = []
            group.append(k)
        groups.append(group)
        return groups

    def _per_chain(self, candidates: CandidateSet, sequences, keys):
        """Calls the signature over chain groups; per key, one array per chain
        cut to its length."""
        out = {key: [None] * len(sequences) for key in keys}
        for group in self._groups(candidates.num_nodes, sequences):
            result = self._call(candidates, [sequences[k] for k in group])
            for row, k in enumerate(group):
                for key in keys:
                    out[key][k] = result[key][row, :len(sequences[k])]
        return out

    def _top_candidates(self, candidates: CandidateSet, sequences):
        out = self._per_chain(candidates, sequences, ("top_nodes", "top_log_probs"))
        return out["top_nodes"], out["top_log_probs"]

    @property
    def signature(self):
        """The SavedModel signature the network decoders call (None for
        ``hmm``): a concrete function of the serving request (docs/serving.md)."""
        return self._signature

    def emission_corrections(self, candidates: CandidateSet, sequences
                             ) -> list[np.ndarray]:
        """What the ``constrained`` decoder adds to the HMM's emissions: per
        sequence (residue indices), [n, m] float32 = correction weight x the
        network's emission correction. Computed once per record and shared
        by its copies."""
        m = candidates.num_nodes
        if self._states_signatures is None:
            return [self.correction_weight * c[:, :m] for c in
                    self._per_chain(candidates, sequences, ("correction",))["correction"]]
        import tensorflow as tf

        encode, correct = self._states_signatures
        request = padded_request([(candidates.xyz, candidates.aa_probs, np.zeros(1))])
        states = encode(xyz=request["xyz"], aa_probs=request["aa_probs"],
                        num_nodes=request["num_nodes"])["node_states"]
        out = [None] * len(sequences)
        for group in self._groups(m, sequences):
            lengths = np.array([len(sequences[k]) for k in group], np.int32)
            padded = np.zeros((len(group), lengths.max()), np.int32)
            for row, k in enumerate(group):
                padded[row, :lengths[row]] = sequences[k]
            result = correct(node_states=tf.tile(states, [len(group), 1, 1]),
                             num_nodes=np.full(len(group), m, np.int32),
                             sequence=padded, sequence_length=lengths)["correction"].numpy()
            for row, k in enumerate(group):
                out[k] = self.correction_weight * result[row, :len(sequences[k]), :m]
        return out

    def _call(self, candidates: CandidateSet, sequences) -> dict[str, np.ndarray]:
        request = padded_request([(candidates.xyz, candidates.aa_probs, s)
                                  for s in sequences])
        return {k: v.numpy() for k, v in self._signature(**request).items()}
