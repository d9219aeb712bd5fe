"""Assignment files: which candidate node sits at each sequence position.

The JSON layout is ``docs/formats.md`` §3::

  {"model": "...", "chains": [{"id": "A", "sequence": "MKT...",
                               "nodes": [17, 402, null, 8],
                               "confidence": [0.99, 0.97, 0.0, 0.88]}]}

A record threaded in several copies gives one chain entry per copy, each
with the record id as ``"entity"`` and a 0-based ``"copy"`` index; both are
optional (checked when present). Extra keys (top level or per chain) are
allowed and preserved.
"""

from __future__ import annotations

import json
import logging
import numbers
import os
from collections.abc import Mapping, Sequence

from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.io.sequences import checked_sequence
from tf_structgen.io.input_files import read_json

logger = logging.getLogger(__name__)

_CHAIN_KEYS = ("id", "sequence", "nodes", "confidence")
# Confidences are written with this many decimals (plenty for a probability).
_CONFIDENCE_DECIMALS = 6


def _is_list(value) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _validated_chain(chain, k: int, source, num_nodes: int | None) -> dict:
    """Checks one chain entry and returns it with plain Python values."""
    where = f"{source}: chains[{k}]"
    if not isinstance(chain, Mapping):
        raise InputError(f"{where}: must be an object with keys "
                         f"{', '.join(_CHAIN_KEYS)}")
    for key in _CHAIN_KEYS:
        if key not in chain:
            raise InputError(f"{where}: missing key {key!r}")
    chain_id, sequence = chain["id"], chain["sequence"]
    if not isinstance(chain_id, str) or not chain_id:
        raise InputError(f"{where}: 'id' must be a non-empty string")
    where = f"{source}: chain {chain_id!r}"
    sequence = checked_sequence(sequence, where)
    nodes, confidence = chain["nodes"], chain["confidence"]
    n = len(sequence)
    for key, values in (("nodes", nodes), ("confidence", confidence)):
        if not _is_list(values) or len(values) != n:
            raise InputError(f"{where}: {key!r} must be a list of {n} values "
                             f"(one per sequence position)")
    for t, node in enumerate(nodes):
        if node is None:
            continue
        if (isinstance(node, bool) or not isinstance(node, numbers.Integral)
                or node < 0 or (num_nodes is not None and node >= num_nodes)):
            limit = "" if num_nodes is None else f" below {num_nodes}"
            raise InputError(f"{where}: nodes[{t}] = {node!r} is not null or "
                             f"a node index >= 0{limit}")
    for t, value in enumerate(confidence):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not 0.0 <= value <= 1.0):  # also rejects NaN
            raise InputError(f"{where}: confidence[{t}] = {value!r} is not a "
                             f"number in [0, 1]")
    checked = {**chain, "id": chain_id, "sequence": sequence,
               "nodes": [None if x is None else int(x) for x in nodes],
               "confidence": [float(x) for x in confidence]}
    if "entity" in chain:
        if not isinstance(chain["entity"], str) or not chain["entity"]:
            raise InputError(f"{where}: 'entity' must be a non-empty string")
    if "copy" in chain:
        copy = chain["copy"]
        if (isinstance(copy, bool) or not isinstance(copy, numbers.Integral)
                or copy < 0):
            raise InputError(f"{where}: 'copy' = {copy!r} is not an integer "
                             f">= 0")
        checked["copy"] = int(copy)
    return checked


def _validated_chains(chains, source, num_nodes: int | None) -> list[dict]:
    if not _is_list(chains):
        raise InputError(f"{source}: 'chains' must be a list")
    checked = [_validated_chain(c, k, source, num_nodes)
               for k, c in enumerate(chains)]
    ids = [c["id"] for c in checked]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise InputError(f"{source}: repeated chain id(s) "
                         f"{', '.join(repeated)}")
    return checked


def write_assignments(path: str | os.PathLike, model: str,
                      chains: Sequence[Mapping]) -> None:
    """Writes an assignment JSON file atomically.

    Args:
      path: output ``.json`` file.
      model: the model that made the assignment (e.g. its SavedModel path).
      chains: one dict per chain (one per copy of a record) with keys "id",
        "sequence", "nodes" (a node index or None per position) and
        "confidence" (a float in [0, 1] per position), optionally "entity"
        (the record id, a non-empty string) and "copy" (0-based copy index);
        extra keys are written as given.

    Raises:
      InputError: if a chain entry is invalid, or the output directory is
        missing or not writable (no file is left).
    """
    checked = _validated_chains(chains, path, num_nodes=None)
    for chain in checked:
        chain["confidence"] = [round(c, _CONFIDENCE_DECIMALS)
                               for c in chain["confidence"]]
    with atomic_write(path) as f:
        json.dump({"model": str(model), "chains": checked}, f)
        f.write("\n")
    logger.info("Wrote assignments of %d chain(s) to %s", len(checked), path)


def read_assignments(path: str | os.PathLike,
                     num_nodes: int | None = None) -> dict:
    """Reads and validates an assignment JSON file.

    Args:
      path: the file (optionally gzipped).
      num_nodes: if given, every node index must be below it.

    Returns:
      ``{"model": str, "chains": [{"id", "sequence", "nodes",
      "confidence", ...}]}`` with extra keys kept.

    Raises:
      InputError: one line starting with ``path`` for unreadable or invalid
        JSON, missing keys, lists of the wrong length, bad node indices,
        confidences outside [0, 1], an empty or non-string ``entity``, a
        ``copy`` that is not an integer >= 0, or repeated chain ids.
    """
    doc = read_json(path)
    if not isinstance(doc, dict):
        raise InputError(f"{path}: expected a JSON object with keys 'model' "
                         f"and 'chains'")
    for key in ("model", "chains"):
        if key not in doc:
            raise InputError(f"{path}: missing key {key!r}")
    if not isinstance(doc["model"], str):
        raise InputError(f"{path}: 'model' must be a string")
    return {**doc, "chains": _validated_chains(doc["chains"], path, num_nodes)}
