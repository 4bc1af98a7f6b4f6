"""Serial counters and staged bulk writes: the parts of code assignment that differ per database.

``allocate_serials`` hands out a range of serials per (division, class) in one statement that is safe
under any number of concurrent writers: an upsert that adds to the counter and returns its new value
(``INSERT … ON CONFLICT DO UPDATE … RETURNING``). On PostgreSQL the upsert locks the counter row until
the transaction ends, so concurrent allocators queue on it; on SQLite every writer holds the database
write lock from ``BEGIN IMMEDIATE`` (``Store.write``). Either way the counter and the codes made from
it commit or roll back together, so a crash never leaves a serial that was handed out and then reused.

``staged`` loads rows into a temporary table (COPY on PostgreSQL, ``executemany`` on SQLite) so the
caller can apply them with a few set-based statements (``UPDATE … FROM``, ``INSERT … SELECT``), and
``wkb`` reads a geometry column as raw WKB bytes, so bulk work parses millions of them in one
vectorised shapely call instead of one Python conversion per row.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, Connection, MetaData, Table

from citybase.store.dialects import postgis, sqlite
from citybase.store.elements import GeomAsWKB
from citybase.store.schema import code_counter


class _RawWKB(GeomAsWKB):
    inherit_cache = True


def wkb(column: Any) -> Any:
    """``column`` (a geometry column) as WKB bytes, not shapely objects."""
    return _RawWKB(column)


def _dialect(conn: Connection) -> Any:
    return postgis if conn.dialect.name == "postgresql" else sqlite


def allocate_serials(conn: Connection, division: str, class_code: str, count: int) -> int:
    """Take ``count`` consecutive, never used serials of (division, class); return the first.

    Serials start at 1. Call it inside a write transaction; the serials are the caller's once that
    transaction commits, and are handed out again if it rolls back (nobody has seen them).
    """
    if count < 1:
        raise ValueError("count must be at least 1")
    key = {"division": division, "class_code": class_code}
    return int(_dialect(conn).allocate_serials(conn, code_counter, key, "next_serial", count))


@contextmanager
def staged(conn: Connection, columns: Sequence[Column[Any]], rows: Iterable[Sequence[Any]]) -> Iterator[Table]:
    """A temporary table with ``columns`` holding ``rows`` (tuples of plain values: int, float, str, None).

    The first column is the table's primary key (so joins on it are indexed on both databases).

    The table lives until the block ends (or, if the block raises, until the transaction rolls back).
    """
    table = Table(
        f"stage_{uuid.uuid4().hex[:12]}",
        MetaData(),
        *(Column(c.name, c.type, primary_key=i == 0) for i, c in enumerate(columns)),
        prefixes=["TEMPORARY"],
    )
    table.create(conn)
    _dialect(conn).load_rows(conn, table, rows)
    yield table
    table.drop(conn)
