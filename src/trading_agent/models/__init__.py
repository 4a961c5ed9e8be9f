"""Models: one protocol (fit, predict_proba, save, load) for tree, deep, meta, anomaly and RL models."""
