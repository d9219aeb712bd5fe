"""Building requests for the SavedModel signatures (in-process, REST or gRPC).

Needs only numpy: clients can use it without TensorFlow.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

INPUT_DTYPES = {"xyz": np.float32, "aa_probs": np.float32, "num_nodes": np.int32,
                "sequence": np.int32, "sequence_length": np.int32}


def padded_request(problems: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]]
                   ) -> dict[str, np.ndarray]:
    """Pads threading problems into the signature's batch-first inputs.

    Args:
      problems: per problem ``(xyz [m, 3], aa_probs [m, 20], sequence [n])``
        with ``sequence`` as indices (0–19, 20 unknown), e.g. from
        :func:`tf_structgen.common.encode_sequence`.

    Returns:
      ``xyz`` [B, M, 3], ``aa_probs`` [B, M, 20], ``num_nodes`` [B],
      ``sequence`` [B, L], ``sequence_length`` [B] (padding: zeros).
    """
    if not problems:
        raise ValueError("no problem to pack")
    b = len(problems)
    m = max(len(p[0]) for p in problems)
    n = max(len(p[2]) for p in problems)
    request = {"xyz": np.zeros((b, m, 3)), "aa_probs": np.zeros((b, m, 20)),
               "num_nodes": np.zeros(b), "sequence": np.zeros((b, n)),
               "sequence_length": np.zeros(b)}
    request = {k: v.astype(INPUT_DTYPES[k]) for k, v in request.items()}
    for i, (xyz, aa_probs, sequence) in enumerate(problems):
        request["xyz"][i, :len(xyz)] = xyz
        request["aa_probs"][i, :len(aa_probs)] = aa_probs
        request["num_nodes"][i] = len(xyz)
        request["sequence"][i, :len(sequence)] = sequence
        request["sequence_length"][i] = len(sequence)
    return request


def rest_body(request: dict[str, np.ndarray], *, style: str = "inputs",
              signature_name: str = "serving_default") -> dict:
    """The JSON body of a TF Serving REST ``:predict`` call.

    ``inputs`` (columnar) sends each input as one batch-first array;
    ``instances`` (row) sends one object per problem, which TF Serving stacks.
    """
    if style == "inputs":
        return {"signature_name": signature_name,
                "inputs": {k: v.tolist() for k, v in request.items()}}
    if style == "instances":
        batch = len(request["num_nodes"])
        return {"signature_name": signature_name,
                "instances": [{k: v[i].tolist() for k, v in request.items()}
                              for i in range(batch)]}
    raise ValueError(f"unknown REST style {style!r}")
