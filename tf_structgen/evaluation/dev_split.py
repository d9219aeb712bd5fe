"""The fixed tuning split of the development entries (``../shared/data``).

Decoder defaults and benchmarks are tuned on ``TUNING_ENTRIES`` only; every
table that uses real entries reports ``HELD_OUT_ENTRIES`` separately. The
split is the sorted PDB ids taken alternately (even positions tune), fixed
once, on 2026-12-01; entries added later are held out unless listed here.
"""

TUNING_ENTRIES = (
    "1a7g", "1aku", "1ckb", "1ema", "1gzm", "1hwu", "1o1z", "1p5e", "1r6a",
    "1u19", "2efj", "2q8q", "2src", "3dqb", "3og7", "3pxf", "4gql", "4opj",
    "4rdl", "5gob", "6r79",
)


def is_tuning(pdb_id: str) -> bool:
    """Whether an entry (4-character PDB id, any case) is a tuning entry."""
    return pdb_id.lower() in TUNING_ENTRIES


def split_name(pdb_id: str) -> str:
    """``"tuning"`` or ``"held-out"``."""
    return "tuning" if is_tuning(pdb_id) else "held-out"
