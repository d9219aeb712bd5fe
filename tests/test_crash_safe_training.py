"""A training run killed with SIGKILL leaves a loadable checkpoint and resumes.

TensorFlow writes a checkpoint's data files first and the ``checkpoint``
index file last (atomically), so ``tf.train.latest_checkpoint`` only ever
names a complete checkpoint, whenever the process dies.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import tensorflow as tf

from tf_structgen.training.trainer import CHECKPOINT_DIR, load_trained_model

START_TIMEOUT_S = 240  # TF start-up + first checkpoint on a busy 2-core machine
RESUME_STEPS = 40      # steps the resumed run trains past the kill point


def tfsg_command() -> list[str]:
    """The ``tfsg`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("tfsg")
    if script.is_file():
        return [str(script)]
    # cli/main.py ends in `if __name__ == "__main__": app()`, so -m works too.
    return [sys.executable, "-m", "tf_structgen.cli.main"]


def train_args(run_dir: Path, max_steps: int, *extra) -> list[str]:
    return [*tfsg_command(), "train", "--preset", "tiny", "--run-dir", str(run_dir),
            "--max-steps", str(max_steps), "--checkpoint-every", "20",
            "--validate-every", "1000", *extra]


def checkpoint_step(path: str) -> int:
    return int(re.search(r"ckpt-(\d+)$", path).group(1))


def wait_for_checkpoint(proc: subprocess.Popen, ckpt_dir: Path, timeout_s: float,
                        errors) -> None:
    """Waits until ``ckpt_dir`` names a checkpoint; fails the test if the
    process ends first (showing ``errors()``, its stderr) or time runs out."""
    deadline = time.monotonic() + timeout_s
    while tf.train.latest_checkpoint(str(ckpt_dir)) is None:
        if proc.poll() is not None:
            pytest.fail(f"training ended early ({proc.returncode}): {errors()[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"no checkpoint within {timeout_s} s")
        time.sleep(0.2)


@pytest.mark.slow
def test_sigkill_leaves_a_loadable_checkpoint_and_resume_finishes(tmp_path):
    run_dir = tmp_path / "run"
    ckpt_dir = run_dir / CHECKPOINT_DIR
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(train_args(run_dir, 400), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=env)
    try:
        wait_for_checkpoint(proc, ckpt_dir, START_TIMEOUT_S,
                            lambda: proc.stderr.read().decode())
        proc.send_signal(signal.SIGKILL)  # no handler, no atexit: a hard crash
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL

    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    assert latest is not None
    killed_at = checkpoint_step(latest)
    assert killed_at >= 20 and killed_at % 20 == 0
    model, preset, step = load_trained_model(run_dir)
    assert step == killed_at
    assert model.count_params() > 0

    target = killed_at + RESUME_STEPS
    resumed = subprocess.run(train_args(run_dir, target, "--resume"),
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"stopped at step {target}" in resumed.stdout, resumed.stdout
    assert checkpoint_step(tf.train.latest_checkpoint(str(ckpt_dir))) == target
    assert "Traceback" not in resumed.stderr



@pytest.mark.slow
def test_link_training_sigterm_checkpoints_and_resumes(tmp_path):
    """tfsg train-links: SIGTERM stops with a checkpoint at the step reached
    (the run could not have finished: 100,000 steps); the run then resumes
    to a new last step. The signal is sent once the first periodic
    checkpoint exists (the child's output is not read: a pipe would hold it
    until exit)."""
    from tf_structgen.cli.errors import EXIT_INTERRUPTED
    from tf_structgen.training.link_trainer import CHECKPOINT_DIR as LINK_CKPT

    run_dir = tmp_path / "links"
    ckpt_dir = run_dir / LINK_CKPT
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    args = [*tfsg_command(), "train-links", "--run-dir", str(run_dir),
            "--max-steps", "100000", "--units", "8", "--layers", "1", "--batch-size", "1"]
    err_path = tmp_path / "stderr.txt"
    with open(err_path, "w") as err_file:
        proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err_file, env=env)
        try:
            wait_for_checkpoint(proc, ckpt_dir, 2 * START_TIMEOUT_S, err_path.read_text)
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    err = err_path.read_text()
    assert proc.returncode == EXIT_INTERRUPTED, err[-2000:]
    assert "checkpoint saved" in err and "--resume" in err
    stopped = checkpoint_step(tf.train.latest_checkpoint(str(ckpt_dir)))
    assert 250 <= stopped < 100_000
    target = stopped + 20
    resumed = subprocess.run([*tfsg_command(), "train-links", "--run-dir", str(run_dir),
                              "--resume", "--max-steps", str(target)],
                             capture_output=True, text=True, env=env, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert checkpoint_step(tf.train.latest_checkpoint(str(ckpt_dir))) == target
