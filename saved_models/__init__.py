"""Bundled SavedModels (installed as the data package ``tf_structgen.saved_models``)."""
