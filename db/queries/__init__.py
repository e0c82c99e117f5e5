"""Every query that more than one caller needs, one module per seam; callers write `queries.runs.claim_run`.

The modules are imported here so that `from db import queries` gives each of them by its seam's name: the
call site names the module that owns the query, and no query's name can clash with a caller's own function.
"""

from db.queries import leaderboard, participants, queue_position, runs, submissions, transitions

__all__ = ["leaderboard", "participants", "queue_position", "runs", "submissions", "transitions"]
