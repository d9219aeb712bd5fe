"""Training the link head (:class:`~tf_structgen.models.link_scorer.LinkScorer`).

A run directory holds ``link_config.json`` (the settings it was started
with), ``checkpoints/`` (model, optimizer and step, every
``checkpoint_every`` steps and at exit) and ``metrics.jsonl`` (one line per
validation). A run killed at any point resumes from its last checkpoint with
``resume=True`` and continues the same example stream (example i of the
stream is a pure function of the seed and i).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Callable

import numpy as np
import tensorflow as tf

from tf_structgen.common import features as F
from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.data import links
from tf_structgen.evaluation.links import link_metrics
from tf_structgen.models.link_scorer import LinkScorer

logger = logging.getLogger(__name__)

CONFIG_FILE = "link_config.json"
# The loss covers the contacts a threader may take as links (the HMM's
# adjacency reaches about 5.8 Å at 0.4 Å noise); longer ones are easy
# negatives that would dominate it.
LOSS_RANGE = 6.0
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"


@dataclasses.dataclass(frozen=True, kw_only=True)
class LinkTrainConfig:
    """Settings of a link-head run.

    Attributes:
      units, num_layers: the :class:`LinkScorer`'s width and depth.
      batch_size: candidate sets per step.
      learning_rate: Adam's rate (cosine decay to 10 % over ``max_steps``).
      max_steps: last step.
      checkpoint_every, validate_every: steps between checkpoints and
        validations.
      validation_size: candidate sets in the seeded validation set.
      seed: data and initialisation seed.
      parallel: example generators running side by side.
    """

    units: int = 64
    num_layers: int = 4
    batch_size: int = 4
    learning_rate: float = 2e-3
    max_steps: int = 20_000
    checkpoint_every: int = 250
    validate_every: int = 500
    validation_size: int = 40
    seed: int = 0
    parallel: int = 2

    def __post_init__(self):
        for name in ("units", "num_layers", "batch_size", "max_steps",
                     "checkpoint_every", "validate_every", "validation_size",
                     "parallel"):
            if getattr(self, name) < 1:
                raise ValueError(f"LinkTrainConfig.{name} must be >= 1")
        if not self.learning_rate > 0:
            raise ValueError("LinkTrainConfig.learning_rate must be > 0")


def build_scorer(config: LinkTrainConfig, data: links.LinkDataConfig) -> LinkScorer:
    return LinkScorer(units=config.units, num_layers=config.num_layers,
                      max_distance=data.contact_cutoff)


def _read_config(run_dir: Path) -> LinkTrainConfig:
    try:
        return LinkTrainConfig(**json.loads((run_dir / CONFIG_FILE).read_text()))
    except FileNotFoundError:
        raise InputError(f"{run_dir}: not a link training run (no {CONFIG_FILE})") from None
    except (ValueError, TypeError) as e:
        raise InputError(f"{run_dir / CONFIG_FILE}: unreadable ({e})") from None


def _write_config(run_dir: Path, config: LinkTrainConfig) -> None:
    with atomic_write(run_dir / CONFIG_FILE) as f:
        f.write(json.dumps(dataclasses.asdict(config), indent=2) + "\n")


def _edge_distances(graph) -> tf.Tensor:
    xyz = graph.node_sets[F.NODES][F.XYZ]
    adjacency = graph.edge_sets[F.CONTACTS].adjacency
    return tf.norm(tf.gather(xyz, adjacency.source) - tf.gather(xyz, adjacency.target),
                   axis=-1)


def evaluate_scorer(model: LinkScorer, dataset: tf.data.Dataset) -> dict[str, float]:
    """Link metrics (:func:`link_metrics`) of ``model`` over a dataset."""
    labels, logits, distances = [], [], []
    for graph in dataset:
        logits.append(model(graph).numpy())
        labels.append(graph.edge_sets[F.CONTACTS][links.LABEL].numpy())
        distances.append(_edge_distances(graph).numpy())
    return link_metrics(np.concatenate(labels), np.concatenate(logits),
                        np.concatenate(distances))


def train_links(run_dir: str | Path, config: LinkTrainConfig | None = None, *,
                data: links.LinkDataConfig = links.LinkDataConfig(),
                resume: bool = False, time_limit: float | None = None,
                on_step: Callable[[int, float], None] | None = None,
                max_steps: int | None = None) -> LinkScorer:
    """Trains (or, with ``resume``, continues) a link-head run.

    Args:
      run_dir: the run directory (created).
      config: settings of a new run; a resumed run uses its saved ones.
      data: the generated problems.
      resume: continue from the run's last checkpoint.
      time_limit: stop (with a checkpoint) after this many seconds.
      on_step: called with ``(step, loss)`` after every step.
      max_steps: with ``resume``, a new last step (saved with the run; the
        learning-rate schedule stretches to it).

    Returns:
      The trained model.
    """
    run_dir = Path(run_dir)
    if resume:
        config = _read_config(run_dir)
        if max_steps is not None and max_steps != config.max_steps:
            try:
                config = dataclasses.replace(config, max_steps=max_steps)
            except ValueError as e:
                raise InputError(str(e)) from None
            _write_config(run_dir, config)
    else:
        config = config or LinkTrainConfig()
        if (run_dir / CHECKPOINT_DIR).exists():
            raise InputError(f"{run_dir}: already holds a run; pass resume to continue it")
        run_dir.mkdir(parents=True, exist_ok=True)
        _write_config(run_dir, config)
    tf.keras.utils.set_random_seed(config.seed)
    model = build_scorer(config, data)
    schedule = tf.keras.optimizers.schedules.CosineDecay(
        config.learning_rate, config.max_steps, alpha=0.1)
    optimizer = tf.keras.optimizers.Adam(schedule)
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, step=step)
    manager = tf.train.CheckpointManager(checkpoint, run_dir / CHECKPOINT_DIR,
                                         max_to_keep=3)
    if resume and manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint)
        logger.info("resumed %s at step %d", run_dir, int(step))

    try:
        start = int(step)
        train = links.link_dataset(
            lambda shard: links.link_examples(data, seed=config.seed,
                                              start=start * config.batch_size,
                                              shard=shard),
            config.batch_size, parallel=config.parallel)
        validation = links.link_dataset(
            lambda shard: links.link_examples(data, seed=config.seed,
                                              stream=links.VALIDATION_STREAM,
                                              count=config.validation_size, shard=shard),
            config.batch_size).cache()
        loss_fn = tf.keras.losses.BinaryCrossentropy(from_logits=True)

        @tf.function(reduce_retracing=True)
        def train_step(graph):
            labels = graph.edge_sets[F.CONTACTS][links.LABEL]
            weights = tf.cast(_edge_distances(graph) < LOSS_RANGE, tf.float32)
            with tf.GradientTape() as tape:
                loss = loss_fn(labels[:, None], model(graph, training=True)[:, None],
                               sample_weight=weights)
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables))
            step.assign_add(1)
            return loss

        began = time.monotonic()
        for graph in train:
            if int(step) >= config.max_steps:
                break
            loss = float(train_step(graph))
            current = int(step)
            if on_step:
                on_step(current, loss)
            if current % config.checkpoint_every == 0:
                manager.save(checkpoint_number=current)
            if current % config.validate_every == 0 or current == config.max_steps:
                metrics = {"step": current, "loss": loss,
                           "elapsed_s": round(time.monotonic() - began, 1),
                           **evaluate_scorer(model, validation)}
                logger.info("link validation: %s", metrics)
                with open(run_dir / METRICS_FILE, "a") as f:
                    f.write(json.dumps(metrics) + "\n")
            if time_limit is not None and time.monotonic() - began > time_limit:
                break
    finally:  # also on KeyboardInterrupt: the run resumes where it stopped
        manager.save(checkpoint_number=int(step))
    return model


def load_link_scorer(run_dir: str | Path,
                     data: links.LinkDataConfig = links.LinkDataConfig()
                     ) -> tuple[LinkScorer, int]:
    """The run's model at its latest checkpoint, and that step."""
    run_dir = Path(run_dir)
    config = _read_config(run_dir)
    latest = tf.train.latest_checkpoint(run_dir / CHECKPOINT_DIR)
    if latest is None:
        raise InputError(f"{run_dir}: no checkpoint yet")
    model = build_scorer(config, data)
    step = tf.Variable(0, dtype=tf.int64, trainable=False)
    tf.train.Checkpoint(model=model, step=step).restore(latest).expect_partial()
    # Build the variables (restored on first call) with a two-node graph.
    model.score(tf.fill([2, 20], 0.05), tf.constant([[0.0, 0, 0], [3.8, 0, 0]]),
                tf.constant([0, 1]), tf.constant([1, 0]))
    return model, int(step)
