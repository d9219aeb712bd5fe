"""Training loop: learning, checkpoints, resume to the same step and weights."""

import json

import numpy as np
import pytest
import tensorflow as tf

from tf_structgen.common.errors import InputError
from tf_structgen.training import trainer
from tf_structgen.training.config import PRESETS, Preset


def weights(run_dir):
    model, _, step = trainer.load_trained_model(run_dir)
    return step, [w.numpy() for w in model.weights]


@pytest.mark.slow
def test_tiny_training_learns_far_above_chance(tmp_path, tiny_preset):
    preset = tiny_preset.replace(train__max_steps=300, train__validate_every=300)
    info = trainer.train(tmp_path / "run", preset)
    chance = 1.0 / preset.data.node_budget
    assert info.step == 300
    assert info.validation_aa > 10 * chance
    # TensorBoard scalars were written.
    assert list((tmp_path / "run" / "logs").glob("events.out.tfevents.*"))


def test_resume_reaches_same_step_and_weights(tmp_path, tiny_preset):
    tf.config.experimental.enable_op_determinism()
    preset = tiny_preset.replace(train__max_steps=12, train__checkpoint_every=5,
                                 train__validate_every=1000)
    trainer.train(tmp_path / "straight", preset)

    # Interrupt after 7 steps (checkpoint at 5 and at exit), then resume.
    def stop_at_7(info):
        if info.step == 7:
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        trainer.train(tmp_path / "resumed", preset, on_step=stop_at_7)
    assert weights(tmp_path / "resumed")[0] == 7
    trainer.train(tmp_path / "resumed", preset, resume=True)

    step_a, wa = weights(tmp_path / "straight")
    step_b, wb = weights(tmp_path / "resumed")
    assert step_a == step_b == 12
    for a, b in zip(wa, wb):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_refuses_to_overwrite_and_to_resume_nothing(tmp_path, tiny_preset):
    preset = tiny_preset.replace(train__max_steps=2, train__validate_every=1000)
    with pytest.raises(InputError, match="nothing to resume"):
        trainer.train(tmp_path / "run", preset, resume=True)
    trainer.train(tmp_path / "run", preset)
    with pytest.raises(InputError, match="already holds a run"):
        trainer.train(tmp_path / "run", preset)
    saved = json.loads((tmp_path / "run" / "config.json").read_text())
    assert Preset.from_dict(saved) == preset


def test_time_limit_stops_and_checkpoints(tmp_path, tiny_preset):
    preset = tiny_preset.replace(train__max_steps=100_000, train__validate_every=10**6,
                                 train__checkpoint_every=10**6)
    info = trainer.train(tmp_path / "run", preset, time_limit_s=0.0)
    assert info.step == 1
    assert weights(tmp_path / "run")[0] == 1


def test_learning_rate_drop(tiny_preset):
    assert tiny_preset.train.learning_rate_after < tiny_preset.train.learning_rate
    paper = PRESETS["paper"].train
    assert (paper.learning_rate, paper.learning_rate_after) == (1e-3, 1e-4)


def test_preset_override_validation(tiny_preset):
    with pytest.raises(ValueError, match="pointer"):
        tiny_preset.replace(model__pointer="cosine")
