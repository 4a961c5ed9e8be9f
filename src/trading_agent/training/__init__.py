"""Training: purged walk-forward splits, the training set, hyperparameter search, the registry, drift."""
