"""Benchmark: the pilot city's population (实有人口) loaded into each database, and its statistics queries.

Run (docs/benchmarks-registry.md):
    .venv/bin/python bench/bench_registry.py --db both                    # 1.62 M people, 653 k households
    .venv/bin/python bench/bench_registry.py --db sqlite --people 20000   # smoke run, about a minute
    .venv/bin/python bench/bench_registry.py --db both --skip-load        # re-time the queries only

Per database: a fresh database migrated with ``citybase.store.upgrade`` (SQLite file in
``bench/results/work/``, PostgreSQL database ``citybase_bench_registry`` on the test cluster); the
address tree (125 k buildings with units, floors and 653 k rooms, through ``addresses.insert_nodes``;
timed on its own); the people through citybase (``registry_load.load_citybase_batch``) and, in the same
run, the same rows through the bare driver into bare tables (``registry_load.Baseline``); a sample
through the registry's CSV import one by one (``people_import.import_people``, ``chunk=0``) and another
in chunks (its default: plain rows in bulk); then the statistics
queries through ``PopulationStats`` against hand-written SQL (``registry_queries``). Figures are people
per second (wall and CPU) and median query times; ratios are citybase / baseline speed (1.0 = no price).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import sys
import time
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "bench" / "results" / "work"


def snapshot_source() -> dict[str, str]:
    """Run from a copy of ``src/citybase``: others edit the tree during a long run (as ``run.py`` does)."""
    if "--no-snapshot" in sys.argv:
        sys.path.insert(0, str(ROOT / "src"))
        return {}
    dest = WORK / "snapshots" / f"registry-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}" / "src"
    shutil.copytree(ROOT / "src" / "citybase", dest / "citybase",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    digest = hashlib.sha256()
    for path in sorted((dest / "citybase").rglob("*.py")):
        digest.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    sys.path.insert(0, str(dest))
    return {"path": str(dest), "sha256_py": digest.hexdigest()[:16]}


SNAPSHOT = snapshot_source()

from loaders import CpuMeter  # noqa: E402
from registry_gen import PEOPLE, People, Shape, buildings  # noqa: E402
from registry_load import Baseline, build_tree, load_citybase_batch, service_rows  # noqa: E402
from registry_queries import time_queries  # noqa: E402

from citybase.domains.access import SYSTEM  # noqa: E402
from citybase.domains.registry import PeopleService  # noqa: E402
from citybase.domains.registry.people_import import CHUNK, import_people  # noqa: E402
from citybase.domains.registry.personal import PersonalData  # noqa: E402
from citybase.store import Store, upgrade  # noqa: E402

RESULTS = ROOT / "bench" / "results"
DEFAULT_PG = os.environ.get("CITYBASE_TEST_POSTGRES_URL", "postgresql://citybase@127.0.0.1:54329/postgres")
KEY_FILE = WORK / "registry-personal.key"


def say(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", file=sys.stderr, flush=True)


def db_url(kind: str, people: int, pg_url: str, name: str = "") -> str:
    suffix = ("" if people == PEOPLE else f"_{people}") + (f"_{name}" if name else "")
    if kind == "sqlite":
        return f"sqlite:///{WORK / f'registry{suffix}.db'}"
    return f"{pg_url.rsplit('/', 1)[0]}/citybase_bench_registry{suffix}"


def reset(kind: str, url: str, pg_url: str) -> None:
    if kind == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        for s in ("", "-wal", "-shm"):
            Path(f"{path}{s}").unlink(missing_ok=True)
        return
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        name = url.rsplit("/", 1)[1]
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        con.execute(f"CREATE DATABASE {name}")


def analyze(store: Store) -> float:
    """Planner statistics before the queries (timed, not part of any rate)."""
    t0 = time.perf_counter()
    if store.name == "sqlite":
        with sqlite3.connect(store.url.removeprefix("sqlite:///"), isolation_level=None) as con:
            con.execute("ANALYZE")
            con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    else:
        import psycopg

        with psycopg.connect(store.url.replace("+psycopg", ""), autocommit=True) as con:
            con.execute("VACUUM ANALYZE")
    return time.perf_counter() - t0


class Phase:
    """Wall and CPU seconds of the timed calls only (drawing the rows is left out), load average."""

    def __init__(self, meter: CpuMeter) -> None:
        self.meter = meter
        self.wall = self.cpu = 0.0
        self.people = 0
        self.loads: list[float] = []

    def run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        before, t0 = self.meter.snapshot(), time.perf_counter()
        got = fn(*args, **kwargs)
        self.wall += time.perf_counter() - t0
        self.cpu += self.meter.since(before)
        self.loads.append(os.getloadavg()[0])
        return got

    def as_dict(self) -> dict[str, Any]:
        return {"people": self.people, "wall_s": self.wall, "cpu_s": self.cpu,
                "people_per_s": self.people / self.wall if self.wall else None,
                "people_per_cpu_s": self.people / self.cpu if self.cpu else None,
                "load_avg_mean": sum(self.loads) / len(self.loads) if self.loads else None}


def load(kind: str, url: str, args: argparse.Namespace) -> dict[str, Any]:
    reset(kind, url, args.pg_url)
    store = Store(url)
    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    upgrade(store)
    out["migrate_s"] = time.perf_counter() - t0
    shape = Shape.for_people(args.people, spare_rooms=2 * -(-args.service_sample // 2))
    out["shape"] = asdict(shape)
    say(f"{kind}: address tree for {shape.households:,} households in {shape.buildings:,} buildings")
    t0 = time.perf_counter()
    tree = build_tree(store, shape, buildings(shape))
    out["tree"] = {k: v for k, v in tree.items() if k != "rooms"} | {"wall_s": time.perf_counter() - t0}
    rooms = tree["rooms"]
    homes, spare = rooms[:shape.households], rooms[shape.households:]
    meter = CpuMeter(args.pg_url.rsplit("/", 1)[0] + "/" + url.rsplit("/", 1)[1] if kind == "postgis" else None)
    pd = PersonalData.from_file(KEY_FILE)
    today = date.today()
    try:
        gen = People(shape, today)
        cb = Phase(meter)
        step = max(1, len(homes) // args.batch // 10)
        for i, (start, fams) in enumerate(gen.batches(args.batch)):
            cb.people += cb.run(load_citybase_batch, store, pd, SYSTEM, homes[start:start + len(fams)], fams, start)
            if i % step == 0:
                say(f"{kind}: citybase {cb.people:,} people, {cb.people / cb.wall:,.0f}/s")
        out["citybase"] = cb.as_dict()
        if args.service_sample:  # the CSV import one by one, then in chunks, each into its own spare rooms
            half = len(spare) // 2
            for key, rooms_part, chunk in (("service", spare[:half], 0), ("csv_import", spare[half:], CHUNK)):
                csv_rows = service_rows(gen, rooms_part, args.service_sample)
                svc = Phase(meter)
                report = svc.run(import_people, PeopleService(store, KEY_FILE), SYSTEM, csv_rows, chunk=chunk)
                svc.people = report.registered
                out[key] = svc.as_dict() | {"rows": report.rows, "errors": [str(e) for e in report.errors[:5]]}
                say(f"{kind}: {key} (chunk {chunk}) {report.registered:,} people, {svc.people / svc.wall:,.0f}/s")
        gen = People(shape, today)  # a fresh generator draws the same rows again
        bl = Phase(meter)
        baseline = Baseline(store)
        for i, (start, fams) in enumerate(gen.batches(args.batch)):
            bl.people += bl.run(baseline.load_batch, homes[start:start + len(fams)], fams)
            if i % step == 0:
                say(f"{kind}: baseline {bl.people:,} people, {bl.people / bl.wall:,.0f}/s")
        baseline.close()
        out["baseline"] = bl.as_dict()
    finally:
        meter.close()
    out["analyze_s"] = analyze(store)
    out["counts"] = counts(store)
    store.engine.dispose()
    return out


def counts(store: Store) -> dict[str, int]:
    tables = ("address_node", "address_version", "person", "person_version", "household", "household_version",
              "residence", "bl_person", "bl_household", "bl_residence")
    with store.engine.connect() as conn:
        return {t: int(conn.exec_driver_sql(f"SELECT count(*) FROM {t}").scalar_one()) for t in tables}


def size_bytes(store: Store) -> int:
    if store.name == "sqlite":
        path = store.url.removeprefix("sqlite:///")
        return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    with store.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar_one())


def markdown(result: dict[str, Any]) -> str:
    lines = ["| database | people | citybase people/s | baseline people/s | citybase/baseline | citybase people/CPU-s "
             "| baseline people/CPU-s | citybase/baseline (CPU) | CSV import one by one people/s (sample) "
             "| CSV import in chunks people/s (sample) | chunks/one by one | chunks/baseline | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for kind, r in result["databases"].items():
        if "citybase" not in r:
            continue
        c, b, s, k = r["citybase"], r["baseline"], r.get("service") or {}, r.get("csv_import") or {}
        svc, csv_ = (f"{x['people_per_s']:,.0f} ({x['people']:,})" if x.get("people_per_s") else "–" for x in (s, k))
        both = s.get("people_per_s") and k.get("people_per_s")
        vs_one = f"{k['people_per_s'] / s['people_per_s']:.1f}" if both else "–"
        vs_bl = f"{k['people_per_s'] / b['people_per_s']:.2f}" if k.get("people_per_s") else "–"
        lines.append(f"| {kind} | {c['people']:,} | {c['people_per_s']:,.0f} | {b['people_per_s']:,.0f} | "
                     f"{c['people_per_s'] / b['people_per_s']:.2f} | {c['people_per_cpu_s']:,.0f} | "
                     f"{b['people_per_cpu_s']:,.0f} | {c['people_per_cpu_s'] / b['people_per_cpu_s']:.2f} | {svc} | "
                     f"{csv_} | {vs_one} | {vs_bl} | {c['load_avg_mean']:.1f} |")
    lines += ["", "| database | address nodes | tree s | nodes/s |", "|---|---:|---:|---:|"]
    for kind, r in result["databases"].items():
        if "tree" in r:
            t = r["tree"]
            lines.append(f"| {kind} | {t['nodes']:,} | {t['wall_s']:.1f} | {t['nodes'] / t['wall_s']:,.0f} |")
    lines += ["", "| database | query | groups | total | citybase ms | SQL joined ms | SQL recursive ms | "
              "citybase/joined | citybase/recursive | same answer |",
              "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for kind, r in result["databases"].items():
        for q in r["queries"]:
            m = {k: "failed" if v is None else f"{v * 1e3:,.0f}" for k, v in q["median_s"].items()}
            rj, rr = (("–" if v is None else f"{v:.2f}") for v in (q["ratio_joined"], q["ratio_recursive"]))
            same = "yes" if q["same_answer"] else "NO: " + ", ".join(q["differs"])
            if q.get("errors"):
                same += "; errors: " + "; ".join(f"{k}: {v[:80]}" for k, v in q["errors"].items())
            lines.append(f"| {kind} | {q['query']} | {q['rows']:,} | {q['total']:,} | {m['citybase']} | "
                         f"{m['sql_joined']} | {m['sql_recursive']} | {rj} | {rr} | {same} |")
    return "\n".join(lines)


def git_revision() -> str:
    import subprocess

    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True).stdout
    except OSError:
        return "unknown"
    return rev.strip() + ("+dirty" if dirty.strip() else "")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    ap.add_argument("--db", choices=("sqlite", "postgis", "both"), default="both")
    ap.add_argument("--people", type=int, default=PEOPLE, help="people to load (default 1,620,000)")
    ap.add_argument("--batch", type=int, default=10_000, help="households per write transaction")
    ap.add_argument("--service-sample", type=int, default=2_000, help="people through each CSV import path")
    ap.add_argument("--repetitions", type=int, default=5, help="runs of each query per side (median)")
    ap.add_argument("--skip-load", action="store_true", help="re-time the queries on the loaded databases")
    ap.add_argument("--pg-url", default=DEFAULT_PG, help="PostgreSQL server (an admin database on it)")
    ap.add_argument("--name", default="", help="suffix of the database / file name (several loaded cities)")
    ap.add_argument("--no-snapshot", action="store_true", help="run from src/ instead of a copy of it")
    args = ap.parse_args(argv)
    kinds = ("sqlite", "postgis") if args.db == "both" else (args.db,)
    started = datetime.now(UTC)
    result: dict[str, Any] = {"started": started.isoformat(), "argv": sys.argv, "people": args.people,
                              "source": SNAPSHOT | {"commit": git_revision()},
                              "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                          "sqlite": sqlite3.sqlite_version}, "databases": {}}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"registry-{started:%Y%m%dT%H%M%SZ}-{args.people}{'-' + args.name if args.name else ''}.json"
    for kind in kinds:
        url = db_url(kind, args.people, args.pg_url, args.name)
        r: dict[str, Any] = {"url": url}
        result["databases"][kind] = r
        if not args.skip_load:
            r |= load(kind, url, args)
            path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")  # kept if the queries fail
        store = Store(url)
        say(f"{kind}: timing the statistics queries, {args.repetitions} runs per side")
        r["queries"] = time_queries(store, args.repetitions)
        r["size_bytes"] = size_bytes(store)
        if args.skip_load:
            r["counts"] = counts(store)
        store.engine.dispose()
    result["finished"] = datetime.now(UTC).isoformat()
    path.write_text(json.dumps(result, indent=1, default=str), encoding="utf-8")
    print(markdown(result))
    say(f"results in {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
