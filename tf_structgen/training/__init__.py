"""Training: configs and presets, the loop, metrics."""
