"""Rebuilds ``tf_structgen/decoding/backbone_fragments.npz``, the real
four-residue Cα fragments behind the HMM's dihedral penalty
(:mod:`tf_structgen.decoding.backbone_prior`), from the chains of the
tuning entries (``tf_structgen/evaluation/dev_split.py``) only.

    python benchmarks/backbone_fragments.py ../shared/data/dev_chains_ca.json.gz

Prints the number of fragments and the penalty table's range at the
realism presets' noise levels.
"""

from __future__ import annotations

import argparse
import gzip
import json
import pathlib
import sys

import numpy as np

REPO_ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from tf_structgen.decoding import backbone_prior  # noqa: E402
from tf_structgen.evaluation.dev_split import is_tuning  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "dev_chains_ca.json.gz"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", type=pathlib.Path, nargs="?", default=DEFAULT_DATA,
                        help="dev_chains_ca.json[.gz] (default: ../shared/data's)")
    parser.add_argument("--out", type=pathlib.Path, default=backbone_prior.FRAGMENTS_PATH)
    args = parser.parse_args(argv)
    opener = gzip.open if args.data.suffix == ".gz" else open
    with opener(args.data, "rt") as f:
        records = json.load(f)
    frags = backbone_prior.fragments_from_records(records, lambda r: is_tuning(r["pdb_id"]))
    scaled = np.round(frags * backbone_prior.FRAGMENT_SCALE).astype(np.int16)
    np.savez_compressed(args.out, fragments=scaled)
    print(f"{len(frags)} fragments of the tuning entries -> {args.out}")
    if args.out == backbone_prior.FRAGMENTS_PATH:
        for noise in (0.0, 0.25, 0.4):
            table = backbone_prior.dihedral_penalty(noise)
            print(f"noise {noise}: dihedral score {table.min():.2f} to {table.max():.2f}")


if __name__ == "__main__":
    main()
