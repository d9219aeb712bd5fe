"""Multi-device training: mirrored on two logical CPUs, two workers on loopback."""

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TFSG = str(Path(sys.executable).with_name("tfsg"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, tf_structgen, tensorflow as tf
        from tf_structgen.training import trainer
        from tf_structgen.training.config import PRESETS
        from tf_structgen.training.distribute import make_strategy
        strategy = make_strategy("mirrored", logical_cpus=2)
        assert strategy.num_replicas_in_sync == 2
        tf.config.experimental.enable_op_determinism()
        preset = PRESETS["tiny"].replace(train__max_steps=5, train__validate_every=1000)
        trainer.train({str(tmp_path / "two")!r}, preset, strategy=strategy)
        trainer.train({str(tmp_path / "one")!r}, preset)
        a, _, sa = trainer.load_trained_model({str(tmp_path / "two")!r})
        b, _, sb = trainer.load_trained_model({str(tmp_path / "one")!r})
        diff = max(float(np.abs(x.numpy() - y.numpy()).max()) for x, y in zip(a.weights, b.weights))
        print("RESULT", sa, sb, diff)
    """)
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    sa, sb, diff = run.stdout.split("RESULT")[1].split()
    assert sa == sb == "5"
    # Same data, same global batch: equal up to float summation order.
    assert float(diff) < 1e-3


@pytest.mark.slow
def test_two_workers_on_loopback(tmp_path):
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    procs = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}}))
        procs.append(subprocess.Popen(
            [TFSG, "train", "--preset", "tiny", "--run-dir", str(tmp_path / "run"),
             "--strategy", "multi-worker", "--max-steps", "4", "--validate-every", "1000"],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=600))
    finally:
        for p in procs:
            p.kill()
    for p, (out, err) in zip(procs, outputs):
        assert p.returncode == 0, err[-3000:]
        assert "stopped at step 4" in out
        assert "2 replica(s)" in err
    assert (tmp_path / "run" / "checkpoints" / "ckpt-4.index").exists()
    assert not (tmp_path / "run" / ".worker-1").exists()


def test_strategy_errors(monkeypatch):
    from tf_structgen.common.errors import InputError
    from tf_structgen.training.distribute import make_strategy

    with pytest.raises(InputError, match="unknown strategy"):
        make_strategy("parallel")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(InputError, match="TF_CONFIG"):
        make_strategy("multi-worker")
    monkeypatch.setenv("TF_CONFIG", "{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        make_strategy("multi-worker")
