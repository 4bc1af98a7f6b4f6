"""Tiles and Features over HTTP: citybase against tipg (PyPI ``tipg``) on the same PostGIS table.

Used by ``bench/bench_tiles.py --tipg``. Three servers on loopback, one uvicorn worker each (asyncio
loop, h11 — the same stack for both), driven by ``wrk`` with ``--clients`` connections:

- citybase uncached: ``bench/tiles_server.py --uncached --full-detail`` — the real app and tile route
  (``/ogc/collections/050101/tiles/WebMercatorQuad/{z}/{row}/{col}``) with a cache that keeps nothing
  and the buildings tileset at full detail from zoom 0 (the same layer as the raw query and tipg);
- citybase cached: the same app with the normal cache (memory + disk), warmed over the tile list;
- tipg: ``uvicorn tipg.main:app`` over ``public.city_object`` with ``filter=class_code='050101' AND
  state<>'retired'`` and ``properties=id,name,class_code,code,attributes`` (the raw query's columns),
  ``TIPG_TILE_BUFFER=64`` (citybase's buffer) and no feature limit per tile.

Features: ``items`` pages of 100 buildings in ~300 m boxes over the central city — citybase
``/ogc/collections/buildings/items?bbox=…&limit=100`` against tipg ``/collections/public.city_object/
items?bbox=…&limit=100&filter=class_code='050101'``. Cases alternate between citybase and tipg per round.

Run as a script, it measures cached tiles only, stack by stack (:data:`STACKS`: FastAPI route or the
tile fast path, h11 + asyncio or httptools + uvloop, one or two processes), every stack a server on the
same database serving the same tile list from a warm memory cache, rounds interleaved::

    python bench/bench_tiles_http.py --db sqlite:////tmp/h6/city100k.db --work /tmp/h6/work --json out.json
"""

from __future__ import annotations

import os
import random
import sys
import urllib.parse
from pathlib import Path
from typing import Any

import serving

TIPG_FILTER = "class_code='050101' AND state<>'retired'"
TIPG_PROPERTIES = "id,name,class_code,code,attributes"
COLLECTION = "public.city_object"


def _paths(work: Path, name: str, paths: list[str]) -> Path:
    f = work / f"paths-{name}.txt"
    f.write_text("".join(p + "\n" for p in paths), encoding="utf-8")
    return f


