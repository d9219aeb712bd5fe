"""Threading candidate sets with a SavedModel or the classical HMM."""
