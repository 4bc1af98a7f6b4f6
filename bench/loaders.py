"""Load + index: the city through citybase's layers, and the same rows through the bare driver.

citybase path: ``ObjectService.insert_batch`` (ids from ``reserve_ids``, ``bulk_load`` into the
object and version tables, R*Tree kept in step on SQLite, COPY on PostGIS) inside one
``Store.write()`` transaction per chunk, into a database migrated by ``citybase init``; its indexes
are maintained while it loads.

Baseline: the same rows (object row + first version row, as citybase writes them) into a database
with the same schema, through the same driver: ``sqlite3`` ``executemany`` or psycopg ``COPY …
FROM STDIN`` with ``write_row``. With ``index_mode="after"`` (default) the secondary indexes, the
R*Tree / FTS5 content and the version table's foreign key are dropped first and built after the
load, as a DBA loading with raw SQL would; with ``"live"`` they stay and are maintained per row.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from citygen import Batch

SRID = 4490
Tick = Callable[[int], None]

OBJECT_COLS = (
    "id", "code", "class_code", "name", "geom", "attributes", "department_id", "parent_id", "state",
    "valid_from", "valid_to", "version", "created_at", "updated_at", "updated_by",
)  # fmt: skip
VERSION_COLS = (
    "object_id", "version", "code", "class_code", "name", "geom", "attributes", "department_id", "parent_id",
    "state", "valid_from", "valid_to", "recorded_at", "recorded_by", "change",
)  # fmt: skip


@dataclass
class LoadResult:
    path: str  # "citybase" or "baseline"
    objects: int = 0
    load_s: float = 0.0  # inserting (and, for live indexes, indexing) the rows
    index_s: float = 0.0  # building indexes after the load (baseline, index_mode="after")
    generate_s: float = 0.0  # drawing the synthetic city: not part of the rate
    index_mode: str = "live"
    notes: list[str] = field(default_factory=list)
    load_avg: list[float] = field(default_factory=list)  # 1-minute load average, sampled per chunk
    cpu_s: float = 0.0  # CPU seconds of load + index: this process plus, on PostGIS, the server backends

    @property
    def total_s(self) -> float:
        return self.load_s + self.index_s

    @property
    def rate(self) -> float:
        return self.objects / self.total_s if self.total_s else 0.0

    def as_dict(self) -> dict[str, Any]:
        mean_load = sum(self.load_avg) / len(self.load_avg) if self.load_avg else None
        per_cpu = self.objects / self.cpu_s if self.cpu_s else None
        return asdict(self) | {
            "total_s": self.total_s,
            "objects_per_s": self.rate,
            "objects_per_cpu_s": per_cpu,
            "load_avg_mean": mean_load,
        }


class CpuMeter:
    """CPU seconds used by this process and, for PostGIS on this machine, by the backends of one database.

    Wall time on a shared machine depends on what else runs; CPU time much less. Backends are found in
    ``pg_stat_activity`` and read from ``/proc`` (so only for a server on this machine, readable by us).
    """

    def __init__(self, pg_url: str | None = None) -> None:
        self.pg_url = pg_url
        self._con: Any = None
        if pg_url:
            import psycopg

            self._con = psycopg.connect(pg_url, autocommit=True)

    def _backends(self) -> dict[int, float]:
        if self._con is None:
            return {}
        rows = self._con.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        tick = os.sysconf("SC_CLK_TCK")
        out = {}
        for (pid,) in rows:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[pid] = (int(fields[11]) + int(fields[12])) / tick
        return out

    def snapshot(self) -> tuple[float, dict[int, float]]:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime, self._backends()

    def since(self, before: tuple[float, dict[int, float]]) -> float:
        own0, backends0 = before
        own1, backends1 = self.snapshot()
        return own1 - own0 + sum(v - backends0.get(pid, 0.0) for pid, v in backends1.items())

    def close(self) -> None:
        if self._con is not None:
            self._con.close()


def _timed_chunks(chunks: Iterable[list[Batch]], result: LoadResult) -> Iterator[list[Batch]]:
    """Yield chunks, adding the time spent producing them to ``result.generate_s``."""
    it = iter(chunks)
    while True:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            return
        result.generate_s += time.perf_counter() - t0
        result.load_avg.append(round(os.getloadavg()[0], 2))
        yield batch


# --- citybase ---------------------------------------------------------------------------------------


def load_citybase(
    platform: Any, chunks: Iterable[list[Batch]], tick: Tick, *, validate: bool = False, meter: CpuMeter | None = None
) -> LoadResult:
    """Insert every chunk through ``ObjectService.insert_batch`` (one write transaction per chunk)."""
    from citybase.domains.access import SYSTEM
    from citybase.domains.objects import NewObject

    result = LoadResult("citybase", index_mode="live (maintained by citybase while loading)")
    service = platform.objects
    remapped = 0
    meter = meter or CpuMeter()
    for batches in _timed_chunks(chunks, result):
        t0, c0 = time.perf_counter(), meter.snapshot()
        actual: dict[int, int] = {}  # predicted id -> id citybase gave, only when they differ
        with platform.store.write() as conn:
            for b in batches:
                parents = b.parent.tolist() if b.parent is not None else repeat(None)
                if actual and b.parent is not None:
                    parents = [actual.get(p, p) for p in b.parent.tolist()]
                news = [
                    NewObject(class_code=c, name=n, geometry=g, attributes=a, department_id=d, parent_id=p)
                    for c, n, g, a, d, p in zip(
                        b.class_code, b.name, b.geom.tolist(), b.attributes, b.department_id, parents, strict=False
                    )
                ]
                ids = service.insert_batch(conn, SYSTEM, news, validate=validate)
                if ids[0] != int(b.ids[0]) or ids[-1] != int(b.ids[-1]):
                    actual.update(zip(b.ids.tolist(), ids, strict=True))
                    remapped += len(ids)
        result.load_s += time.perf_counter() - t0
        result.cpu_s += meter.since(c0)
        n = sum(len(b) for b in batches)
        result.objects += n
        tick(n)
    if remapped:
        result.notes.append(f"{remapped} ids differed from the predicted ones (parents remapped)")
    return result


# --- shared row building ------------------------------------------------------------------------------


def _rows(b: Batch, *, geom: list[Any], attrs: list[str], now: Any) -> tuple[list[tuple], list[tuple]]:
    ids = b.ids.tolist()
    parents = b.parent.tolist() if b.parent is not None else [None] * len(ids)
    codes: Iterable[str | None] = b.code if b.code is not None else repeat(None)
    objects = list(
        zip(
            ids, codes, b.class_code, b.name, geom, attrs, b.department_id, parents, repeat("active"),
            repeat(now), repeat(None), repeat(1), repeat(now), repeat(now), repeat("system"),
        )
    )  # fmt: skip
    versions = list(
        zip(
            ids, repeat(1), codes, b.class_code, b.name, geom, attrs, b.department_id, parents,
            repeat("active"), repeat(now), repeat(None), repeat(now), repeat("system"), repeat("create"),
        )
    )  # fmt: skip
    return objects, versions


# --- SQLite baseline ------------------------------------------------------------------------------------

TABLES = ("city_object", "city_object_version")


def _sqlite_connect(path: str) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    # The pragmas citybase sets on every connection (store/dialects/sqlite.py), so both pay the same.
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("PRAGMA synchronous=NORMAL")
    return con


def _sqlite_time(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's DATETIME storage format on SQLite


def load_sqlite_raw(path: str, chunks: Iterable[list[Batch]], tick: Tick, index_mode: str = "after") -> LoadResult:
    result = LoadResult("baseline", index_mode=index_mode)
    meter = CpuMeter()
    con = _sqlite_connect(path)
    recreate: list[str] = []
    if index_mode == "after":
        marks = ",".join("?" * len(TABLES))
        rows = con.execute(
            f"SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ({marks}) AND sql IS NOT NULL "
            "AND ((type = 'index') OR (type = 'trigger' AND name LIKE 'city_object_fts_%')) ORDER BY type, name",
            TABLES,
        ).fetchall()
        for kind, name, sql in rows:
            con.execute(f"DROP {kind.upper()} {name}")
            recreate.append(sql)
    ins_obj = f"INSERT INTO city_object ({', '.join(OBJECT_COLS)}) VALUES ({', '.join('?' * len(OBJECT_COLS))})"
    ins_ver = (
        f"INSERT INTO city_object_version ({', '.join(VERSION_COLS)}) VALUES ({', '.join('?' * len(VERSION_COLS))})"
    )
    for batches in _timed_chunks(chunks, result):
        t0, c0 = time.perf_counter(), meter.snapshot()
        now = _sqlite_time(datetime.now(UTC))
        con.execute("BEGIN IMMEDIATE")
        for b in batches:
            wkb = shapely.to_wkb(b.geom).tolist()
            attrs = [json.dumps(a) for a in b.attributes]  # SQLAlchemy's JSON type writes json.dumps
            objects, versions = _rows(b, geom=wkb, attrs=attrs, now=now)
            con.executemany(ins_obj, objects)
            con.executemany(ins_ver, versions)
            if index_mode == "live":
                con.executemany("INSERT INTO city_object_rtree VALUES (?, ?, ?, ?, ?)", _boxes(b.ids, b.geom))
        con.execute("COMMIT")
        result.load_s += time.perf_counter() - t0
        result.cpu_s += meter.since(c0)
        n = sum(len(b) for b in batches)
        result.objects += n
        tick(n)
    if index_mode == "after":
        t0, c0 = time.perf_counter(), meter.snapshot()
        con.execute("BEGIN IMMEDIATE")
        for sql in recreate:
            if not sql.upper().startswith("CREATE TRIGGER"):
                con.execute(sql)
        cur = con.execute("SELECT id, geom FROM city_object WHERE geom IS NOT NULL ORDER BY id")
        while rows := cur.fetchmany(200_000):
            ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
            geoms = shapely.from_wkb([r[1] for r in rows])
            con.executemany("INSERT INTO city_object_rtree VALUES (?, ?, ?, ?, ?)", _boxes(ids, geoms))
        con.execute("INSERT INTO city_object_fts(city_object_fts) VALUES ('rebuild')")
        for sql in recreate:
            if sql.upper().startswith("CREATE TRIGGER"):
                con.execute(sql)
        con.execute("COMMIT")
        result.index_s = time.perf_counter() - t0
        result.cpu_s += meter.since(c0)
    con.close()
    return result


def _boxes(ids: np.ndarray, geoms: np.ndarray) -> list[tuple]:
    have = ~shapely.is_missing(geoms)
    b = shapely.bounds(geoms[have])
    return list(
        zip(ids[have].tolist(), b[:, 0].tolist(), b[:, 2].tolist(), b[:, 1].tolist(), b[:, 3].tolist(), strict=True)
    )


# --- PostGIS baseline -----------------------------------------------------------------------------------


def load_postgis_raw(url: str, chunks: Iterable[list[Batch]], tick: Tick, index_mode: str = "after") -> LoadResult:
    import psycopg

    result = LoadResult("baseline", index_mode=index_mode)
    recreate: list[str] = []
    meter = CpuMeter(url)
    with psycopg.connect(url) as con:
        if index_mode == "after":
            for name, ddl in con.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = ANY(%s) "
                "AND indexname NOT LIKE 'pk\\_%%' ORDER BY indexname",
                (list(TABLES),),
            ).fetchall():
                con.execute(f"DROP INDEX {name}")
                recreate.append(ddl)
            for table, name, ddl in con.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid = 'city_object_version'::regclass"
            ).fetchall():
                con.execute(f"ALTER TABLE {table} DROP CONSTRAINT {name}")
                recreate.append(f"ALTER TABLE {table} ADD CONSTRAINT {name} {ddl}")
            con.commit()
        for batches in _timed_chunks(chunks, result):
            t0, c0 = time.perf_counter(), meter.snapshot()
            now = datetime.now(UTC).isoformat()
            with con.cursor() as cur:
                for b in batches:
                    ewkb = shapely.to_wkb(shapely.set_srid(b.geom, SRID), hex=True, include_srid=True).tolist()
                    attrs = [json.dumps(a, ensure_ascii=False) for a in b.attributes]
                    objects, versions = _rows(b, geom=ewkb, attrs=attrs, now=now)
                    for table, cols, rows in (
                        ("city_object", OBJECT_COLS, objects),
                        ("city_object_version", VERSION_COLS, versions),
                    ):
                        with cur.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                            for row in rows:
                                copy.write_row(row)
            con.commit()
            result.load_s += time.perf_counter() - t0
            result.cpu_s += meter.since(c0)
            n = sum(len(b) for b in batches)
            result.objects += n
            tick(n)
        t0, c0 = time.perf_counter(), meter.snapshot()
        for ddl in recreate:
            con.execute(ddl)  # type: ignore[arg-type]
        con.execute("SELECT setval(pg_get_serial_sequence('city_object', 'id'), (SELECT max(id) FROM city_object))")
        con.commit()
        if index_mode == "after":
            result.index_s = time.perf_counter() - t0
        result.cpu_s += meter.since(c0)
    meter.close()
    return result


# --- the demo city as the source ---------------------------------------------------------------------


def load_citybase_demo(
    platform: Any, scale: str, progress: Callable[[str, int, int | None], None], meter: CpuMeter | None = None
) -> LoadResult:
    """Build the demo city with ``citybase.demo.build_demo``; time the write transactions that load objects.

    ``load_s`` is the time inside the ``Store.write()`` blocks in which ``insert_batch`` ran (the
    writer's batch preparation, the inserts with their inline indexing, the commit); ``generate_s`` is
    the rest of ``build_demo``'s wall time (drawing the city, accounts), reported but not rated.
    """
    from contextlib import contextmanager

    from citybase.demo import build_demo

    result = LoadResult("citybase", index_mode="live (maintained by citybase while loading)")
    store, service = platform.store, platform.objects
    original_write, original_insert = store.write, service.insert_batch
    loading = [False]
    meter = meter or CpuMeter()

    def insert_batch(*args: Any, **kwargs: Any) -> list[int]:
        loading[0] = True
        return list(original_insert(*args, **kwargs))

    @contextmanager
    def write() -> Iterator[Any]:
        t0, c0 = time.perf_counter(), meter.snapshot()
        loading[0] = False
        with original_write() as conn:
            yield conn
        if loading[0]:
            result.load_s += time.perf_counter() - t0
            result.cpu_s += meter.since(c0)
            result.load_avg.append(round(os.getloadavg()[0], 2))

    store.write, service.insert_batch = write, insert_batch
    started = time.perf_counter()
    try:
        report = build_demo(platform, scale, progress)
    finally:
        store.write, service.insert_batch = original_write, original_insert
    wall = time.perf_counter() - started
    result.objects = report.total
    result.generate_s = wall - result.load_s
    result.notes.append(
        f"build_demo wall time {wall:.1f} s including generating the city = {report.total / wall:,.0f} objects/s"
    )
    return result


def read_back(kind: str, url: str, chunk: int = 50_000) -> Iterator[list[Batch]]:
    """The objects of a built database in id order, as batches for the baseline loaders (untimed source)."""
    if kind == "sqlite":
        con: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        sql = (
            "SELECT id, code, class_code, name, geom, attributes, department_id, parent_id FROM city_object "
            "WHERE id > ? ORDER BY id LIMIT ?"
        )
    else:
        import psycopg

        con = psycopg.connect(url)
        sql = (
            "SELECT id, code, class_code, name, ST_AsBinary(geom), attributes, department_id, parent_id "
            "FROM city_object WHERE id > %s ORDER BY id LIMIT %s"
        )
    last = 0
    try:
        while rows := con.execute(sql, (last, chunk)).fetchall():
            last = rows[-1][0]
            cols = list(zip(*rows, strict=True))
            attrs = [json.loads(a) if isinstance(a, str) else a for a in cols[5]]
            yield [
                Batch(
                    ids=np.array(cols[0], dtype=np.int64),
                    class_code=list(cols[2]),
                    name=list(cols[3]),
                    geom=shapely.from_wkb([None if g is None else bytes(g) for g in cols[4]]),
                    attributes=attrs,
                    department_id=list(cols[6]),
                    parent=np.array(cols[7], dtype=object),
                    code=list(cols[1]),
                )
            ]
    finally:
        con.close()
