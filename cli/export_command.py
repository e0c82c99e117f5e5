"""`poisonbench admin export --out DIR`: every submission's metadata and results as JSON and CSV, never the code."""

import argparse
import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from db import queries
from db.models import Run, Submission
from db.session import session_scope
from harness.result import METRIC_NAMES
from settings import get_settings

# The uploaded code is the participant's; the log tail can quote it in a traceback. Neither leaves the database.
PRIVATE_COLUMNS = {"code", "log_tail"}
SUBMISSION_CSV_COLUMNS = ("submission_id", "submission", "participant", "kind", "suite", "hidden")
RUN_COLUMNS = (
    "benchmark", "trial", "seed", "legacy_seed", "flip_design", "pending_replacement", "status", "attempts",
    "harness_version", "started_at", "finished_at", "superseded_at",
)  # fmt: skip
RUNS_CSV_HEADER = (*SUBMISSION_CSV_COLUMNS, "run_id", *RUN_COLUMNS, *METRIC_NAMES, "failure_cause", "error")


def register_admin(commands: argparse._SubParsersAction) -> None:
    export = commands.add_parser("export", help="every submission's metadata and results as JSON and CSV (no code)")
    export.add_argument("--out", type=Path, required=True, help="folder for submissions.json and runs.csv")
    export.set_defaults(handler=export_results)


def export_results(args: argparse.Namespace) -> None:
    with session_scope(get_settings().sqlalchemy_url) as session:
        submissions, runs = write_export(session, args.out)
    print(f"exported {submissions} submissions and {runs} runs to {args.out}: submissions.json, runs.csv")


def write_export(session: Session, out: Path) -> tuple[int, int]:
    """Writes submissions.json (each submission with all its runs, superseded ones too) and runs.csv (one row
    per run with its metrics); returns how many submissions and runs."""
    out.mkdir(parents=True, exist_ok=True)
    exported = queries.submissions.every_submission_with_runs(session)
    documents = [
        {**_columns(submission), "participant": submission.participant.display_name, "runs": list(map(_columns, runs))}
        for submission, runs in exported
    ]
    (out / "submissions.json").write_text(json.dumps(documents, indent=1, default=_isoformat) + "\n")
    with (out / "runs.csv").open("w", newline="") as table:
        writer = csv.DictWriter(table, RUNS_CSV_HEADER)
        writer.writeheader()
        writer.writerows(_run_row(submission, run) for submission, runs in exported for run in runs)
    return len(exported), sum(len(runs) for _, runs in exported)


def _columns(row: Submission | Run) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in row.__mapper__.column_attrs if c.key not in PRIVATE_COLUMNS}


def _run_row(submission: Submission, run: Run) -> dict[str, Any]:
    described = (submission.id, submission.name, submission.participant.display_name, submission.kind,
                 submission.suite, submission.hidden)  # fmt: skip
    metrics: dict[str, float] = run.metrics or {}
    return {
        **dict(zip(SUBMISSION_CSV_COLUMNS, described, strict=True)),
        "run_id": run.id,
        **{name: getattr(run, name) for name in RUN_COLUMNS},
        **{name: metrics.get(name) for name in METRIC_NAMES},
        "failure_cause": run.failure_cause,
        "error": run.error,
    }


def _isoformat(value: datetime) -> str:
    return value.isoformat()
