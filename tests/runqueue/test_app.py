"""The Celery configuration that makes a crash lose nothing and a GPU run one run at a time."""

from runqueue.app import EXECUTE_RUN, MAINTENANCE_QUEUE, REAP, RUNS_QUEUE, make_celery
from settings import Settings


def test_runs_are_acknowledged_late_given_back_on_a_lost_worker_and_fetched_one_at_a_time():
    conf = make_celery(Settings(broker_url="redis://127.0.0.1:6379/15")).conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1 and conf.worker_concurrency == 1
    assert conf.task_routes[EXECUTE_RUN]["queue"] == RUNS_QUEUE
    assert conf.task_routes[REAP]["queue"] == MAINTENANCE_QUEUE


def test_redis_redelivers_only_after_the_longest_run_and_runs_have_a_wall_time_hang_guard():
    settings = Settings(
        broker_url="redis://127.0.0.1:6379/15", run_time_limit=60, run_hang_limit=600, broker_visibility_timeout=900
    )
    conf = make_celery(settings).conf
    assert conf.broker_transport_options["visibility_timeout"] == 900
    assert conf.task_annotations[EXECUTE_RUN]["soft_time_limit"] == 600  # the hang guard, not the CPU budget


def test_the_embedded_broker_is_sqlite_and_gets_no_redis_options(tmp_path):
    conf = make_celery(Settings(data_root=tmp_path)).conf
    assert conf.broker_url.startswith("sqla+sqlite:///") and not conf.broker_transport_options
