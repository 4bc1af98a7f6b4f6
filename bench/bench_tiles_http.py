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
"""

from __future__ import annotations

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
