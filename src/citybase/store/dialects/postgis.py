"""PostgreSQL + PostGIS: geometry(…, 4490) columns, GiST indexes, geography for metres, COPY loads."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    JSON,
    Connection,
    Date,
    DateTime,
    Table,
    TypeDecorator,
    func,
    literal_column,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from citybase.kernel.geo import SRID
from citybase.store.elements import (
    AreaSquareMetres,
    DistanceMetres,
    GeomAsWKB,
    GeomFromWKB,
    SpatialPredicate,
    TextMatch,
)


@compiles(GeomFromWKB, "postgresql")
def _geom_from_wkb(element: GeomFromWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_GeomFromWKB({compiler.process(element.clauses, **kw)}, {SRID})"


@compiles(GeomAsWKB, "postgresql")
def _geom_as_wkb(element: GeomAsWKB, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_AsBinary({compiler.process(element.clauses, **kw)})"


_PREDICATES = {"intersects": "ST_Intersects", "within": "ST_Within", "contains": "ST_Contains"}


@compiles(SpatialPredicate, "postgresql")
def _spatial_predicate(element: SpatialPredicate, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    if element.operation == "bbox":
        corners = ", ".join(compiler.process(p, **kw) for p in (element.minx, element.miny, element.maxx, element.maxy))
        return f"({col} && ST_MakeEnvelope({corners}, {SRID}))"
    return f"{_PREDICATES[element.operation]}({col}, ST_GeomFromWKB({compiler.process(element.wkb, **kw)}, {SRID}))"


@compiles(DistanceMetres, "postgresql")
def _distance_m(element: DistanceMetres, compiler: SQLCompiler, **kw: Any) -> str:
    col = compiler.process(element.column, **kw)
    return f"ST_Distance({col}::geography, ST_GeomFromWKB({compiler.process(element.wkb, **kw)}, {SRID})::geography)"


@compiles(AreaSquareMetres, "postgresql")
def _area_m2(element: AreaSquareMetres, compiler: SQLCompiler, **kw: Any) -> str:
    return f"ST_Area({compiler.process(element.column, **kw)}::geography)"


@compiles(TextMatch, "postgresql")
def _text_match(element: TextMatch, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column.ilike(element.pattern, escape="\\"), **kw)


# --- DDL ---------------------------------------------------------------------------------------------


def extensions_ddl() -> list[str]:
    # btree_gist: the class code in a GiST key (class_geom_index_ddl). It is a trusted extension
    # (PostgreSQL 13+), so a database owner without superuser rights may create it.
    return [f"CREATE EXTENSION IF NOT EXISTS {name}" for name in ("postgis", "pg_trgm", "btree_gist")]


CLASS_GEOM_INDEX = "ix_city_object_class_geom_gist"


def class_geom_index_ddl() -> list[str]:
    """The class spatial index of ``city_object`` (migration 0012): one GiST over (class_code, geom), so
    a class-restricted box query scans only that class's objects."""
    return [
        "CREATE EXTENSION IF NOT EXISTS btree_gist",
        f"CREATE INDEX IF NOT EXISTS {CLASS_GEOM_INDEX} ON city_object USING gist (class_code, geom)",
    ]


def spatial_index_ddl(table_name: str, geom_column: str) -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS ix_{table_name}_{geom_column}_gist ON {table_name} USING gist ({geom_column})"]


def text_index_ddl(table_name: str) -> list[str]:
    return [f"CREATE INDEX IF NOT EXISTS ix_{table_name}_name_trgm ON {table_name} USING gin (name gin_trgm_ops)"]


def append_only_ddl(table_name: str) -> list[str]:
    fn = f"{table_name}_append_only"
    return [
        f"CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{table_name} is append-only'; END $$",
        f"DROP TRIGGER IF EXISTS {fn} ON {table_name}",
        f"CREATE TRIGGER {fn} BEFORE UPDATE OR DELETE ON {table_name} FOR EACH ROW EXECUTE FUNCTION {fn}()",
    ]


