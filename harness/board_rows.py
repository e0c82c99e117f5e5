"""The rows a board is ranked from, as plain data: db/queries/leaderboard.py returns them, scoring/leaderboard.py
groups and ranks them, and api/ shows them.

Here, beside the plan and the result schema, because the room that reads them (scoring) may not import the room
that fills them (db), and harness's plain data is what both may import without an exception: this module imports
nothing but the standard library (pyproject.toml's import contracts).
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ShownSubmission:
    """The columns of a submission the leaderboard shows: its code and other columns are never loaded."""

    id: int
    name: str
    kind: str  # db.models.SubmissionKind
    created_at: datetime
    reference: bool  # a baseline or a published method: every submission's page is compared with it
    description: str = ""
    link: str | None = None
    participant: str = ""
    rerunning: bool = False  # a rerun is under way; these results stay until it has wholly succeeded
    rerun_failed: bool = False  # the last rerun did not succeed; these are still the results before it
    recorded: bool = False  # results shipped with the project (worker/records_file.py), not trained by this service


@dataclass(frozen=True)
class TrialRow:
    """One succeeded current run's metrics, as the leaderboard query returns it."""

    submission: ShownSubmission
    benchmark: str
    trial: int  # from 1
    legacy_seed: bool  # trained before trials existed (scoring.leaderboard.trial_key pairs it apart)
    metrics: dict[str, float]
    # A transfer run's hidden flip design (harness.registry.FLIP_DESIGN); scoring ranks only the current one's.
    flip_design: int | None
