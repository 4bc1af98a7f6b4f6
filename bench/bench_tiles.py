"""Vector tile throughput: citybase (PostGIS ST_AsMVT, SQLite numpy) vs the raw ST_AsMVT query; cached tiles.

    . /tmp/env.sh   # or set CITYBASE_BENCH_PG_URL
    .venv/bin/python bench/bench_tiles.py --objects 100000 --seconds 10 --clients 8

Loads a synthetic city (``bench/citygen.py``, the same generator as the load benchmark) into a fresh
PostGIS database and a SQLite file through ``ObjectService.insert_batch`` (``--reuse`` keeps them),
picks tiles at z12–z16 over the central city (襄城/樊城/东津), then measures with ``--clients``
threads for ``--seconds`` each, every side walking the same tile list:

- raw: the plain one-layer ``ST_AsMVT`` query (same columns, same jsonb attributes, same bbox filter),
  one psycopg 3 connection per client — the physical limit of the database through that driver;
- citybase ``render_tile``: the store's named operation with the same layer (columns, attributes, no
  simplification), on PostGIS (SQL built by SQLAlchemy, ST_AsMVT) and on SQLite (R*Tree + numpy);
- citybase tileset: ``TileService.tile`` with the cache off for the buildings tileset (050101: empty
  below z14, 1 px simplification below z15) and the basemap;
- cached: ``TileService.tile`` on a warm cache, in process; and over HTTP (``citybase serve`` +
  ``wrk``, ``--clients`` connections) when wrk is installed.

``--pg-db NAME --sqlite FILE`` read existing citybase databases instead (no load, no ``init``, no
migrations), e.g. the city of ``bench/run.py --scale city``. ``--tipg`` adds the HTTP comparison with
tipg (``bench/bench_tiles_http.py``: uncached tiles, cached tiles, Features ``items`` pages; needs
``pip install -e '.[bench]'`` and wrk); ``--skip-in-process`` runs only that. ``--sqlite-2d`` adds every
SQLite case again with the class R*Tree switched off (the path before migration 0011), interleaved in
the same rounds; ``--only`` picks cases by label. Results in docs/benchmarks-tiles.md.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from sqlalchemy import and_

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from citygen import CityGenerator  # noqa: E402
from loaders import load_citybase  # noqa: E402

from citybase.domains.tiles import TileService  # noqa: E402
from citybase.kernel.settings import load_settings  # noqa: E402
from citybase.platform import Platform  # noqa: E402
from citybase.store import Store, TileLayerSpec, render_tile  # noqa: E402
from citybase.store.dialects import sqlite_tiles  # noqa: E402
from citybase.store.dialects.postgis_tiles import raw_tile_sql  # noqa: E402
from citybase.store.schema import city_object  # noqa: E402
from citybase.store.tiles import TILE_SESSION_OPTIONS  # noqa: E402

CENTRAL = (112.10, 31.99, 112.25, 32.08)  # lon/lat box of the central city
ZOOMS = range(12, 17)


def tiles_over(bbox: tuple[float, float, float, float], zooms: range, per_zoom: int) -> list[tuple[int, int, int]]:
    rng = random.Random(20261122)
    out: list[tuple[int, int, int]] = []
    for z in zooms:
        n = 1 << z

        def col(lon: float, n: int = n) -> int:
            return int((lon + 180) / 360 * n)

        def row(lat: float, n: int = n) -> int:
            return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)

        xs = range(col(bbox[0]), col(bbox[2]) + 1)
        ys = range(row(bbox[3]), row(bbox[1]) + 1)
        every = [(z, x, y) for x in xs for y in ys]
        out += every if len(every) <= per_zoom else rng.sample(every, per_zoom)
    return out


def run_threads(clients: int, seconds: float, make_worker: Callable[[int], Callable[[], int]]) -> dict[str, Any]:
    """Run ``clients`` workers for ``seconds``; each call of a worker renders one tile and returns its size."""
    counts = [0] * clients
    sizes = [0] * clients
    stop = threading.Event()
    errors: list[BaseException] = []

    def loop(i: int) -> None:
        try:
            work = make_worker(i)
            while not stop.is_set():
                sizes[i] += work()
                counts[i] += 1
        except BaseException as exc:  # report, do not hang
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=loop, args=(i,)) for i in range(clients)]
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    n = sum(counts)
    return {
        "tiles": n,
        "seconds": round(elapsed, 2),
        "tiles_per_s": round(n / elapsed, 1),
        "mean_bytes": round(sum(sizes) / max(1, n)),
        "client_cpu": round((time.process_time() - cpu0) / elapsed, 2),
    }


def cycler(tiles: list[tuple[int, int, int]], offset: int) -> Callable[[], tuple[int, int, int]]:
    state = {"i": offset * 7919}

    def next_tile() -> tuple[int, int, int]:
        state["i"] += 1
        return tiles[state["i"] % len(tiles)]

    return next_tile


def platform_for(url: str, data_dir: Path) -> Platform:
    p = Platform(load_settings(data_dir=data_dir, database_url=url, job_workers=0, log_json=False))
    p.init(admin_password="bench-admin-pass")
    return p


def reader_for(url: str, data_dir: Path) -> Platform:
    """A platform over an existing database, without ``init`` (no migrations: the database is only read)."""
    return Platform(load_settings(data_dir=data_dir, database_url=url, job_workers=0, log_json=False))


def buildings(p: Platform) -> int:
    from sqlalchemy import func, select

    with p.store.read() as conn:
        q = select(func.count()).select_from(city_object).where(city_object.c.class_code == "050101")
        return int(conn.execute(q).scalar_one())


def populated(p: Platform) -> int:
    from sqlalchemy import func, select

    from citybase.store.schema import city_object

    with p.store.read() as conn:
        return int(conn.execute(select(func.count()).select_from(city_object)).scalar_one())


def ensure_loaded(p: Platform, objects: int, label: str) -> None:
    have = populated(p)
    if have >= objects * 0.9:
        print(f"{label}: {have} objects already loaded", flush=True)
        return
    t0 = time.perf_counter()
    result = load_citybase(p, CityGenerator(objects), lambda n: None)
    print(f"{label}: loaded {result.objects} objects in {time.perf_counter() - t0:.0f} s", flush=True)
    if p.store.name == "postgis":
        with p.store.write() as conn:
            conn.exec_driver_sql("ANALYZE city_object")


def raw_sql_for(p: Platform, class_code: str) -> str:
    """The plainest statement giving the class tileset's features: the validated attributes document as
    it is (until 2026-12-07 this built the same ``jsonb_build_object`` of the class's keys as citybase)."""
    return raw_tile_sql(f"class_code = '{class_code}' AND state <> 'retired'", "id, name, class_code, code, attributes")


def spec_for(p: Platform, class_code: str) -> TileLayerSpec:
    """The same layer as the raw query (all attributes, no simplification), through citybase's store."""
    where = and_(city_object.c.class_code == class_code, city_object.c.state != "retired")
    keys = tuple(a.name for a in p.classes.find(class_code).attributes)
    return TileLayerSpec(class_code, where, attributes=keys, all_attributes=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-zoom", type=int, default=60, help="tiles sampled per zoom level")
    ap.add_argument(
        "--pg", default=os.environ.get("CITYBASE_BENCH_PG_URL") or os.environ.get("CITYBASE_TEST_POSTGRES_URL")
    )
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "citybase-bench-tiles")
    ap.add_argument("--reuse", action="store_true", help="keep and reuse the databases of an earlier run")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-http", action="store_true")
    ap.add_argument(
        "--pg-db", help="use this existing citybase database on the --pg server (read only: no load, no init)"
    )
    ap.add_argument("--sqlite", type=Path, help="use this existing citybase SQLite file (read only: no load, no init)")
    ap.add_argument("--tipg", action="store_true", help="also measure over HTTP: citybase vs tipg (bench_tiles_http)")
    ap.add_argument("--skip-in-process", action="store_true", help="only the HTTP cases")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument(
        "--sqlite-2d",
        action="store_true",
        help="also the SQLite cases by the 2-D R*Tree only (the path before the class R*Tree), same rounds",
    )
    ap.add_argument("--only", help="comma-separated substrings: run only the in-process cases whose label has one")
    args = ap.parse_args()
    if not args.pg:
        raise SystemExit("set CITYBASE_BENCH_PG_URL (or CITYBASE_TEST_POSTGRES_URL) or pass --pg")
    args.work.mkdir(parents=True, exist_ok=True)

    import sqlalchemy as sa

    if args.pg_db and args.sqlite:  # existing databases (e.g. the city of bench/run.py): read them as they are
        pg_url = Store(args.pg).url.rsplit("/", 1)[0] + f"/{args.pg_db}"
        pg = reader_for(pg_url, args.work / "pg-data")
        lite = reader_for(f"sqlite:///{args.sqlite.resolve()}", args.work / "sqlite-data")
    else:
        db_name = f"citybase_bench_tiles_{args.objects}"
        admin = sa.create_engine(Store(args.pg).url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.exec_driver_sql(f"SELECT 1 FROM pg_database WHERE datname = '{db_name}'").first()
            if exists and not args.reuse:
                conn.exec_driver_sql(f"DROP DATABASE {db_name} WITH (FORCE)")
                exists = None
            if not exists:
                conn.exec_driver_sql(f"CREATE DATABASE {db_name}")
        admin.dispose()
        pg_url = Store(args.pg).url.rsplit("/", 1)[0] + f"/{db_name}"
        sqlite_path = args.work / f"tiles-{args.objects}.db"
        if sqlite_path.exists() and not args.reuse:
            sqlite_path.unlink()
        pg = platform_for(pg_url, args.work / "pg-data")
        lite = platform_for(f"sqlite:///{sqlite_path}", args.work / "sqlite-data")
        ensure_loaded(pg, args.objects, "postgis")
        ensure_loaded(lite, args.objects, "sqlite")

    tiles = tiles_over(CENTRAL, ZOOMS, args.per_zoom)
    results: dict[str, Any] = {
        "objects": populated(pg),
        "buildings": buildings(pg),
        "tiles_in_list": len(tiles),
        "zooms": f"{ZOOMS.start}-{ZOOMS.stop - 1}",
        "clients": args.clients,
        "seconds": args.seconds,
        "cpus": os.cpu_count(),
        "load_avg_at_start": round(os.getloadavg()[0], 2),
    }
    print(json.dumps({k: results[k] for k in ("objects", "buildings", "tiles_in_list", "clients")}), flush=True)
    if args.tipg:
        import bench_tiles_http

        http = bench_tiles_http.run(
            pg_url=pg_url, work=args.work, tiles=tiles, clients=args.clients, seconds=args.seconds, rounds=args.rounds
        )
        results |= http
        for label, r in http.items():
            print(
                f"{label}: {r['rps']:.1f} req/s (p50 {r['p50_ms']:.1f} ms, server cores {r['server_cpu']})", flush=True
            )
        if args.json:
            args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    if args.skip_in_process:
        return

    raw_sql = raw_sql_for(pg, "050101")
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")

    def raw_worker(i: int) -> Callable[[], int]:
        # the same session settings as citybase's tile pool (custom plans, no parallel workers: see
        # store/tiles.py), so the baseline gets the better plans too
        conn = psycopg.connect(dsn, autocommit=True, options=TILE_SESSION_OPTIONS)
        nxt = cycler(tiles, i)

        def work() -> int:
            z, x, y = nxt()
            data = conn.execute(raw_sql, {"z": z, "x": x, "y": y}).fetchone()[0]  # type: ignore[index,call-overload]
            return len(data or b"")

        return work

    def store_worker(p: Platform) -> Callable[[int], Callable[[], int]]:
        specs = [spec_for(p, "050101")]

        def make(i: int) -> Callable[[], int]:
            nxt = cycler(tiles, i)
            return lambda: len(render_tile(p.store, nxt(), specs))

        return make

    def service_worker(p: Platform, tileset: str, cached: bool) -> Callable[[int], Callable[[], int]]:
        service = TileService(p.store, p.classes, None, cache_bytes=(512 << 20) if cached else 0)
        service.tile(tileset, *tiles[-1])  # the once-per-process data stamp (a whole-table scan) is not measured
        if cached:
            for t in tiles:
                service.tile(tileset, *t)

        def make(i: int) -> Callable[[], int]:
            nxt = cycler(tiles, i)
            return lambda: len(service.tile(tileset, *nxt()).data)

        return make

    # One short warm-up pass per side so every side reads from a warm page cache.
    for _ in range(1):
        run_threads(args.clients, min(3.0, args.seconds), raw_worker)
        run_threads(args.clients, min(3.0, args.seconds), service_worker(lite, "050101", False))
    cases: list[tuple[str, Callable[[int], Callable[[], int]]]] = [
        ("raw ST_AsMVT, buildings (PostGIS, psycopg)", raw_worker),
        ("citybase render_tile, same layer (PostGIS)", store_worker(pg)),
        ("citybase render_tile, same layer (SQLite)", store_worker(lite)),
        ("citybase tileset 050101 uncached (PostGIS)", service_worker(pg, "050101", False)),
        ("citybase tileset 050101 uncached (SQLite)", service_worker(lite, "050101", False)),
        ("citybase uncached, basemap (PostGIS)", service_worker(pg, "basemap", False)),
        ("citybase uncached, basemap (SQLite)", service_worker(lite, "basemap", False)),
        ("citybase cached, basemap, in process (PostGIS)", service_worker(pg, "basemap", True)),
    ]
    if args.sqlite_2d:  # the same SQLite cases with the class R*Tree switched off, interleaved with them
        cases = [
            c
            for case in cases
            for c in ([case, (case[0] + " [2-D R*Tree]", case[1])] if "SQLite" in case[0] else [case])
        ]
    if args.only:
        cases = [c for c in cases if any(w.strip() in c[0] for w in args.only.split(","))]
    # Rounds interleave the cases, so load from other work on the machine falls on every case alike.
    for rnd in range(args.rounds):
        for label, make in cases:
            sqlite_tiles.USE_CLASS_RTREE = not label.endswith("[2-D R*Tree]")
            load = round(os.getloadavg()[0], 2)
            r = run_threads(args.clients, args.seconds, make)
            r["load_avg"] = load
            print(f"round {rnd + 1}: {label}: {r}", flush=True)
            prev = results.get(label)
            if prev is not None:
                r["tiles"] += prev["tiles"]
                r["seconds"] = round(r["seconds"] + prev["seconds"], 2)
                r["tiles_per_s"] = round(r["tiles"] / r["seconds"], 1)
            r["load_avg"] = f"{prev['load_avg']}, {load}" if prev is not None else load
            results[label] = r
    for label, _ in cases:
        print(f"{label}: {results[label]['tiles_per_s']} tiles/s", flush=True)

    if not args.no_http:
        results |= http_cached(args, pg_url, tiles)
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    pg.store.dispose()
    lite.store.dispose()


def http_cached(args: argparse.Namespace, pg_url: str, tiles: list[tuple[int, int, int]]) -> dict[str, Any]:
    import shutil

    import serving

    if not shutil.which("wrk"):
        return {"http": "skipped: wrk not installed"}
    paths = args.work / f"tile-paths-{uuid.uuid4().hex[:6]}.txt"
    paths.write_text("".join(f"/api/tiles/basemap/{z}/{x}/{y}.mvt\n" for z, x, y in tiles), encoding="utf-8")
    env = {
        "CITYBASE_DATA_DIR": str(args.work / "pg-data"),
        "CITYBASE_DATABASE_URL": pg_url,
        "CITYBASE_LOG_LEVEL": "WARNING",
    }
    cmd = [*serving.citybase_command(), "serve", "--host", "127.0.0.1", "--port", "{port}"]
    out: dict[str, Any] = {}
    with serving.Server("citybase", cmd, env, args.work / "serve.log") as server:
        serving.drive(server, paths, connections=args.clients, duration=5, loadgen="wrk", tick=lambda s: None)
        r = serving.drive(
            server, paths, connections=args.clients, duration=args.seconds, loadgen="wrk", tick=lambda s: None
        )
        out["citybase cached, basemap, HTTP (wrk)"] = r.as_dict()
        print(f"HTTP cached basemap: {r.as_dict()}", flush=True)
    paths.unlink()
    return out


if __name__ == "__main__":
    main()
