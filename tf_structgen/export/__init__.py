"""SavedModel export for TF Serving and for ``tfsg predict``."""
