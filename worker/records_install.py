"""Installing recorded results on a new database: every service loss as a submission with its recorded runs, and
the plan's transfer runs the records lack queued to be trained here."""

from sqlalchemy.orm import Session

from db import queries
from harness.loss_file import sha256_of
from harness.losses import loss_path
from harness.plan import SuitePlan
from worker.baselines import SERVICE_LOSSES, service_participant
from worker.records_file import Records
from worker.records_staleness import missing_transfer_runs


def install_records(session: Session, records: Records, plan: SuitePlan) -> list[int]:
    """The service entries from `records` (which stand for `plan`: worker.records_staleness.usable_records);
    returns the ids of the transfer runs queued."""
    owner = service_participant(session)
    missing = missing_transfer_runs(records, plan)
    queued: list[int] = []
    for name, (kind, description) in SERVICE_LOSSES.items():
        code = loss_path(name).read_text()
        queued += queries.submissions.create_recorded_submission(
            session,
            owner,
            plan=plan,
            name=name,
            code=code,
            sha256=sha256_of(code),
            description=description,
            kind=kind,
            filename=loss_path(name).name,
            results=[(run.trial, run.result, run.flip_design) for run in records.runs if run.loss == name],
            to_train=[(benchmark, trial) for loss, benchmark, trial in missing if loss == name],
        )
    return queued
