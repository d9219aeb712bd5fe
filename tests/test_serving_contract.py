"""The REST and gRPC contracts of docs/serving.md, checked against the signature.

TF Serving itself cannot be installed here; these tests emulate its request
decoding (JSON lists -> tensors of the signature's dtypes; protos -> tensors)
and its response encoding.
"""

import json
import re
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.export.requests import padded_request, rest_body

DOC = (Path(__file__).resolve().parents[1] / "docs" / "serving.md").read_text()


def documented_json(kind):
    """The JSON blocks of the docs, in order; kind selects request or response."""
    blocks = [json.loads(b) for b in re.findall(r"```json\n(.*?)```", DOC, re.S)]
    return [b for b in blocks if (kind in b)][0]


def serve_rest(signature, body):
    """What TF Serving does with a REST :predict body."""
    specs = signature.structured_input_signature[1]
    if "inputs" in body:
        tensors = {k: tf.constant(v, specs[k].dtype) for k, v in body["inputs"].items()}
        out = signature(**tensors)
        return {"outputs": {k: v.numpy().tolist() for k, v in out.items()}}
    rows = body["instances"]
    tensors = {k: tf.constant([r[k] for r in rows], specs[k].dtype) for k in specs}
    out = signature(**tensors)
    return {"predictions": [{k: v.numpy()[i].tolist() for k, v in out.items()}
                            for i in range(len(rows))]}


@pytest.fixture(scope="module")
def signature(exported_model):
    loaded = tf.saved_model.load(str(exported_model / "1"))
    signature = loaded.signatures["serving_default"]
    signature._keep = loaded
    return signature


def test_documented_rest_body_gives_documented_response_shape(signature):
    body = documented_json("inputs")
    response = serve_rest(signature, body)
    documented = documented_json("outputs")["outputs"]
    assert set(response["outputs"]) == set(documented)
    for key, value in documented.items():
        assert np.shape(response["outputs"][key]) == np.shape(value), key


@pytest.mark.parametrize("style", ["inputs", "instances"])
def test_rest_styles_agree_with_direct_call(signature, style):
    rng = np.random.default_rng(0)
    problems = [((np.cumsum(rng.normal(size=(m, 3)), 0) * 2).astype(np.float32),
                 rng.dirichlet(np.ones(20), size=m).astype(np.float32),
                 rng.integers(0, 21, n)) for m, n in [(12, 5), (9, 7)]]
    request = padded_request(problems)
    body = json.loads(json.dumps(rest_body(request, style=style)))
    response = serve_rest(signature, body)
    direct = signature(**request)
    if style == "inputs":
        got = np.array(response["outputs"]["node_index"])
    else:
        got = np.array([p["node_index"] for p in response["predictions"]])
    np.testing.assert_array_equal(got, direct["node_index"].numpy())
    assert got.shape == (2, 7)
    assert np.all(got[0, 5:] == -1)


def test_grpc_request_round_trip(signature):
    from tensorflow_serving.apis import predict_pb2

    rng = np.random.default_rng(1)
    request_arrays = padded_request([(rng.random((6, 3)).astype(np.float32) * 8,
                                      rng.dirichlet(np.ones(20), size=6), np.array([3, 20, 5]))])
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "structgen"
    request.model_spec.signature_name = "serving_default"
    for name, value in request_arrays.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    wire = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    tensors = {k: tf.constant(tf.make_ndarray(v)) for k, v in wire.inputs.items()}
    for k, v in tensors.items():
        assert v.dtype == signature.structured_input_signature[1][k].dtype
    out = signature(**tensors)
    np.testing.assert_array_equal(out["node_index"].numpy(),
                                  signature(**request_arrays)["node_index"].numpy())
    response = predict_pb2.PredictResponse()
    for k, v in out.items():
        response.outputs[k].CopyFrom(tf.make_tensor_proto(v.numpy()))
    assert tf.make_ndarray(response.outputs["node_index"]).shape == (1, 3)


def test_padded_request_and_rest_body_errors():
    with pytest.raises(ValueError, match="no problem"):
        padded_request([])
    with pytest.raises(ValueError, match="REST style"):
        rest_body(padded_request([(np.zeros((1, 3)), np.ones((1, 20)), np.array([1]))]),
                  style="rows")
