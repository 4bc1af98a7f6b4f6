"""Engine and connection set-up: the one place that decides which database runs."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from citybase.kernel.errors import ConfigurationError, UnavailableError
from citybase.store.dialects import postgis, sqlite

log = logging.getLogger(__name__)
_AFTER_COMMIT = "citybase.after_commit"


def after_commit(conn: Connection, callback: Callable[[], None]) -> None:
    """Run ``callback`` after the write transaction of ``conn`` commits (never if it rolls back)."""
    conn.info[_AFTER_COMMIT].append(callback)


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` and pick the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _unavailable(exc: OperationalError) -> bool:
    """Connection-level failures (server down, file unreadable, lock timeout), not errors in a statement."""
    text = str(exc.orig).lower()
    return exc.connection_invalidated or any(
        w in text for w in ("connect", "unable to open", "database is locked", "server closed", "timeout")
    )


def session_options(url: str, ours: str) -> str:
    """PostgreSQL startup ``options``: ours after any the URL already gives (``?options=-c search_path=…``),
    which ``connect_args`` would otherwise replace; for a setting given twice the later one counts."""
    given = make_url(url).query.get("options")
    given = given[-1] if isinstance(given, tuple) else given
    return f"{given} {ours}" if given else ours


class Store:
    """A database plus the dialect module that implements the named operations on it."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = normalise_url(url)
        backend = make_url(self.url).get_backend_name()
        if backend == "sqlite":
            self.dialect: ModuleType = sqlite
            self.engine: Engine = self._sqlite_engine(echo)
        elif backend == "postgresql":
            self.dialect = postgis
            # Custom plans only: statements are compiled once with bound parameters (store/elements.py) and
            # psycopg prepares them after five runs; PostgreSQL would then switch to a generic plan, blind
            # to the values that decide the plan (the size of a bbox: the spatial index for a small window,
            # the primary key for the whole city).
            self.engine = create_engine(
                self.url,
                echo=echo,
                pool_size=10,
                max_overflow=20,
                pool_pre_ping=True,
                connect_args={"options": session_options(self.url, "-c plan_cache_mode=force_custom_plan")},
            )
        else:
            raise ConfigurationError(f"unsupported database {backend!r}: use sqlite:// or postgresql://")
        self.name = "sqlite" if backend == "sqlite" else "postgis"

    def _sqlite_engine(self, echo: bool) -> Engine:
        engine = create_engine(self.url, echo=echo, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            sqlite.configure_connection(dbapi_conn)

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(sqlite.begin_sql(bool(conn.get_execution_options().get("citybase_write"))))

        return engine

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (a consistent snapshot on both databases)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except OperationalError as exc:
            if _unavailable(exc):
                raise UnavailableError(f"database unavailable: {exc.orig}") from exc
            raise

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: all or nothing. On SQLite it holds the write lock from the start.

        Callbacks registered with :func:`after_commit` run once the transaction has committed.
        """
        callbacks: list[Callable[[], None]] = []
        try:
            with self.engine.connect() as conn:
                conn = conn.execution_options(citybase_write=True)
                conn.info[_AFTER_COMMIT] = callbacks
                try:
                    with conn.begin():
                        yield conn
                finally:
                    conn.info.pop(_AFTER_COMMIT, None)
        except OperationalError as exc:
            if _unavailable(exc):
                raise UnavailableError(f"database unavailable: {exc.orig}") from exc
            raise
        for callback in callbacks:
            try:
                callback()
            except Exception:
                log.exception("after-commit callback failed")

    def ping(self) -> None:
        with self.read() as conn:
            conn.exec_driver_sql("SELECT 1")

    def dispose(self) -> None:
        self.engine.dispose()
