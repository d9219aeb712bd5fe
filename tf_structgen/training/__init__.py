"""Training: configs and presets, losses, the loop."""
