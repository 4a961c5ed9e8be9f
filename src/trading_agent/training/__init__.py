"""Training: purged and embargoed walk-forward splits, drift detection."""
