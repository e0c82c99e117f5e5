"""First start: the service's own entries (the baselines and the published methods) on a database that lacks them,
from the shipped recorded results when they match this harness and plan, else queued to be trained."""

from dataclasses import dataclass

from sqlalchemy.orm import Session

from harness.plan import SuitePlan
from worker.baselines import SERVICE_LOSSES, missing_baselines, queue_baselines
from worker.records_file import Records
from worker.records_install import install_records
from worker.records_staleness import usable_records


@dataclass(frozen=True)
class FirstStart:
    run_ids: list[int]  # the runs queued, for the caller to send once committed
    records: Records | None  # the recorded results installed, if any
    unused_records: str  # why no recorded results were used, when there are some and they were not


def start_service_entries(session: Session, plan: SuitePlan) -> FirstStart | None:
    """The service entries of the plan's suite, or None when the database has them all already.

    On a new database (none of them queued yet) the suite's recorded results are installed when they are what the
    service would train now, and the transfer runs they lack are queued; otherwise the missing entries are queued.
    """
    missing = missing_baselines(session, plan.suite)
    if not missing:
        return None
    records, unused = None, ""
    if len(missing) == len(SERVICE_LOSSES):
        records, unused = usable_records(plan)
    if records is not None:
        return FirstStart(install_records(session, records, plan), records, "")
    return FirstStart(queue_baselines(session, plan), None, unused)
