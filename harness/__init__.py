"""The trusted benchmark: registry, data, poisoning, models, trainer and metrics. Imports nothing of the service."""

# Bumped whenever a change can move a metric: results of different harness versions are never ranked together.
HARNESS_VERSION = "1.0.0"
