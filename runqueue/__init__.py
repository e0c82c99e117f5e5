"""The run queue: the Celery app's configuration, task names, and enqueueing runs; nothing here trains."""