# --- index maintenance and bulk load --------------------------------------------------------------


def index_geometries(conn: Connection, table: Table, rows: Iterable[tuple[int, BaseGeometry | None]]) -> None:
    """GiST indexes follow the table by themselves."""


def _column_kind(column: Any) -> str:
    from citybase.store.types import Geometry

    if isinstance(column.type, Geometry):
        return "geometry"
    if isinstance(column.type, JSON):
        return "json"
    base = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    if isinstance(base, DateTime | Date):
        return "time"
    return "plain"


def _copy_column(values: list[Any], kind: str) -> list[Any]:
    """One column of a COPY, converted at once (column-wise is several times faster than cell by cell).

    Geometry becomes hex EWKB through shapely's array functions, JSON text, dates ISO text; None stays
    None (NULL).
    """
    if kind == "geometry":
        geoms = np.empty(len(values), dtype=object)
        geoms[:] = values
        return list(shapely.to_wkb(shapely.set_srid(geoms, SRID), hex=True, include_srid=True))
    if kind == "json":
        return [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
    if kind == "time":  # a batch's rows share their timestamps: format each distinct one once
        text = {v: v.isoformat() for v in {v for v in values if isinstance(v, datetime | date)}}
        return [text[v] if isinstance(v, datetime | date) else v for v in values]
    return [v.isoformat() if isinstance(v, datetime | date) else v for v in values]


def bulk_load(conn: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """COPY rows into the table (text format; geometry as hex EWKB, JSON as text)."""
    if not rows:
        return
    cols = [c for c in table.columns if c.name in rows[0]]
    kinds = [_column_kind(c) for c in cols]
    columns = [_copy_column([row.get(c.name) for row in rows], k) for c, k in zip(cols, kinds, strict=True)]
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(c.name for c in cols)
    with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for values in zip(*columns, strict=True):
            copy.write_row(values)


def reserve_ids(conn: Connection, table: Table, count: int) -> list[int]:
    seq = conn.execute(select(func.pg_get_serial_sequence(table.name, "id"))).scalar_one()
    q = select(func.nextval(seq)).select_from(func.generate_series(1, count))
    return [int(r[0]) for r in conn.execute(q)]


def nearest_candidates(conn: Connection, table: Table, point: BaseGeometry, k: int, where: Any) -> float:
    """Radius in degrees of a box holding the ``k`` rows nearest by the GiST KNN operator."""
    from citybase.store.schema import SPATIAL_TABLES

    col = table.c[SPATIAL_TABLES[table.name]]
    pt = f"ST_SetSRID(ST_MakePoint({point.x!r}, {point.y!r}), {SRID})"
    dist: Any = literal_column(f"{col.name} <-> {pt}")
    q = select(dist.label("d")).select_from(table).where(col.is_not(None)).order_by(dist).limit(k)
    if where is not None:
        q = q.where(where)
    sub = q.subquery()
    radius = conn.execute(select(func.max(sub.c.d))).scalar()
    return float(radius or 0.0) + 1e-9


# --- counters and staged rows (store.counters) ---------------------------------------------------


def allocate_serials(conn: Connection, table: Table, key: dict[str, Any], column: str, count: int) -> int:
    """Upsert that adds ``count`` to the counter; the row lock queues concurrent allocators."""
    from sqlalchemy.dialects.postgresql import insert

    stmt = insert(table).values(**key, **{column: 1 + count})
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={column: table.c[column] + count})
    after = conn.execute(stmt.returning(table.c[column])).scalar_one()
    return int(after) - count


def load_rows(conn: Connection, table: Table, rows: Iterable[Sequence[Any]]) -> None:
    """COPY plain tuples into a (temporary) table, then ANALYZE it so joins against it plan well."""
    raw = conn.connection.driver_connection
    assert raw is not None
    names = ", ".join(c.name for c in table.columns)
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"ANALYZE {table.name}")
