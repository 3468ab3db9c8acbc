"""Operating an installation: dependency checks, metrics, backup and restore."""
