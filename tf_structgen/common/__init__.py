"""Domain constants and records shared by every part of the package."""

from tf_structgen.common.residue_constants import (
    ALPHABET,
    BACKGROUND_FREQUENCIES,
    NUM_AMINO_ACIDS,
    UNKNOWN_INDEX,
    encode_sequence,
    clean_sequence,
    decode_sequence,
    one_to_three,
    three_to_one,
)

__all__ = [
    "ALPHABET",
    "BACKGROUND_FREQUENCIES",
    "NUM_AMINO_ACIDS",
    "UNKNOWN_INDEX",
    "encode_sequence",
    "clean_sequence",
    "decode_sequence",
    "one_to_three",
    "three_to_one",
]
