"""Engines and sessions: one engine per database URL, with SQLite set up to behave under several processes."""

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_SECONDS = 30  # how long a writer waits for another process's write lock before failing
# Sized for the API, the one process with many threads: FastAPI runs sync routes on AnyIO's thread pool of 40, so
# with as many connections a request under overload waits for a thread, never for a connection (a pool timeout
# would be a 503). 5 stay open, the rest close when idle, so the same sizes cost a worker (a task and its
# heartbeat thread) or the reaper (one pass at a time) nothing. SQLite's engine had SQLAlchemy's default of 5 + 10.
POOL_SIZE, POOL_OVERFLOW = 5, 35


@lru_cache
def get_engine(url: str) -> Engine:
    if make_url(url).get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _sqlite_engine(url: str) -> Engine:
    database = make_url(url).database
    pool_sizes = {}  # an in-memory database lives in one connection per thread: SQLAlchemy's own pool for it
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
        pool_sizes = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_SECONDS}, **pool_sizes)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        # WAL lets the API read while a worker writes; foreign keys are off in SQLite unless asked for.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()
        # Own the transaction boundaries: pysqlite's implicit BEGIN is deferred, and a deferred reader that
        # later writes fails at once if another process committed meanwhile. BEGIN IMMEDIATE waits instead.
        dbapi_connection.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


@lru_cache
def session_factory(url: str) -> sessionmaker[Session]:
    """Sessions on the URL's engine; committed objects stay readable after the session ends."""
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session whose work is committed on leaving the block, rolled back on an exception."""
    with session_factory(url).begin() as session:
        yield session
