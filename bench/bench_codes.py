"""Benchmark: bulk coding (unified code + Beidou code + one crosswalk row per object) vs a plain UPDATE.

Run:
    .venv/bin/python bench/bench_codes.py --n 200000                          # SQLite file in --work-dir
    .venv/bin/python bench/bench_codes.py --n 5600000 --db postgres postgresql://citybase@127.0.0.1:54329/postgres

Steps (only 4 and 6 are the measured comparison):

1. a fresh database (SQLite file, or a new PostgreSQL database ``citybase_bench_codes`` on the server
   given) made by ``citybase init`` (migrations, seed classes), with two bench classes that carry a
   ``legacy_id`` attribute, four departments and the nine real district polygons of Xiangyang;
2. N synthetic objects (80 % points, 20 % building footprints, around Xiangyang's towns; fixed seed)
   loaded with ``store.bulk_load`` (object row + first version row); on PostgreSQL the secondary indexes
   and the version table's foreign key are dropped for the load and rebuilt after it (all of them are
   in place for steps 4 and 6); then VACUUM ANALYZE;
3. Beidou level-10 encoding of all N representative points with ``encode_many`` beside the per-point
   ``encode`` (timed on a sample and scaled): the batch path's throughput;
4. baseline: one plain ``UPDATE city_object SET code = …`` of the same N rows through the same driver
   (a code computed from the id by the database itself: the least any coding can cost), then the codes
   are set back to NULL (and on PostgreSQL the table is vacuumed) before 5;
5. (untimed) nothing else: the coding run starts from the same uncoded table;
6. bulk coding through the code service, exactly as ``citybase codes assign --legacy-attribute
   legacy_id`` runs it (a ``codes.assign`` job: checks, then chunks of ``--chunk`` objects: read,
   locate the district, serials, codes, Beidou codes, staged write of code + registry + Beidou +
   crosswalk, checkpoint);
7. checks: every object coded, codes unique and valid, one registry, Beidou and crosswalk row each.

It prints a markdown table and writes the figures as JSON next to it (``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform as pyplatform
import random
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
try:
    import citybase  # noqa: F401
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(ROOT / "src"))

from citybase.domains.access import SYSTEM  # noqa: E402
from citybase.domains.codes import Selection  # noqa: E402
from citybase.domains.objects import NewObject  # noqa: E402
from citybase.kernel.settings import load_settings  # noqa: E402
from citybase.platform import Platform  # noqa: E402
from citybase.standards import beidou  # noqa: E402
from citybase.standards.unified_code import validate_code  # noqa: E402
from citybase.store import Store, bulk_load, reserve_ids  # noqa: E402
from citybase.store.schema import city_object, city_object_version  # noqa: E402

SEED = 20261122
LOAD_CHUNK = 100_000
PG_DATABASE = "citybase_bench_codes"
DISTRICTS = ROOT / "src" / "citybase" / "demo" / "data" / "xiangyang_districts.geojson"
# Towns of Xiangyang (lon, lat, sigma in metres, weight).
CENTRES = [
    (112.140, 32.020, 2600.0, 0.26), (112.135, 32.055, 3200.0, 0.30), (112.215, 32.045, 2400.0, 0.10),
    (112.765, 32.125, 1800.0, 0.08), (112.255, 31.720, 1500.0, 0.07), (111.675, 32.390, 1600.0, 0.07),
    (111.640, 32.270, 1200.0, 0.05), (111.840, 31.780, 1000.0, 0.04), (111.260, 31.880, 800.0, 0.03),
]
CLASSES = [
    {"code": "019901", "major": "公用设施", "medium": "基准测试", "name": "基准测试设施", "name_en": "Bench asset",
     "geometry_type": "Point", "attributes": [{"name": "legacy_id", "type": "string", "max_length": 40}]},
    {"code": "059901", "major": "房屋土地", "medium": "基准测试", "name": "基准测试建筑", "name_en": "Bench building",
     "geometry_type": "Polygon", "attributes": [{"name": "legacy_id", "type": "string", "max_length": 40}]},
]
DEPARTMENTS = [("cgj", "城管局"), ("zjj", "住建局"), ("slj", "水利局"), ("jtj", "交通运输局")]


def log(msg: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# --- set-up ----------------------------------------------------------------------------------------


def fresh_database(db: str, url: str | None, work_dir: Path) -> str:
    if db == "sqlite":
        path = work_dir / "bench_codes.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    assert url, "--db postgres needs the server URL"
    admin = sa.create_engine(Store(url).url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {PG_DATABASE}")
    admin.dispose()
    return Store(url).url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def existing_database(db: str, url: str | None, work_dir: Path) -> str:
    if db == "sqlite":
        path = work_dir / "bench_codes.db"
        assert path.exists(), f"--reuse: no {path} (run once with --keep)"
        return f"sqlite:///{path}"
    assert url, "--db postgres needs the server URL"
    return Store(url).url.rsplit("/", 1)[0] + f"/{PG_DATABASE}"


def clear_codes(store: Store) -> None:
    """Undo an earlier coding run of the bench database (bench only: the platform never deletes codes)."""
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE city_object SET code = NULL WHERE code IS NOT NULL")
        for table in ("code_crosswalk", "object_beidou", "code_registry", "code_counter", "job"):
            conn.exec_driver_sql(f"DELETE FROM {table}")


def set_up(platform: Platform) -> list[int]:
    platform.init(admin_password="bench-admin-pass")
    for c in CLASSES:
        platform.classes.create(SYSTEM, c)
    depts = [platform.access.create_department(SYSTEM, code, name).id for code, name in DEPARTMENTS]
    if DISTRICTS.exists():
        doc = json.loads(DISTRICTS.read_text(encoding="utf-8"))
        for f in doc["features"]:
            geom = shapely.geometry.shape(f["geometry"])
            platform.objects.create(SYSTEM, NewObject("070101", f["properties"]["name"], geom,
                                                      {"division_code": f["properties"]["code"]}))
    else:
        log(f"{DISTRICTS} not found: every object gets the platform's division")
    return depts


def positions(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    weights = np.array([c[3] for c in CENTRES])
    which = rng.choice(len(CENTRES), size=n, p=weights / weights.sum())
    lon0, lat0, sigma = (np.array([c[i] for c in CENTRES])[which] for i in range(3))
    dx, dy = rng.normal(0.0, 1.0, n) * sigma, rng.normal(0.0, 1.0, n) * sigma
    lat = lat0 + dy / 110_574.0
    lon = lon0 + dx / (111_320.0 * np.cos(np.radians(lat)))
    return lon, lat


_PG_INDEXES = """SELECT indexname, indexdef FROM pg_indexes
WHERE tablename IN ('city_object', 'city_object_version') AND indexname NOT LIKE 'pk_%%'"""
_PG_FK = ("city_object_version", "fk_city_object_version_object_id_city_object",
          "FOREIGN KEY (object_id) REFERENCES city_object(id)")


def without_indexes(store: Store) -> list[str]:
    """PostgreSQL only: drop the secondary indexes and the version table's foreign key before the load
    (as a DBA loading millions of rows would) and return the statements that put them back."""
    if store.name != "postgis":
        return []
    with store.write() as conn:
        rows = conn.exec_driver_sql(_PG_INDEXES).all()
        for name, _ in rows:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        table, fk, definition = _PG_FK
        conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {fk}")
    return [d for _, d in rows] + [f"ALTER TABLE {table} ADD CONSTRAINT {fk} {definition}"]


def restore_indexes(store: Store, statements: list[str]) -> float:
    if not statements:
        return 0.0
    t0 = time.perf_counter()
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        for sql in statements:
            conn.exec_driver_sql(sql)
            log(f"rebuilt: {sql[:90]}")
    return time.perf_counter() - t0


def load(platform: Platform, n: int, depts: list[int]) -> float:
    rng = np.random.default_rng(SEED)
    now = datetime.now(UTC)
    t0 = time.perf_counter()
    for lo in range(0, n, LOAD_CHUNK):
        m = min(LOAD_CHUNK, n - lo)
        lon, lat = positions(rng, m)
        is_building = rng.random(m) < 0.2
        size = rng.uniform(0.00008, 0.0004, m)
        geoms = np.where(is_building, shapely.box(lon, lat, lon + size, lat + size * 0.6), shapely.points(lon, lat))
        dept = rng.integers(0, len(depts), m)
        with platform.store.write() as conn:
            ids = reserve_ids(conn, city_object, m)
            rows = [
                {
                    "id": ids[i], "code": None, "class_code": "059901" if is_building[i] else "019901",
                    "name": f"对象{lo + i}", "geom": geoms[i], "attributes": {"legacy_id": f"L{lo + i:09d}"},
                    "department_id": depts[dept[i]], "parent_id": None, "state": "active", "valid_from": now,
                    "valid_to": None, "version": 1, "created_at": now, "updated_at": now, "updated_by": "bench",
                }
                for i in range(m)
            ]
            bulk_load(conn, city_object, rows)
            versions = [{"object_id": r["id"], **{k: r[k] for k in (
                "version", "code", "class_code", "name", "geom", "attributes", "department_id", "parent_id", "state",
                "valid_from", "valid_to")}, "recorded_at": now, "recorded_by": "bench", "change": "create"}
                for r in rows]
            bulk_load(conn, city_object_version, versions)
        log(f"loaded {lo + m:,} / {n:,}")
    return time.perf_counter() - t0


def maintain(store: Store) -> None:
    """ANALYZE (and on PostgreSQL VACUUM) city_object, outside a transaction."""
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE city_object" if store.name == "postgis" else "ANALYZE")


# --- measurements ----------------------------------------------------------------------------------


def beidou_rates(platform: Platform) -> dict[str, float]:
    from citybase.domains.codes.numbering import representative_points
    from citybase.store.counters import wkb

    with platform.store.read() as conn:
        raw = [bytes(r[0]) for r in conn.execute(sa.select(wkb(city_object.c.geom)).where(
            city_object.c.class_code.in_(["019901", "059901"])))]
    xs, ys = representative_points(raw)
    t0 = time.perf_counter()
    beidou.encode_many(xs, ys, 10)
    batch = time.perf_counter() - t0
    sample = min(50_000, xs.size)
    t0 = time.perf_counter()
    for x, y in zip(xs[:sample].tolist(), ys[:sample].tolist(), strict=True):
        beidou.encode(x, y, 10)
    scalar = (time.perf_counter() - t0) * xs.size / sample
    return {"points": xs.size, "batch_s": batch, "batch_per_s": xs.size / batch, "scalar_s": scalar,
            "scalar_per_s": xs.size / scalar}


def baseline_update(store: Store) -> float:
    expr = "'B' || lpad(id::text, 20, '0')" if store.name == "postgis" else "printf('B%020d', id)"
    t0 = time.perf_counter()
    with store.write() as conn:
        conn.exec_driver_sql(f"UPDATE city_object SET code = {expr} WHERE class_code IN ('019901', '059901')")
    seconds = time.perf_counter() - t0
    with store.write() as conn:
        conn.exec_driver_sql("UPDATE city_object SET code = NULL")
    maintain(store)
    return seconds


def code_all(platform: Platform, chunk: int) -> tuple[float, dict[str, Any]]:
    platform.codes.chunk = chunk
    job = platform.codes.submit_bulk(SYSTEM, Selection(legacy_attribute="legacy_id"))
    t0 = time.perf_counter()
    done = platform.jobs.run_one()
    seconds = time.perf_counter() - t0
    assert done is not None and done.id == job.id and done.state == "succeeded", (done and done.message, done)
    return seconds, done.result or {}


def verify(platform: Platform, n: int) -> dict[str, int]:
    q = {
        "coded": "SELECT count(*) FROM city_object WHERE code IS NOT NULL",
        "distinct_codes": "SELECT count(DISTINCT code) FROM city_object",
        "registry": "SELECT count(*) FROM code_registry",
        "beidou": "SELECT count(*) FROM object_beidou",
        "crosswalk": "SELECT count(*) FROM code_crosswalk",
        "objects": "SELECT count(*) FROM city_object",
    }
    with platform.store.read() as conn:
        out = {k: int(conn.exec_driver_sql(sql).scalar_one()) for k, sql in q.items()}
        first = "SELECT code FROM city_object WHERE id IN (SELECT id FROM city_object ORDER BY id LIMIT 5000)"
        sample = [r[0] for r in conn.exec_driver_sql(first)]
    for code in random.Random(SEED).sample(sample, min(1000, len(sample))):
        validate_code(code)
    assert out["crosswalk"] == n and out["registry"] == out["coded"] == out["distinct_codes"] == out["objects"], out
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5_600_000, help="objects to generate and code")
    parser.add_argument("--db", nargs="+", default=["sqlite"], metavar=("KIND", "URL"),
                        help="sqlite, or postgres URL (a server; the bench makes its own database)")
    parser.add_argument("--chunk", type=int, default=100_000, help="objects per coding transaction")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "citybase-bench")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the database of an earlier --keep run (SQLite: the file in --work-dir): "
                             "its codes are cleared and the load is skipped")
    args = parser.parse_args()
    kind = args.db[0]
    if kind not in ("sqlite", "postgres"):
        parser.error("--db sqlite | --db postgres URL")
    args.work_dir.mkdir(parents=True, exist_ok=True)
    server = args.db[1] if len(args.db) > 1 else None
    url = existing_database(kind, server, args.work_dir) if args.reuse else fresh_database(kind, server, args.work_dir)
    settings = load_settings(data_dir=args.work_dir / "data", database_url=url, job_workers=0, log_json=False)
    platform = Platform(settings)
    if args.reuse:
        log(f"reusing the loaded objects of {url}; clearing their codes")
        load_s = index_s = 0.0
        clear_codes(platform.store)
    else:
        depts = set_up(platform)
        log(f"loading {args.n:,} objects into {platform.store.name}")
        rebuild = without_indexes(platform.store)
        load_s = load(platform, args.n, depts)
        index_s = restore_indexes(platform.store, rebuild)
    maintain(platform.store)
    log("Beidou batch vs per-point")
    rates = beidou_rates(platform)
    log("baseline UPDATE")
    load_before = os.getloadavg()[0]
    base_s = baseline_update(platform.store)
    log("bulk coding")
    code_s, result = code_all(platform, args.chunk)
    load_after = os.getloadavg()[0]
    checks = verify(platform, args.n)
    figures = {
        "database": platform.store.name, "n": args.n, "chunk": args.chunk,
        "load_s": round(load_s, 1), "index_s": round(index_s, 1),
        "baseline_update_s": round(base_s, 2), "coding_s": round(code_s, 2),
        "coded_per_s": round(result.get("coded", 0) / code_s), "ratio_vs_baseline": round(code_s / base_s, 2),
        "phases_s": result.get("seconds"), "beidou": {k: round(v, 3) for k, v in rates.items()}, "checks": checks,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "machine": {"cpus": os.cpu_count(), "python": pyplatform.python_version(), "system": pyplatform.platform()},
    }
    print(f"| database | objects | plain UPDATE | bulk coding | ratio | coded/s |\n|---|---|---|---|---|---|\n"
          f"| {figures['database']} | {args.n:,} | {base_s:.1f} s | {code_s:.1f} s | {code_s / base_s:.2f}x | "
          f"{figures['coded_per_s']:,} |")
    print(f"\nBeidou level 10 over {rates['points']:,} points: batch {rates['batch_per_s']:,.0f}/s, "
          f"per point {rates['scalar_per_s']:,.0f}/s ({rates['batch_per_s'] / rates['scalar_per_s']:.0f}x)")
    print(f"\nphases (s): {json.dumps(figures['phases_s'])}")
    print(f"load: {load_s:.0f} s + indexes {index_s:.0f} s; checks: {checks}")
    print(f"1-minute load average before the baseline / after coding: {load_before:.1f} / {load_after:.1f} "
          f"on {os.cpu_count()} CPUs")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    platform.store.dispose()
    if not args.keep and kind == "postgres":
        admin = sa.create_engine(Store(args.db[1]).url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        admin.dispose()


if __name__ == "__main__":
    main()
