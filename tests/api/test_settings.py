"""The one settings object: embedded defaults in development, refusals of unsafe values in production."""

import pytest
from pydantic import ValidationError

from settings import Settings, get_settings

SAFE_PRODUCTION = {
    "environment": "production",
    "master_seed": 7919,
    "suite": "official",
    "database_url": "postgresql+psycopg://db/poisonbench",
    "broker_url": "redis://broker:6379/0",
}


def test_with_no_settings_the_service_uses_sqlite_files_for_database_and_broker(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.sqlalchemy_url == "sqlite:///var/poisonbench.sqlite3"
    assert settings.celery_broker_url == "sqla+sqlite:///var/broker.sqlite3"
    assert settings.cors_origins == () and settings.suite is None


def test_settings_are_read_once_from_poisonbench_variables(monkeypatch):
    monkeypatch.setenv("POISONBENCH_SUBMISSIONS_PER_DAY", "9")
    monkeypatch.setenv("POISONBENCH_TRIALS_PROXY", "5")
    get_settings.cache_clear()
    try:
        assert get_settings().submissions_per_day == 9 and get_settings().trials("proxy") == 5
        assert get_settings() is get_settings()
    finally:
        get_settings.cache_clear()


def test_production_accepts_explicit_safe_values():
    assert Settings(**SAFE_PRODUCTION).environment == "production"


@pytest.mark.parametrize(
    ("unsafe", "message"),
    [
        ({"master_seed": 42}, "POISONBENCH_MASTER_SEED"),
        ({"cors_origins": ["*"]}, "CORS"),
        ({"suite": None}, "POISONBENCH_SUITE"),
        ({"broker_url": ""}, "POISONBENCH_BROKER_URL"),
    ],
)
def test_production_refuses_unsafe_values(unsafe, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**{**SAFE_PRODUCTION, **unsafe})


def test_a_visibility_timeout_shorter_than_a_run_is_refused_everywhere():
    with pytest.raises(ValidationError, match="visibility_timeout"):
        Settings(run_hang_limit=7200, broker_visibility_timeout=3600)


def test_the_upload_limit_cannot_exceed_the_harnesss_own():
    with pytest.raises(ValidationError):
        Settings(max_file_bytes=10**9)