def bbox_paths(centre: tuple[float, float], n: int, seed: int = 20261122) -> list[tuple[float, float, float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        lon = centre[0] + rng.gauss(0, 0.02)
        lat = centre[1] + rng.gauss(0, 0.015)
        out.append((round(lon, 5), round(lat, 5), round(lon + 0.0032, 5), round(lat + 0.0027, 5)))  # ~300 m
    return out


def _warm(base: str, paths: list[str]) -> None:
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def fetch(path: str) -> int:
        with urllib.request.urlopen(base + path, timeout=600) as r:
            return len(r.read())

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(fetch, paths))


def run(
    *, pg_url: str, work: Path, tiles: list[tuple[int, int, int]], clients: int, seconds: float, rounds: int
) -> dict[str, Any]:
    """All HTTP cases; returns {case: serving.combine(...) dict}."""
    dsn = pg_url.replace("postgresql+psycopg://", "postgresql://")
    q_tiles = urllib.parse.urlencode({"filter": TIPG_FILTER, "properties": TIPG_PROPERTIES})
    q_items = urllib.parse.quote(TIPG_FILTER.split(" AND ")[0])
    tiles = list(tiles)
    random.Random(20261122).shuffle(tiles)  # wrk walks the list in order: mix the zooms along it
    tile_paths = {
        "citybase": [f"/ogc/collections/050101/tiles/WebMercatorQuad/{z}/{y}/{x}" for z, x, y in tiles],
        "tipg": [f"/collections/{COLLECTION}/tiles/WebMercatorQuad/{z}/{x}/{y}?{q_tiles}" for z, x, y in tiles],
    }
    boxes = bbox_paths((112.145, 32.035), 2000)
    item_paths = {
        "citybase": [f"/ogc/collections/buildings/items?bbox={','.join(map(str, b))}&limit=100" for b in boxes],
        "tipg": [
            f"/collections/{COLLECTION}/items?bbox={','.join(map(str, b))}&limit=100&filter={q_items}" for b in boxes
        ],
    }
    files = {
        (case, side): _paths(work, f"{case}-{side}", paths)
        for case, sides in (("tiles", tile_paths), ("items", item_paths))
        for side, paths in sides.items()
    }
    env_cb = {
        "CITYBASE_DATABASE_URL": pg_url,
        "CITYBASE_DATA_DIR": str(work / "http-data"),
        "CITYBASE_LOG_LEVEL": "WARNING",
    }
    env_tipg = {
        "DATABASE_URL": dsn,
        "TIPG_DB_TABLES": f'["{COLLECTION}"]',
        "TIPG_TILE_BUFFER": "64",
        "TIPG_MAX_FEATURES_PER_TILE": "100000000",
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
        "TIPG_DB_MAX_CONN_SIZE": str(max(10, clients)),
    }
    py = sys.executable
    server_script = str(Path(__file__).resolve().parent / "tiles_server.py")
    uncached = serving.Server(
        "citybase-uncached",
        [py, server_script, "--port", "{port}", "--uncached", "--full-detail"],
        env_cb,
        work / "citybase-uncached.log",
    )
    cached = serving.Server(
        "citybase-cached",
        [py, server_script, "--port", "{port}", "--full-detail"],
        env_cb,
        work / "citybase-cached.log",
    )
    tipg = serving.Server(
        "tipg",
        [py, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port", "{port}", "--log-level", "warning"],
        env_tipg,
        work / "tipg.log",
        health="/healthz",
    )
    runs: dict[str, list[serving.RunResult]] = {}

    def go(label: str, server: serving.Server, paths: Path, duration: float) -> None:
        r = serving.drive(server, paths, connections=clients, duration=duration, loadgen="wrk", tick=lambda s: None)
        print(
            f"HTTP {label}: {r.rps:.1f} req/s p50 {r.p50_ms:.1f} ms server cores {r.server_cpu} "
            f"errors {r.errors} load {r.load_avg}",
            flush=True,
        )
        runs.setdefault(label, []).append(r)

    with uncached, cached, tipg:
        # one request each first: citybase's tile service stamps the data once per process (a scan of the
        # whole table, seconds for a city), tipg builds its catalogue; neither belongs in a measured round
        for server, side in ((uncached, "citybase"), (cached, "citybase"), (tipg, "tipg")):
            _warm(server.url, tile_paths[side][-1:])
        for server, side in ((uncached, "citybase"), (tipg, "tipg")):  # warm the page cache and the pools
            go(f"warm-up {side}", server, files[("tiles", side)], 3)
            go(f"warm-up items {side}", server, files[("items", side)], 2)
        for rnd in range(rounds):
            order = [(uncached, "citybase"), (tipg, "tipg")]
            for server, side in order if rnd % 2 == 0 else order[::-1]:
                go(f"tiles uncached {side}", server, files[("tiles", side)], seconds)
            for server, side in order if rnd % 2 == 0 else order[::-1]:
                go(f"items {side}", server, files[("items", side)], seconds)
        _warm(cached.url, tile_paths["citybase"])  # every tile once, so the measured runs are all hits
        for _ in range(rounds):
            go("tiles cached citybase", cached, files[("tiles", "citybase")], seconds)
    return {f"HTTP {k}": serving.combine(v) for k, v in runs.items() if not k.startswith("warm-up")}


# --- cached tiles: the HTTP stack, configuration by configuration (``python bench/bench_tiles_http.py``) ---

# label -> (fast path, http, loop, workers); the first is the stack as it was before the fast path
STACKS: dict[str, tuple[bool, str, str, int]] = {
    "before: FastAPI route, h11 + asyncio, 1 process": (False, "h11", "asyncio", 1),
    "fast path, h11 + asyncio, 1 process": (True, "h11", "asyncio", 1),
    "fast path, httptools + uvloop, 1 process": (True, "httptools", "uvloop", 1),
    "FastAPI route, httptools + uvloop, 2 processes": (False, "httptools", "uvloop", 2),
    "after: fast path, httptools + uvloop, 2 processes": (True, "httptools", "uvloop", 2),
}


def bench_app() -> Any:
    """The app of one server process (a uvicorn factory, so ``--workers`` can import it): citybase's
    ``create_app`` over ``CITYBASE_*`` settings; ``BENCH_FULL_DETAIL=1`` as ``tiles_server.py
    --full-detail``, ``BENCH_FASTPATH=0`` removes the tile fast path (the stack as it was before)."""
    import os

    from citybase.domains.tiles import tilesets
    from citybase.kernel.settings import load_settings
    from citybase.platform import Platform
    from citybase.web import create_app
    from citybase.web.tile_fastpath import TileFastPath

    if os.environ.get("BENCH_FULL_DETAIL") == "1":
        tilesets.CLASS_MINZOOM["050101"] = 0
        tilesets.DETAIL_ZOOM = 0
    app = create_app(Platform(load_settings(job_workers=0)))
    if os.environ.get("BENCH_FASTPATH") == "0":
        app.user_middleware = [m for m in app.user_middleware if m.cls is not TileFastPath]
    return app


class TreeServer(serving.Server):
    """A server whose CPU time includes its child processes (uvicorn ``--workers`` forks them)."""

    def cpu_seconds(self) -> float:
        assert self.proc is not None
        total, todo = 0.0, [self.proc.pid]
        while todo:
            pid = todo.pop()
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                for task in Path(f"/proc/{pid}/task").iterdir():
                    todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:  # a process that just ended
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total


def drive_wrk(
    server: serving.Server, paths_file: Path, *, clients: int, seconds: float, threads: int, gzip: bool = False
) -> Any:
    """``serving.drive`` with ``threads`` wrk threads: at a few thousand requests a second one wrk thread
    (serving's default) is itself the limit on a shared 2-core machine (measured: 2,400–2,800 req/s with
    one thread against 3,750–3,840 with two, same server, same minute)."""
    import json
    import subprocess

    load_avg = os.getloadavg()[0]
    cpu0, (busy0, total0) = server.cpu_seconds(), serving.machine_busy()
    cmd = ["wrk", f"-t{threads}", f"-c{clients}", f"-d{int(seconds)}s", "--timeout", "30s",
           *(["-H", "Accept-Encoding: gzip"] if gzip else []),
           "-s", str(serving.BENCH / "paths.lua"), server.url, "--", str(paths_file)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout
    cpu1, (busy1, total1) = server.cpu_seconds(), serving.machine_busy()
    line = next(x for x in out.splitlines() if x.startswith("WRKJSON "))
    stats = json.loads(line.removeprefix("WRKJSON "))
    secs = stats["duration_us"] / 1e6
    errors = sum(stats[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts"))
    return serving.RunResult(
        requests=stats["requests"],
        seconds=round(secs, 2),
        rps=stats["requests"] / secs,
        p50_ms=stats["p50_us"] / 1000,
        p95_ms=stats["p95_us"] / 1000,
        p99_ms=stats["p99_us"] / 1000,
        mean_ms=stats["mean_us"] / 1000,
        errors=errors,
        server_cpu=round((cpu1 - cpu0) / secs, 2),
        machine_cpu=round((busy1 - busy0) / max(1, total1 - total0), 2),
        load_avg=round(load_avg, 2),
        loadgen=f"wrk -t{threads}" + (" gzip" if gzip else ""),
    )


def cached_stacks(
    *,
    db_url: str,
    work: Path,
    tiles: list[tuple[int, int, int]],
    clients: int,
    seconds: float,
    rounds: int,
    wrk_threads: int = 2,
    stacks: list[str] | None = None,
    gzip: bool = False,
) -> dict[str, Any]:
    """Cached tiles (memory hits) over HTTP for every stack in :data:`STACKS`, interleaved round by round."""
    tiles = list(tiles)
    random.Random(20261122).shuffle(tiles)
    paths = [f"/ogc/collections/050101/tiles/WebMercatorQuad/{z}/{y}/{x}" for z, x, y in tiles]
    paths_file = _paths(work, "cached", paths)
    env = {
        "CITYBASE_DATABASE_URL": db_url,
        "CITYBASE_DATA_DIR": str(work / "http-data"),
        "CITYBASE_LOG_LEVEL": "WARNING",
        "BENCH_FULL_DETAIL": "1",
        "PYTHONPATH": str(Path(__file__).parent),
    }
    servers = {}
    for label, (fast, http, loop, workers) in STACKS.items():
        if stacks and not any(label.startswith(prefix) for prefix in stacks):
            continue
        cmd = [sys.executable, "-m", "uvicorn", "bench_tiles_http:bench_app", "--factory", "--host", "127.0.0.1",
               "--port", "{port}", "--http", http, "--loop", loop, "--workers", str(workers),
               "--timeout-worker-healthcheck", "60", "--log-level", "warning", "--no-access-log"]  # fmt: skip
        name = f"cached-{len(servers)}"
        servers[label] = TreeServer(name, cmd, {**env, "BENCH_FASTPATH": "1" if fast else "0"}, work / f"{name}.log")
    runs: dict[str, list[serving.RunResult]] = {}
    started = []
    try:
        for server in servers.values():
            started.append(server.__enter__())
        for label, server in servers.items():  # every tile in every process's memory: warm, then a short run
            for _ in range(STACKS[label][3] * 2):  # connections land on either process
                _warm(server.url, paths)
            drive_wrk(server, paths_file, clients=clients, seconds=3, threads=wrk_threads, gzip=gzip)
        for rnd in range(rounds):
            order = list(servers.items())
            for label, server in order if rnd % 2 == 0 else order[::-1]:
                r = drive_wrk(server, paths_file, clients=clients, seconds=seconds, threads=wrk_threads, gzip=gzip)
                print(f"{label}: {r.rps:.0f} req/s p50 {r.p50_ms:.2f} ms server cores {r.server_cpu} "
                      f"machine {r.machine_cpu} errors {r.errors} load {r.load_avg}", flush=True)  # fmt: skip
                runs.setdefault(label, []).append(r)
    finally:
        for server in started:
            server.stop()
    return {k: serving.combine(v) for k, v in runs.items()}


def main() -> None:
    import argparse
    import json

    ap = argparse.ArgumentParser(
        description="Cached vector tiles over HTTP, stack by stack (fast path, httptools + uvloop, processes): "
        "every stack serves the same tile list from a warm memory cache, driven by wrk; rounds interleaved."
    )
    ap.add_argument("--db", required=True, help="an existing citybase database URL (read only)")
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--per-zoom", type=int, default=60)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--gzip", action="store_true", help="send Accept-Encoding: gzip, as browsers do")
    ap.add_argument("--stacks", help="only the stacks whose label starts with one of these (comma separated)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    from bench_tiles import CENTRAL, ZOOMS, tiles_over

    tiles = tiles_over(CENTRAL, ZOOMS, args.per_zoom)
    print(f"{len(tiles)} tiles, load average {os.getloadavg()}", flush=True)
    results = cached_stacks(
        db_url=args.db,
        work=args.work,
        tiles=tiles,
        clients=args.clients,
        seconds=args.seconds,
        rounds=args.rounds,
        wrk_threads=args.wrk_threads,
        stacks=args.stacks.split(",") if args.stacks else None,
        gzip=args.gzip,
    )
    for label, r in results.items():
        print(f"{label}: {r['rps']:.0f} req/s (p50 {r['p50_ms']:.2f} ms, server cores {r['server_cpu']})")
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
