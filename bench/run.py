"""citybase benchmark runner: load + index, then request rates under concurrent load, each beside a baseline.

    python bench/run.py --db sqlite|postgis|both --scale tiny|demo|city --duration 20

For each database it

1. builds the city (``--scale``; ``city`` is about 5.6 million objects) through citybase
   (``ObjectService.insert_batch`` into a database made by ``citybase init``) and the same rows through
   the bare driver (sqlite3 ``executemany`` / psycopg ``COPY``) into a second database with the same
   schema, and reports objects per second for load + index (see ``loaders.py``);
2. serves the citybase database with ``citybase serve`` and with the plain Starlette handler of
   ``baseline_app.py`` (each alone, uvicorn, one worker process, 127.0.0.1 on a free port) and drives
   each with ``--connections`` concurrent connections for ``--duration`` seconds per case:
   feature-by-id and a ~300 m bbox query in the central city (limit 100, GeoJSON).

It writes ``bench/results/<timestamp>-<scale>.json`` and prints markdown tables. Databases: SQLite files
under ``--work-dir``; PostgreSQL databases ``citybase_bench_<scale>`` and ``…_raw`` on ``--pg-url``.
Everything is loopback-only and bounded in time.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform as pyplatform
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

import citygen  # noqa: E402
import loaders  # noqa: E402
import serving  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.progress import (  # noqa: E402
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

console = Console(stderr=True)
DEFAULT_PG = os.environ.get("CITYBASE_BENCH_PG_URL", "postgresql://citybase@127.0.0.1:54329/postgres")
CASES = ("feature-by-id", "bbox-300m")
PATHS_PER_CASE = 20_000


class LoggedProgress(Progress):
    """rich progress bars; when stderr is not a terminal (nohup, CI), a plain line every 10 % instead."""

    _logged: dict[Any, int]

    def _log(self, task_id: Any) -> None:
        if self.console.is_terminal:
            return
        task = self._tasks[task_id]
        if not task.total:
            return
        step = int(10 * task.completed / task.total)
        logged = getattr(self, "_logged", None)
        if logged is None:
            logged = self._logged = {}
        if step > logged.get(task_id, -1):
            logged[task_id] = step
            stamp = datetime.now(UTC).strftime("%H:%M:%S")
            print(
                f"{stamp} {task.description}: {task.completed:,.0f}/{task.total:,.0f} ({task.elapsed or 0:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    def update(self, task_id: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().update(task_id, **kwargs)
        self._log(task_id)

    def advance(self, task_id: Any, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._log(task_id)


def progress() -> Progress:
    return LoggedProgress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


# --- databases ------------------------------------------------------------------------------------------


class Target:
    """One database kind: where the citybase and the baseline databases live and how to reset them."""

    def __init__(self, kind: str, scale: str, work: Path, pg_url: str) -> None:
        self.kind = kind
        self.work = work / f"{kind}-{scale}"
        self.data_dir = self.work / "citybase-data"
        if kind == "sqlite":
            self.citybase_url = f"sqlite:///{self.work / 'citybase.db'}"
            self.baseline_url = f"sqlite:///{self.work / 'baseline.db'}"
        else:
            base = pg_url.rsplit("/", 1)[0]
            self.admin_url = pg_url
            self.citybase_url = f"{base}/citybase_bench_{scale}"
            self.baseline_url = f"{base}/citybase_bench_{scale}_raw"

    def reset(self, url: str) -> None:
        if self.kind == "sqlite":
            path = Path(url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            path.parent.mkdir(parents=True, exist_ok=True)
            return
        import psycopg

        name = url.rsplit("/", 1)[1]
        with psycopg.connect(self.admin_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")  # type: ignore[arg-type]
            con.execute(f"CREATE DATABASE {name}")  # type: ignore[arg-type]

    def drop(self, url: str) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{url.removeprefix('sqlite:///')}{suffix}").unlink(missing_ok=True)
            return
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as con:
            con.execute(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")  # type: ignore[arg-type]

    def query(self, url: str, sql: str) -> Any:
        if self.kind == "sqlite":
            with sqlite3.connect(url.removeprefix("sqlite:///")) as con:
                return con.execute(sql).fetchone()[0]
        import psycopg

        with psycopg.connect(url) as con:
            row = con.execute(sql).fetchone()  # type: ignore[arg-type]
            return row[0] if row else None

    def size_bytes(self, url: str) -> int:
        if self.kind == "sqlite":
            path = url.removeprefix("sqlite:///")
            return sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
        return int(self.query(url, "SELECT pg_database_size(current_database())"))

    def analyze(self, url: str) -> float:
        """Planner statistics (and on SQLite a WAL checkpoint) before serving; timed, not part of the load."""
        t0 = time.perf_counter()
        if self.kind == "sqlite":
            with sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None) as con:
                con.execute("ANALYZE")
                con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            import psycopg

            with psycopg.connect(url, autocommit=True) as con:
                con.execute("VACUUM ANALYZE city_object")
                con.execute("VACUUM ANALYZE city_object_version")
        return time.perf_counter() - t0

    def versions(self) -> dict[str, str]:
        if self.kind == "sqlite":
            return {"sqlite": sqlite3.sqlite_version}
        return {
            "postgresql": str(self.query(self.admin_url, "SHOW server_version")),
            "postgis": str(self.query(self.citybase_url, "SELECT postgis_lib_version()")),
        }


# --- phases ---------------------------------------------------------------------------------------------


def _ticker(bar: Progress, description: str, total: int) -> Callable[[int], None]:
    task = bar.add_task(description, total=total)
    return lambda n: bar.advance(task, n)


def load_phase(target: Target, scale: str, args: argparse.Namespace) -> dict[str, Any]:
    from citybase.domains.access import SYSTEM
    from citybase.kernel.settings import load_settings
    from citybase.platform import Platform
    from citybase.store import Store, upgrade

    total = citygen.SCALES[scale]
    out: dict[str, Any] = {}
    # citybase: `citybase init` equivalent, then the city through ObjectService.insert_batch.
    target.reset(target.citybase_url)
    settings = load_settings(data_dir=target.data_dir, database_url=target.citybase_url)
    platform = Platform(settings)
    platform.init(admin_password="bench-admin-password")
    meter = loaders.CpuMeter(target.citybase_url if target.kind == "postgis" else None)
    with progress() as bar:
        if args.source == "demo":
            tasks: dict[str, Any] = {}

            def tell(step: str, done: int, steps: int | None) -> None:
                if step not in tasks:
                    tasks[step] = bar.add_task(f"{target.kind}: citybase build_demo: {step}", total=steps or total)
                bar.update(tasks[step], completed=done, total=steps or max(total, done))

            cb = loaders.load_citybase_demo(platform, scale, tell, meter)
        else:
            for code, name, name_en in citygen.DEPARTMENTS:
                platform.access.create_department(SYSTEM, code, name, name_en, "420600")
            tick = _ticker(bar, f"{target.kind}: citybase load", total)
            cb = loaders.load_citybase(
                platform, citygen.CityGenerator(total), tick, validate=args.validate, meter=meter
            )
    meter.close()
    platform.store.dispose()
    console.print(f"{target.kind} citybase: {cb.objects:,} objects in {cb.total_s:.1f} s = {cb.rate:,.0f}/s")
    out["citybase"] = cb.as_dict()

    # Baseline: same schema (migrations), same rows through the bare driver.
    target.reset(target.baseline_url)
    store = Store(target.baseline_url)
    upgrade(store)
    store.dispose()
    with progress() as bar:
        tick = _ticker(bar, f"{target.kind}: baseline load ({args.baseline_index} indexes)", cb.objects)
        gen: Any = (
            loaders.read_back(target.kind, target.citybase_url)
            if args.source == "demo"
            else citygen.CityGenerator(total)
        )
        if target.kind == "sqlite":
            raw = loaders.load_sqlite_raw(
                target.baseline_url.removeprefix("sqlite:///"), gen, tick, args.baseline_index
            )
        else:
            raw = loaders.load_postgis_raw(target.baseline_url, gen, tick, args.baseline_index)
    console.print(f"{target.kind} baseline: {raw.objects:,} objects in {raw.total_s:.1f} s = {raw.rate:,.0f}/s")
    out["baseline"] = raw.as_dict()
    out["ratio_citybase_over_baseline"] = cb.rate / raw.rate if raw.rate else None

    # Both databases hold the same rows and the same index content.
    checks = {
        "objects": "SELECT count(*) FROM city_object",
        "versions": "SELECT count(*) FROM city_object_version",
        "spatial_index": "SELECT count(*) FROM city_object_rtree"
        if target.kind == "sqlite"
        else "SELECT count(*) FROM city_object WHERE geom IS NOT NULL",
    }
    counts = {
        name: {
            side: target.query(url, sql)
            for side, url in (("citybase", target.citybase_url), ("baseline", target.baseline_url))
        }
        for name, sql in checks.items()
    }
    out["counts"] = counts
    out["counts_equal"] = all(v["citybase"] == v["baseline"] for v in counts.values())
    if not out["counts_equal"]:
        console.print(f"[red]row counts differ: {counts}")
    out["size_bytes"] = {
        "citybase": target.size_bytes(target.citybase_url),
        "baseline": target.size_bytes(target.baseline_url),
    }
    out["analyze_s"] = target.analyze(target.citybase_url)
    if not args.keep_baseline_db:
        target.drop(target.baseline_url)
    return out


def write_paths(target: Target, work: Path) -> dict[str, Path]:
    """Request paths for both cases, the same for citybase and the baseline (fixed seeds)."""
    max_id = int(target.query(target.citybase_url, "SELECT max(id) FROM city_object"))
    rng = random.Random(citygen.SEED)
    ids = [rng.randint(1, max_id) for _ in range(PATHS_PER_CASE)]
    boxes = citygen.urban_boxes(PATHS_PER_CASE)
    files = {
        "feature-by-id": work / "paths-feature-by-id.txt",
        "bbox-300m": work / "paths-bbox-300m.txt",
    }
    files["feature-by-id"].write_text("".join(f"/api/objects/{i}\n" for i in ids))
    files["bbox-300m"].write_text(
        "".join(f"/api/objects?bbox={a},{b},{c},{d}&limit=100&f=geojson\n" for a, b, c, d in boxes)
    )
    return files


def _sample(url: str, paths: list[str]) -> list[Any]:
    """A comparable digest of responses: (id, name) per object, or the list of feature ids."""
    digest = []
    for p in paths:
        doc = serving.get_json(url + p)
        if "features" in doc:
            digest.append([f["id"] for f in doc["features"]])
        else:
            digest.append([doc["id"], doc["name"], (doc.get("geometry") or {}).get("type")])
    return digest


def serve_phase(target: Target, args: argparse.Namespace, loadgen: str) -> dict[str, Any]:
    files = write_paths(target, target.work)
    sample_paths = {case: files[case].read_text().splitlines()[:12] for case in CASES}
    log_dir = target.work / "logs"
    servers = {
        "citybase": serving.Server(
            "citybase",
            [*serving.citybase_command(), "serve", "--host", "127.0.0.1", "--port", "{port}"],
            {"CITYBASE_DATA_DIR": str(target.data_dir), "CITYBASE_DATABASE_URL": target.citybase_url},
            log_dir / "citybase-serve.log",
        ),
        "baseline": serving.Server(
            "baseline",
            [
                sys.executable, "-m", "uvicorn", "baseline_app:app", "--app-dir", str(BENCH),
                "--host", "127.0.0.1", "--port", "{port}", "--workers", "1",
                "--no-access-log", "--log-level", "warning",
            ],
            {"BENCH_DATABASE_URL": target.citybase_url},
            log_dir / "baseline-serve.log",
        ),
    }  # fmt: skip
    results: dict[str, Any] = {case: {} for case in CASES}
    runs: dict[tuple[str, str], list[serving.RunResult]] = {}
    digests: dict[str, Any] = {}
    # Both servers run side by side (the idle one costs nothing) and take turns, round by round, so a
    # drift in background load on the machine hits both alike.
    with progress() as bar, servers["citybase"], servers["baseline"]:
        for side, server in servers.items():
            digests[side] = {case: _sample(server.url, sample_paths[case]) for case in CASES}
        for case in CASES:
            for round_no in range(args.rounds):
                order = list(servers) if round_no % 2 == 0 else list(servers)[::-1]
                for side in order:
                    server = servers[side]
                    if round_no == 0 and args.warmup > 0:
                        task = bar.add_task(f"{target.kind}: {side} {case} warm-up", total=args.warmup)
                        serving.drive(
                            server, files[case], connections=args.connections, duration=args.warmup,
                            loadgen=loadgen, tick=lambda s, t=task: bar.update(t, completed=s),
                        )  # fmt: skip
                        bar.update(task, completed=args.warmup)
                    task = bar.add_task(f"{target.kind}: {side} {case} round {round_no + 1}", total=args.duration)
                    run = serving.drive(
                        server, files[case], connections=args.connections, duration=args.duration,
                        loadgen=loadgen, tick=lambda s, t=task: bar.update(t, completed=s),
                    )  # fmt: skip
                    bar.update(task, completed=args.duration)
                    runs.setdefault((case, side), []).append(run)
                    console.print(
                        f"{target.kind} {side:8} {case:13} {run.rps:8.0f} req/s  p50 {run.p50_ms:6.1f} ms  "
                        f"p95 {run.p95_ms:6.1f} ms  errors {run.errors}  server CPU {run.server_cpu:.2f}  "
                        f"load avg {run.load_avg:.1f}"
                    )
    for (case, side), rs in runs.items():
        results[case][side] = serving.combine(rs)
    bbox_sizes = [len(d) for d in digests["citybase"]["bbox-300m"]]
    for case in CASES:
        cb, raw = results[case]["citybase"], results[case]["baseline"]
        results[case]["ratio_citybase_over_baseline"] = cb["rps"] / raw["rps"] if raw["rps"] else None
        results[case]["same_answers"] = digests["citybase"][case] == digests["baseline"][case]
        if not results[case]["same_answers"]:
            console.print(f"[red]{target.kind} {case}: citybase and baseline answers differ on the sample")
    results["bbox-300m"]["features_per_response_mean"] = sum(bbox_sizes) / len(bbox_sizes)
    results["bbox-300m"]["full_pages_in_sample"] = sum(1 for n in bbox_sizes if n == 100) / len(bbox_sizes)
    return results


# --- report ---------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if "model name" in line
        ),
        pyplatform.processor(),
    )
    mem = next(line for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "memory_gb": round(int(mem.split()[1]) / 1024**2, 1),
        "os": pyplatform.platform(),
        "python": pyplatform.python_version(),
    }


def git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        )
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def markdown(result: dict[str, Any]) -> str:
    lines = []
    if any("load" in r for r in result["databases"].values()):
        lines += [
            f"Load + index, scale `{result['scale']}`",
            "",
            "| database | path | objects | load s | index s | total s | objects/s | citybase/baseline "
            "| CPU s | objects/CPU-s | citybase/baseline (CPU) | load avg |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for db, r in result["databases"].items():
            if "load" not in r:
                continue
            for side in ("citybase", "baseline"):
                x = r["load"][side]
                ratio = f"{r['load']['ratio_citybase_over_baseline']:.2f}" if side == "citybase" else ""
                index = "inline" if x["index_s"] == 0 else f"{x['index_s']:.1f}"
                load = f"{x['load_avg_mean']:.1f}" if x.get("load_avg_mean") is not None else "-"
                cpu = f"{x['cpu_s']:.1f} | {x['objects_per_cpu_s']:,.0f}" if x.get("cpu_s") else "- | -"
                cpu_ratio = ""
                if side == "citybase" and r["load"]["baseline"].get("cpu_s") and x.get("cpu_s"):
                    cpu_ratio = f"{x['objects_per_cpu_s'] / r['load']['baseline']['objects_per_cpu_s']:.2f}"
                lines.append(
                    f"| {db} | {side} | {x['objects']:,} | {x['load_s']:.1f} | {index} | {x['total_s']:.1f} | "
                    f"{x['objects_per_s']:,.0f} | {ratio} | {cpu} | {cpu_ratio} | {load} |"
                )
        lines.append("")
    if any("requests" in r for r in result["databases"].values()):
        lines += [
            f"Requests, {result['connections']} connections, {result['rounds']} x {result['duration']:g} s per case "
            "and side (alternating rounds)",
            "",
            "| database | case | citybase req/s | p50 ms | p95 ms | baseline req/s | p50 ms | p95 ms "
            "| citybase/baseline | server CPU ms/req citybase / baseline | load avg |",
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for db, r in result["databases"].items():
            for case in CASES:
                if "requests" not in r:
                    continue
                c, b = r["requests"][case]["citybase"], r["requests"][case]["baseline"]
                ratio = r["requests"][case]["ratio_citybase_over_baseline"]
                cpu = " / ".join(f"{x['server_cpu'] / x['rps'] * 1000:.2f}" if x["rps"] else "-" for x in (c, b))
                load = (c["load_avg"] + b["load_avg"]) / 2
                lines.append(
                    f"| {db} | {case} | {c['rps']:,.1f} | {c['p50_ms']:.1f} | {c['p95_ms']:.1f} | {b['rps']:,.1f} | "
                    f"{b['p50_ms']:.1f} | {b['p95_ms']:.1f} | {ratio:.2f} | {cpu} | {load:.1f} |"
                )
    return "\n".join(lines)


def snapshot_source(work: Path) -> dict[str, str]:
    """Copy the checkout's ``src/citybase`` and run everything (this process, the servers) from the copy.

    Others may edit the tree while a long run goes on; the copy keeps one version for the whole run.
    Returns where it is and a digest of its Python files (recorded in the result).
    """
    src = ROOT / "src" / "citybase"
    if not src.is_dir():
        return {}
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    dest = work / "snapshots" / stamp / "src"
    shutil.copytree(src, dest / "citybase", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    digest = hashlib.sha256()
    for path in sorted((dest / "citybase").rglob("*.py")):
        digest.update(path.relative_to(dest).as_posix().encode() + b"\0" + path.read_bytes())
    sys.path.insert(0, str(dest))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")]))
    return {"path": str(dest), "sha256_py": digest.hexdigest()[:16]}


def demo_available() -> bool:
    try:
        from citybase.demo import build  # noqa: F401
    except ImportError:
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--db", choices=("sqlite", "postgis", "both"), default="both")
    p.add_argument("--scale", choices=tuple(citygen.SCALES), default="demo")
    p.add_argument("--duration", type=float, default=20.0, help="seconds per request case (default 20)")
    p.add_argument("--warmup", type=float, default=3.0, help="seconds of warm-up per case, not measured (default 3)")
    p.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    p.add_argument("--rounds", type=int, default=2, help="alternating rounds of --duration s per side and case")
    p.add_argument("--loadgen", choices=("auto", "wrk", "python"), default="auto", help="auto: wrk if installed")
    p.add_argument(
        "--baseline-index",
        choices=("after", "live"),
        default="after",
        help="baseline builds its indexes after the load (default) or keeps them live while loading",
    )
    p.add_argument("--validate", action="store_true", help="citybase validates every object while loading")
    p.add_argument("--skip-load", action="store_true", help="reuse the citybase database of an earlier run")
    p.add_argument("--skip-requests", action="store_true", help="measure load + index only")
    p.add_argument("--keep-baseline-db", action="store_true", help="keep the baseline database after the load")
    p.add_argument("--pg-url", default=DEFAULT_PG, help=f"PostgreSQL server (a database on it; default {DEFAULT_PG})")
    p.add_argument("--work-dir", type=Path, default=BENCH / "results" / "work", help="SQLite files and logs")
    p.add_argument(
        "--out", type=Path, default=None, help="JSON result file (default bench/results/<time>-<scale>.json)"
    )
    p.add_argument(
        "--source",
        choices=("auto", "demo", "synthetic"),
        default="auto",
        help="demo: citybase.demo.build_demo (baseline: its rows read back); synthetic: bench/citygen.py; "
        "auto: demo when citybase.demo can build",
    )
    p.add_argument("--no-snapshot", action="store_true", help="run the checkout's src/ directly, not a copy")
    args = p.parse_args(argv)
    args.work_dir.mkdir(parents=True, exist_ok=True)
    snapshot = {} if args.no_snapshot else snapshot_source(args.work_dir)
    if not snapshot:
        sys.path.insert(0, str(ROOT / "src"))  # a checkout without an installed package
    try:  # fail now, not after an hour of loading, when the tree is mid-edit
        import citybase.cli.main
        import citybase.web  # noqa: F401
    except Exception as exc:
        raise SystemExit(f"citybase does not import ({exc!r}); run again when the tree is consistent") from exc
    if args.source == "auto":
        args.source = "demo" if demo_available() else "synthetic"

    loadgen = serving.pick_loadgen(args.loadgen)
    kinds = ["sqlite", "postgis"] if args.db == "both" else [args.db]
    started = datetime.now(UTC)
    result: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "scale": args.scale,
        "connections": args.connections,
        "duration": args.duration,
        "rounds": args.rounds,
        "warmup": args.warmup,
        "loadgen": loadgen,
        "baseline_index": args.baseline_index,
        "validate": args.validate,
        "command": " ".join(["python", "bench/run.py", *(argv if argv is not None else sys.argv[1:])]),
        "machine": machine(),
        "git": git_revision(),
        "source_snapshot": snapshot,
        "source": "citybase.demo.build_demo" if args.source == "demo" else "synthetic city (bench/citygen.py)",
        "databases": {},
    }
    out = args.out or BENCH / "results" / f"{started.strftime('%Y%m%dT%H%M%SZ')}-{args.scale}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        target = Target(kind, args.scale, args.work_dir, args.pg_url)
        target.work.mkdir(parents=True, exist_ok=True)
        entry: dict[str, Any] = {}
        result["databases"][kind] = entry
        if not args.skip_load:
            entry["load"] = load_phase(target, args.scale, args)
        entry["versions"] = target.versions()
        entry["objects"] = int(target.query(target.citybase_url, "SELECT count(*) FROM city_object"))
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
        if not args.skip_requests:
            entry["requests"] = serve_phase(target, args, loadgen)
        out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    result["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(markdown(result))
    console.print(f"result: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
