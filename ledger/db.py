"""The database: one declarative base, engines and schema migrations.

SQLite is the embedded default, PostgreSQL the scale-out database. Every package keeps its own
tables (the log's in ``ledger.log.storage``, the personality's in ``ledger.supervision.models``,
accounts', web's) on the one :class:`Base`; one Alembic history migrates them all.
"""

from __future__ import annotations

import fcntl
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction

__all__ = ["Base", "create_ledger_engine", "hold_writer_lock", "insert_rows", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


class Base(DeclarativeBase):
    """The declarative base of every table: the log's, the personality's, accounts', web's."""


def create_ledger_engine(url: str, **options: Any) -> Engine:
    """Create an engine for ``url``; SQLite connections get WAL mode and a busy timeout.

    WAL lets readers run while one writer appends; the busy timeout makes a second writer wait
    for the head lock instead of failing at once.
    """
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


#: more than SQLite maps (its build caps the map at ~2 GiB and says so): as much as it will
_SQLITE_MMAP_BYTES = 1 << 40


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    # NORMAL is durable across application crashes in WAL mode; only an OS crash or power cut
    # can lose the last transactions, never corrupt the file.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Reads copy pages straight out of the OS page cache instead of one read() call per page:
    # reading every entry (verify, exports, replays) costs a third less (0.77 against 1.2 µs a
    # row). Address space only, not memory; a file larger than the map is read the ordinary
    # way past it.
    cursor.execute(f"PRAGMA mmap_size={_SQLITE_MMAP_BYTES}")
    cursor.close()


def insert_rows(connection: Connection, table: str, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (values in the order of ``columns``) into ``table``: one executemany of
    plain tuples, through the driver.

    For rows that are all new and that no object stands for (the log's entries and nodes, the
    projections' new rows of a batch): a Core ``insert`` builds and processes a parameter dict
    per row, which cost more than the insert itself (about 10 µs an entry against 7.6 for the
    whole raw insert, bench/ledger.py). No column defaults are applied: name every column
    that has one.
    """
    quote = connection.dialect.identifier_preparer.quote
    names = ", ".join(quote(name) for name in columns)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = (f"INSERT INTO {quote(table)} ({names}) "  # noqa: S608 - our own names
           f"VALUES ({', '.join([mark] * len(columns))})")
    connection.exec_driver_sql(sql, rows)


def hold_writer_lock(session: Session) -> None:
    """On SQLite, queue this session behind other writers until its transaction ends.

    SQLite's own busy handler polls with sleeps of up to 100 ms, so writers from several
    gunicorn workers waste most of their wait asleep; a blocking ``flock`` on a file beside
    the database wakes the next writer the moment the lock is free. The database's own lock
    still guarantees correctness; this only makes the queue fair and fast. No-op elsewhere.
    """
    bind = session.get_bind()
    database = bind.engine.url.database if bind.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or "writer_lock" in session.info:
        return
    lock = open(f"{database}.writer-lock", "a+b")  # noqa: SIM115 - closed by _release_writer_lock
    fcntl.flock(lock, fcntl.LOCK_EX)
    session.info["writer_lock"] = lock


@event.listens_for(Session, "after_transaction_end")
def _release_writer_lock(session: Session, transaction: SessionTransaction) -> None:
    # Fires on commit, rollback and close alike; only the outermost transaction holds it.
    if transaction.parent is not None:
        return
    held = session.info.pop("writer_lock", None)
    if held is not None:
        fcntl.flock(held, fcntl.LOCK_UN)
        held.close()


def missing_migrations(engine: Engine) -> list[str]:
    """The Alembic heads of this code that the database has not reached (empty when its
    schema is current): a database written by an older release, before ``tracenet init``."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(_MIGRATIONS))
    with engine.connect() as connection:
        current = set(MigrationContext.configure(connection).get_current_heads())
    return sorted(head for head in script.get_heads() if head not in current)


def migrate(engine: Engine) -> None:
    """Bring the schema up to the newest Alembic revision (of every branch: packages that add
    tables may branch from the same revision)."""
    # Imported here: Alembic takes a third of a second to import, and only init migrates.
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")
