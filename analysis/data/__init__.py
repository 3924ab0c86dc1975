"""Which videos the study reads: manifests, the real datasets' indexers, identity-safe splits."""
