"""tf_structgen: thread a protein sequence through cryo-EM Cα candidates.

TensorFlow-GNN needs Keras 2 (``tf-keras``). The switch below must happen
before TensorFlow is first imported anywhere in the process, so it lives at
the very top of the package.
"""

import os as _os

_os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

__all__ = ["__version__"]
