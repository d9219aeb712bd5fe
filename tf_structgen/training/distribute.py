"""Choosing a tf.distribute strategy for training."""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from tf_structgen.common.errors import InputError

logger = logging.getLogger(__name__)

STRATEGIES = ("default", "mirrored", "multi-worker")


def split_cpu(count: int) -> None:
    """Exposes the CPU as ``count`` logical devices (multi-replica runs on one CPU).

    Must run before TensorFlow initialises its devices.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError as e:
        raise InputError(f"cannot split the CPU after TensorFlow started ({e})") from None


def make_strategy(name: str, logical_cpus: int | None = None) -> tf.distribute.Strategy:
    """``default`` (one device), ``mirrored`` (all local GPUs, else the logical
    CPUs) or ``multi-worker`` (MultiWorkerMirroredStrategy configured by the
    ``TF_CONFIG`` environment variable)."""
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose from {', '.join(STRATEGIES)}")
    if logical_cpus:
        if logical_cpus < 1:
            raise InputError("--logical-cpus must be at least 1")
        split_cpu(logical_cpus)
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    if "TF_CONFIG" not in os.environ:
        raise InputError("--strategy multi-worker needs the TF_CONFIG environment variable "
                         "(cluster and task of this worker)")
    try:
        json.loads(os.environ["TF_CONFIG"])
    except ValueError as e:
        raise InputError(f"TF_CONFIG is not valid JSON ({e})") from None
    return tf.distribute.MultiWorkerMirroredStrategy()
