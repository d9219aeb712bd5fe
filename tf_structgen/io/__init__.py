"""File input and output: candidate sets, sequences, structures, assignments."""

from tf_structgen.io.assignments import read_assignments, write_assignments
from tf_structgen.io.candidates import (CandidateSet, read_candidates,
                                        validate_candidates, write_candidates)
from tf_structgen.io.sequences import (SequenceRecord, chain_ids, parse_fasta,
                                       read_sequences, write_fasta)
from tf_structgen.io.structures import (ChainRecord, ThreadedChain,
                                        read_structure_chains,
                                        write_threaded_model)

__all__ = [
    "CandidateSet",
    "ChainRecord",
    "SequenceRecord",
    "ThreadedChain",
    "chain_ids",
    "parse_fasta",
    "read_assignments",
    "read_candidates",
    "read_sequences",
    "read_structure_chains",
    "validate_candidates",
    "write_assignments",
    "write_candidates",
    "write_fasta",
    "write_threaded_model",
]
