"""The Celery worker: one task per run, heartbeat, reaper, retries; where db/, harness/ and sandbox/ meet."""
