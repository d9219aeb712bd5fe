"""The ``tfsg`` command-line interface (installed as ``tf_structgen.cli``)."""
