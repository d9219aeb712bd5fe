"""Threading problems as numpy examples and tf.data pipelines of GraphTensors.

TensorFlow is imported only by :mod:`tf_structgen.data.pipeline`; the
generators and the contact graph stay importable without it.
"""
