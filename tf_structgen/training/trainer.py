"""The training loop: tf.function steps, checkpoints, TensorBoard, validation."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Callable

import tensorflow as tf

from tf_structgen.common.atomic import atomic_write
from tf_structgen.common.errors import InputError
from tf_structgen.data import pipeline, synthetic
from tf_structgen.evaluation.accuracy import greedy_accuracy
from tf_structgen.evaluation.metrics import mean_accuracy
from tf_structgen.models.structure_generator import StructureGenerator
from tf_structgen.training.config import Preset
from tf_structgen.training.losses import local_pointer_loss, pointer_loss

logger = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
LOG_DIR = "logs"


@dataclasses.dataclass
class StepInfo:
    """What the loop reports after each step (for progress bars)."""

    step: int
    max_steps: int
    loss: float
    steps_per_second: float
    validation_aa: float | None = None


def log_devices() -> list[str]:
    """Logs and returns the devices TensorFlow will use (GPU first if any)."""
    gpus = tf.config.list_physical_devices("GPU")
    names = [d.name for d in gpus] or [d.name for d in tf.config.list_physical_devices("CPU")]
    logger.info("training on %s", ", ".join(names) if gpus else f"CPU only ({', '.join(names)})")
    return names


def load_preset(run_dir: str | Path) -> Preset:
    """Reads the preset a run directory was started with."""
    path = Path(run_dir) / CONFIG_FILE
    try:
        return Preset.from_dict(json.loads(path.read_text()))
    except FileNotFoundError:
        raise InputError(f"{run_dir}: not a training run directory (no {CONFIG_FILE})") from None
    except (ValueError, KeyError, TypeError) as e:
        raise InputError(f"{path}: unreadable run configuration ({e})") from None


def build_model(preset: Preset) -> StructureGenerator:
    """Creates the model and its variables (the same build a `.keras` load does)."""
    model = StructureGenerator.from_model_config(preset.model)
    model.build_from_config(model.get_build_config())
    return model


def _checkpoint(model, optimizer=None) -> tuple[tf.train.Checkpoint, tf.Variable]:
    step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
    parts = {"model": model, "step": step}
    if optimizer is not None:
        parts["optimizer"] = optimizer
    return tf.train.Checkpoint(**parts), step


def load_trained_model(run_dir: str | Path) -> tuple[StructureGenerator, Preset, int]:
    """Model of a run directory at its latest checkpoint: (model, preset, step)."""
    preset = load_preset(run_dir)
    latest = tf.train.latest_checkpoint(str(Path(run_dir) / CHECKPOINT_DIR))
    if latest is None:
        raise InputError(f"{run_dir}: no checkpoint to load")
    model = build_model(preset)
    ckpt, step = _checkpoint(model)
    ckpt.restore(latest).expect_partial()
    return model, preset, int(step.numpy())


def validation_batches(preset: Preset, count: int | None = None, seed: int | None = None):
    """The seeded validation set: forward sequences, a stream disjoint from training."""
    return pipeline.synthetic_dataset(
        preset.data, batch_size=preset.train.batch_size,
        seed=preset.train.seed if seed is None else seed,
        stream=synthetic.VALIDATION_STREAM,
        count=count or preset.train.validation_size, reverse=False)


def _is_chief(strategy: tf.distribute.Strategy) -> bool:
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    return (resolver.task_type == "worker" and resolver.task_id == 0
            and "chief" not in resolver.cluster_spec().as_dict())


def _output_dir(run_dir: Path, strategy: tf.distribute.Strategy) -> Path:
    """The chief writes checkpoints and logs into the run directory; other
    workers (which must still save, for the collective ops) into a scratch
    folder removed when they finish."""
    if _is_chief(strategy):
        return run_dir
    return run_dir / f".worker-{strategy.cluster_resolver.task_id}"


def _training_data(preset: Preset, strategy: tf.distribute.Strategy, start_step: int):
    """The training stream from ``start_step``, split over the replicas.

    Input pipeline w of N (one per worker) serves its L local replicas: it
    keeps the w-th of every N chunks of L per-replica batches, so global
    batch k holds examples [k B, (k + 1) B) whatever the layout.
    """
    cfg = preset.train
    replicas = strategy.num_replicas_in_sync
    per_replica = cfg.batch_size // replicas
    common = dict(seed=cfg.seed, start=start_step * cfg.batch_size)
    if replicas == 1:
        return pipeline.synthetic_dataset(preset.data, batch_size=cfg.batch_size, **common)

    def make(context: tf.distribute.InputContext):
        local = replicas // context.num_input_pipelines
        return pipeline.synthetic_dataset(
            preset.data, batch_size=per_replica, **common,
            shard=(context.input_pipeline_id, context.num_input_pipelines),
            shard_block=per_replica * local)

    return strategy.distribute_datasets_from_function(make)


def train(run_dir: str | Path, preset: Preset, *, resume: bool = False,
          time_limit_s: float | None = None,
          on_step: Callable[[StepInfo], None] | None = None,
          strategy: tf.distribute.Strategy | None = None) -> StepInfo:
    """Trains (or resumes) a run to ``preset.train.max_steps``.

    Checkpoints every ``checkpoint_every`` steps and whenever the loop ends
    (normally, at the time limit, or on KeyboardInterrupt, which is re-raised).
    Example ``i`` of the training stream is fixed by the seed, and a resumed
    run restarts the stream at ``step * batch_size``, so an interrupted and
    resumed run follows the same data as an uninterrupted one.

    Args:
      run_dir: holds ``config.json``, ``checkpoints/`` and ``logs/``.
      preset: settings (on resume, ``max_steps`` may differ from the saved run).
      resume: continue from the latest checkpoint.
      time_limit_s: stop (and checkpoint) after this much wall time.
      on_step: progress callback.
      strategy: a ``tf.distribute`` strategy (default: the current one, one
        device). ``batch_size`` is the global batch, split evenly over the
        replicas; the replicas together see the single-device data stream.

    Returns:
      The last step's info.
    """
    run_dir = Path(run_dir)
    ckpt_dir = run_dir / CHECKPOINT_DIR
    latest = tf.train.latest_checkpoint(str(ckpt_dir))
    if latest and not resume:
        raise InputError(f"{run_dir}: already holds a run; pass --resume to continue it "
                         "or choose another run directory")
    if resume:
        if latest is None:
            raise InputError(f"{run_dir}: nothing to resume (no checkpoint)")
        saved = load_preset(run_dir)
        preset = dataclasses.replace(saved, train=dataclasses.replace(
            saved.train, max_steps=preset.train.max_steps))
    run_dir.mkdir(parents=True, exist_ok=True)
    with atomic_write(run_dir / CONFIG_FILE) as f:
        f.write(preset.to_json())

    log_devices()
    cfg = preset.train
    strategy = strategy or tf.distribute.get_strategy()
    replicas = strategy.num_replicas_in_sync
    if cfg.batch_size % replicas:
        raise InputError(f"batch size {cfg.batch_size} does not split evenly over "
                         f"{replicas} replicas")
    logger.info("%s with %d replica(s), global batch %d", type(strategy).__name__,
                replicas, cfg.batch_size)
    tf.keras.utils.set_random_seed(cfg.seed)
    with strategy.scope():
        model = build_model(preset)
        schedule = tf.keras.optimizers.schedules.PiecewiseConstantDecay(
            [cfg.lr_drop_step], [cfg.learning_rate, cfg.learning_rate_after])
        optimizer = tf.keras.optimizers.Adam(schedule)
        optimizer.build(model.trainable_variables)
        ckpt, step_var = _checkpoint(model, optimizer)
    out_dir = _output_dir(run_dir, strategy)
    manager = tf.train.CheckpointManager(ckpt, str(out_dir / CHECKPOINT_DIR),
                                         max_to_keep=cfg.keep_checkpoints)
    if resume:
        ckpt.restore(latest).assert_existing_objects_matched()
        logger.info("resumed from %s at step %d", latest, int(step_var.numpy()))
    start_step = int(step_var.numpy())

    dataset = _training_data(preset, strategy, start_step)
    validation = validation_batches(preset)

    def replica_step(graph):
        with tf.GradientTape() as tape:
            # Gradients are summed over replicas: scale to the global mean.
            logits = model(graph, training=True)
            loss = pointer_loss(logits, graph)
            if cfg.local_loss_weight:
                loss += cfg.local_loss_weight * local_pointer_loss(logits, graph)
            loss = loss / replicas
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function(input_signature=[dataset.element_spec])
    def train_step(graph):
        losses = strategy.run(replica_step, args=(graph,))
        step_var.assign_add(1)
        return strategy.reduce(tf.distribute.ReduceOp.SUM, losses, axis=None)

    writer = tf.summary.create_file_writer(str(out_dir / LOG_DIR))
    info = StepInfo(step=start_step, max_steps=cfg.max_steps, loss=float("nan"),
                    steps_per_second=0.0)
    saved_step = start_step
    t0 = t_last = time.perf_counter()
    step_last = start_step
    try:
        for graph in dataset:
            if int(step_var.numpy()) >= cfg.max_steps:
                break
            loss = float(train_step(graph))
            step = int(step_var.numpy())
            now = time.perf_counter()
            info = StepInfo(step=step, max_steps=cfg.max_steps, loss=loss,
                            steps_per_second=(step - step_last) / max(now - t_last, 1e-9))
            if now - t_last > 5.0:
                t_last, step_last = now, step
            with writer.as_default(step=step):
                tf.summary.scalar("loss", loss)
                tf.summary.scalar("learning_rate", float(schedule(step)))
            if step % cfg.validate_every == 0 or step == cfg.max_steps:
                info.validation_aa = mean_accuracy(
                    greedy_accuracy(model, validation)["accuracy"]["forward"])
                with writer.as_default(step=step):
                    tf.summary.scalar("validation_aa", info.validation_aa)
                logger.info("step %d loss %.3f validation AA %.4f", step, loss,
                            info.validation_aa)
            if step % cfg.checkpoint_every == 0:
                manager.save(checkpoint_number=step)
                saved_step = step
            if on_step is not None:
                on_step(info)
            if time_limit_s is not None and now - t0 > time_limit_s:
                logger.info("time limit reached at step %d", step)
                break
    finally:
        step = int(step_var.numpy())
        if step != saved_step:
            manager.save(checkpoint_number=step)
        writer.flush()
        if out_dir != run_dir:
            shutil.rmtree(out_dir, ignore_errors=True)
    return info
