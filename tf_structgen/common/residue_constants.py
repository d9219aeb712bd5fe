"""Amino-acid alphabet, background frequencies and sequence encoding.

The column order ``ACDEFGHIKLMNPQRSTVWY`` is part of the public file formats
(see ``docs/formats.md``): every probability vector in the package uses it.
"""

from __future__ import annotations

import numpy as np

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
NUM_AMINO_ACIDS = len(ALPHABET)
# Index used for residues outside the 20 standard ones ('X', 'U', 'B', ...).
UNKNOWN_INDEX = NUM_AMINO_ACIDS

# Amino-acid composition of UniProtKB/Swiss-Prot (release 2024_01 statistics
# page), in ALPHABET order and renormalised. Used to sample synthetic
# sequences (UniRef50 is not available offline) and as the background model
# of the classical emission log-odds.
_SWISSPROT_PERCENT = {
    "A": 8.25, "C": 1.38, "D": 5.46, "E": 6.72, "F": 3.86,
    "G": 7.07, "H": 2.27, "I": 5.91, "K": 5.80, "L": 9.65,
    "M": 2.41, "N": 4.06, "P": 4.74, "Q": 3.93, "R": 5.53,
    "S": 6.64, "T": 5.35, "V": 6.86, "W": 1.10, "Y": 2.92,
}
BACKGROUND_FREQUENCIES = np.array(
    [_SWISSPROT_PERCENT[a] for a in ALPHABET], dtype=np.float64)
BACKGROUND_FREQUENCIES /= BACKGROUND_FREQUENCIES.sum()

_THREE = {
    "A": "ALA", "C": "CYS", "D": "ASP", "E": "GLU", "F": "PHE",
    "G": "GLY", "H": "HIS", "I": "ILE", "K": "LYS", "L": "LEU",
    "M": "MET", "N": "ASN", "P": "PRO", "Q": "GLN", "R": "ARG",
    "S": "SER", "T": "THR", "V": "VAL", "W": "TRP", "Y": "TYR",
}
# Non-standard residue names that are usually modelled as a standard one.
_THREE_EXTRA = {"MSE": "M", "SEC": "U", "PYL": "O", "UNK": "X", "ASX": "B",
                "GLX": "Z", "SEP": "S", "TPO": "T", "PTR": "Y", "HYP": "P",
                "CSO": "C", "MLY": "K", "KCX": "K", "CME": "C"}
_ONE_FROM_THREE = {v: k for k, v in _THREE.items()} | _THREE_EXTRA
_INDEX = {a: i for i, a in enumerate(ALPHABET)}


def clean_sequence(sequence: str) -> str:
    """Returns ``sequence`` upper-cased, with white space and '*' removed.

    Raises:
      ValueError: if a character is not a letter.
    """
    seq = "".join(sequence.split()).upper().rstrip("*")
    bad = sorted({c for c in seq if not ("A" <= c <= "Z")})
    if bad:
        raise ValueError(
            f"sequence contains characters that are not residue letters: "
            f"{''.join(bad)!r}")
    return seq


def encode_sequence(sequence: str) -> np.ndarray:
    """One-letter sequence -> int32 indices, ``UNKNOWN_INDEX`` for non-standard."""
    seq = clean_sequence(sequence)
    return np.array([_INDEX.get(c, UNKNOWN_INDEX) for c in seq], dtype=np.int32)


def decode_sequence(indices) -> str:
    """int indices -> one-letter sequence ('X' for unknown)."""
    return "".join(ALPHABET[i] if 0 <= i < NUM_AMINO_ACIDS else "X"
                   for i in np.asarray(indices).tolist())


def one_to_three(letter: str) -> str:
    """'A' -> 'ALA'; anything non-standard -> 'UNK'."""
    return _THREE.get(letter.upper(), "UNK")


def three_to_one(name: str) -> str:
    """'ALA' -> 'A'; unknown names -> 'X'."""
    return _ONE_FROM_THREE.get(name.strip().upper(), "X")
