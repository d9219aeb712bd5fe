"""Training throughput (graphs/s) of the presets at several batch sizes.

Runs the real train step (tf.function: forward, the preset's loss as the
trainer computes it, gradients, Adam) on the preset's training graphs
(paper protocol: m = 500 nodes, n = 50–450) after warm-up steps and prints
graphs/s per preset and batch size, with the device it ran on.

No ``--model`` and no ``--decoder``: the script trains freshly built models
of ``--presets`` (a SavedModel cannot be trained further, and nothing is
decoded). The bundled model's architecture and training data are the
``hybrid`` preset (``--presets hybrid``).

Usage (from the repository root):

    python benchmarks/train_throughput.py [--presets paper fast] [--batch-sizes 1 8 32]
        [--steps 5] [--warmup 2]
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

import tf_structgen  # noqa: E402,F401  (Keras 2 before TensorFlow)
import tensorflow as tf  # noqa: E402

from tf_structgen.data import pipeline  # noqa: E402
from tf_structgen.training.losses import local_pointer_loss, pointer_loss  # noqa: E402
from tf_structgen.training.config import PRESETS  # noqa: E402
from tf_structgen.training.trainer import build_model  # noqa: E402


def throughput(preset_name: str, batch_size: int, steps: int, warmup: int) -> float:
    preset = PRESETS[preset_name]
    data = pipeline.synthetic_dataset(preset.data, batch_size=batch_size, seed=0)
    batches = list(data.take(steps + warmup))
    model = build_model(preset)
    optimizer = tf.keras.optimizers.Adam(1e-3)
    local_weight = preset.train.local_loss_weight

    @tf.function(input_signature=[data.element_spec])
    def step(graph):
        with tf.GradientTape() as tape:
            logits = model(graph, training=True)
            loss = pointer_loss(logits, graph)
            if local_weight:  # as the trainer: the hybrid preset's local loss
                loss += local_weight * local_pointer_loss(logits, graph)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    for graph in batches[:warmup]:
        step(graph).numpy()
    t0 = time.perf_counter()
    for graph in batches[warmup:]:
        step(graph).numpy()
    return steps * batch_size / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="No --model or --decoder: freshly built models of --presets are trained "
               "and nothing is decoded. The bundled model is the hybrid preset.")
    parser.add_argument("--presets", nargs="+", default=["paper", "fast"],
                        choices=sorted(PRESETS),
                        help="training presets (default: paper fast; tfsg train's default "
                             "is paper, the bundled model's is hybrid)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args()
    gpus = tf.config.list_physical_devices("GPU")
    device = ", ".join(d.name for d in gpus) if gpus else "CPU only"
    print(f"device: {device}")
    print(f"{'preset':<10} {'pointer':<9} {'batch':>5} {'graphs/s':>9} {'s/step':>7}")
    for name in args.presets:
        for b in args.batch_sizes:
            gps = throughput(name, b, args.steps, args.warmup)
            print(f"{name:<10} {PRESETS[name].model.pointer:<9} {b:>5} {gps:>9.2f} "
                  f"{b / gps:>7.2f}", flush=True)


if __name__ == "__main__":
    main()
