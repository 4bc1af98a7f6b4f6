"""SQLite: the class R*Tree of ``city_object`` (a spatial index per object class, in one table).

The 2-D R*Tree ``city_object_rtree`` returns every object in a box, of every class; a buildings tile
of the city centre then walks ten times more objects than it keeps and filters them by class
afterwards (3.0 s of a 3.8 s z12 tile, docs/benchmarks-tiles.md). ``city_object_class_rtree`` has the
class as a third dimension, so a tile of one class walks only that class's objects:

    rtree(id, minx, maxx, miny, maxy, minc, maxc)

``c`` is the class *rank*: a six-digit class code read as an integer (``050101`` → 50101; every
object class code has six digits, ``domains/objects/classes.py``), −1 for anything else. An object
spans ``[rank, rank + 0.5]`` in ``c`` rather than a point: SQLite's R*Tree picks the subtree whose
volume grows least, and nodes of one class with zero extent in ``c`` would all have volume 0, so
insertion would stop clustering by position. Ranks below 2**23 (and their halves) are exact in the
R*Tree's float32 coordinates. The box of an object is the same as in the 2-D tree (both round the
same doubles outward to float32), so both trees return the same objects for the same box.

Kept in step by :func:`citybase.store.dialects.sqlite.index_geometries` (every insert, update and
bulk load of ``city_object``); created and filled on existing databases by migration 0011.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Connection

CLASS_TABLES = {"city_object": "class_code"}  # tables with a class R*Tree, and their class column
CLASS_EXTENT = 0.5  # an object spans [rank, rank + CLASS_EXTENT] in the class dimension
OTHER_RANK = -1  # class codes that are not six digits
_SIX_DIGITS = re.compile(r"[0-9]{6}")


def class_rtree_name(table_name: str) -> str:
    return f"{table_name}_class_rtree"


def class_rank(code: str | None) -> int:
    """The class dimension of an object of class ``code`` (the SQL of :func:`fill_ddl` agrees)."""
    return int(code) if code is not None and _SIX_DIGITS.fullmatch(code) else OTHER_RANK


def rank_ranges(codes: Iterable[str]) -> list[tuple[int, int]]:
    """The ranks of ``codes`` as runs of consecutive integers ``(first, last)``, ascending."""
    ranks = sorted({class_rank(c) for c in codes})
    runs: list[tuple[int, int]] = []
    for r in ranks:
        if runs and runs[-1][1] == r - 1:
            runs[-1] = (runs[-1][0], r)
        else:
            runs.append((r, r))
    return runs


def class_index_ddl(table_name: str) -> list[str]:
    return [
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {class_rtree_name(table_name)} "
        "USING rtree(id, minx, maxx, miny, maxy, minc, maxc)"
    ]


def fill_ddl(table_name: str) -> list[str]:
    """Rebuild the class R*Tree from the 2-D one (same float32 boxes) and the class column."""
    crt, col = class_rtree_name(table_name), CLASS_TABLES[table_name]
    rank = (
        f"(CASE WHEN t.{col} GLOB '[0-9][0-9][0-9][0-9][0-9][0-9]' THEN CAST(t.{col} AS INTEGER) ELSE {OTHER_RANK} END)"
    )
    return [
        f"DELETE FROM {crt}",
        f"INSERT INTO {crt} (id, minx, maxx, miny, maxy, minc, maxc) "
        f"SELECT r.id, r.minx, r.maxx, r.miny, r.maxy, {rank}, {rank} + {CLASS_EXTENT} "
        f"FROM {table_name}_rtree AS r JOIN {table_name} AS t ON t.id = r.id ORDER BY r.id",
    ]


def _classes_of(raw: sqlite3.Connection, table_name: str, ids: Sequence[int]) -> dict[int, str | None]:
    col = CLASS_TABLES[table_name]
    out: dict[int, str | None] = {}
    for start in range(0, len(ids), 500):  # SQLite's default limit of bound parameters is 999 (3.40: 32766)
        chunk = ids[start : start + 500]
        marks = ", ".join("?" for _ in chunk)
        out.update(raw.execute(f"SELECT id, {col} FROM {table_name} WHERE id IN ({marks})", chunk).fetchall())
    return out


def index_classes(
    conn: Connection,
    table_name: str,
    boxes: Sequence[tuple[int, float, float, float, float]],
    gone: Sequence[tuple[int]],
    classes: Mapping[int, Any] | None = None,
) -> None:
    """Apply the 2-D tree's changes (``boxes``: id, minx, maxx, miny, maxy; ``gone``: ids) to the class
    tree. ``classes``: id → class code when the caller has them (bulk loads); otherwise read by id."""
    if table_name not in CLASS_TABLES:
        return
    raw = conn.connection.driver_connection
    assert raw is not None
    crt = class_rtree_name(table_name)
    if classes is None and boxes:
        classes = _classes_of(raw, table_name, [b[0] for b in boxes])
    try:
        if gone:
            raw.executemany(f"DELETE FROM {crt} WHERE id = ?", gone)
        if boxes:
            assert classes is not None
            rows = []
            for obj_id, minx, maxx, miny, maxy in boxes:
                rank = class_rank(classes.get(obj_id))
                rows.append((obj_id, minx, maxx, miny, maxy, rank, rank + CLASS_EXTENT))
            raw.executemany(f"INSERT OR REPLACE INTO {crt} VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    except sqlite3.OperationalError as exc:
        # A database before migration 0011 has no class tree yet; 0011 builds it from the 2-D tree.
        if f"no such table: {crt}" not in str(exc):
            raise
