"""Benchmark: citybase's numpy MVT encoder vs mapbox-vector-tile (PyPI) on the same z15 tile.

Run:  .venv/bin/python bench/bench_mvt.py [ROUNDS]

Builds one z15 tile over Xiangyang (15/26975/13254) holding 2,000 building polygons (6–10 vertices),
500 lines (10–30 vertices) and 2,000 points, in EPSG:3857, scattered over the tile and a margin
around it (so some features cross the edge and some lie outside), each with a few Chinese and
numeric properties. Both encoders get the same shapely geometries and produce a clipped (64 px
buffer), quantised 4096-extent tile:

- citybase: ``encode_tile(..., tile=(z, x, y))`` does clip + transform + quantise + encode;
- mapbox-vector-tile: ``shapely.clip_by_rect`` (vectorised) on the buffered tile, then
  ``mapbox_vector_tile.encode`` with ``quantize_bounds`` = tile bounds (it does not clip itself).

It also times citybase on the same data in lon/lat (what the SQLite store holds). The candidates run
interleaved, round by round (3 runs each per round), and the best time of each counts (ROUNDS,
default 5). Prints wall-clock and process CPU time (the CPU figure is the steadier one on a shared
machine), tiles/s, the speed-ups, and the features per layer of both tiles; it asserts nothing.
mapbox-vector-tile comes with the ``test`` extra (or ``.venv/bin/pip install mapbox-vector-tile``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import shapely

try:
    from citybase.kernel.errors import InvalidInputError
    from citybase.standards.mvt import LayerData, decode_tile, encode_tile, tile_bounds
except ImportError:  # running from a checkout without an installed package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from citybase.kernel.errors import InvalidInputError
    from citybase.standards.mvt import LayerData, decode_tile, encode_tile, tile_bounds

Z, X, Y = 15, 26975, 13254  # around 112.15°E 32.04°N
EXTENT, BUFFER = 4096, 64
CLASSES = ["住宅", "商业", "办公", "学校", "医院", "工业"]
ROADS = ["主干路", "次干路", "支路", "快速路"]
POIS = ["公交站", "餐饮", "银行", "药店", "超市"]


def make_data(seed: int = 20240601) -> dict[str, tuple[np.ndarray, list[int], list[dict[str, Any]]]]:
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = tile_bounds(Z, X, Y)
    w = x1 - x0
    lo_x, hi_x, lo_y, hi_y = x0 - 0.1 * w, x1 + 0.1 * w, y0 - 0.1 * w, y1 + 0.1 * w

    buildings = []
    for _ in range(2000):
        n = int(rng.integers(6, 11))
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        r = rng.uniform(6, 25) * rng.uniform(0.6, 1.0, n)
        cx, cy = rng.uniform(lo_x, hi_x), rng.uniform(lo_y, hi_y)
        buildings.append(shapely.Polygon(np.c_[cx + r * np.cos(ang), cy + r * np.sin(ang)]))
    lines = []
    for _ in range(500):
        n = int(rng.integers(10, 31))
        steps = rng.normal(0, 40, (n, 2))
        start = rng.uniform([lo_x, lo_y], [hi_x, hi_y])
        lines.append(shapely.LineString(start + np.cumsum(steps, axis=0)))
    pts = shapely.points(rng.uniform([lo_x, lo_y], [hi_x, hi_y], (2000, 2)))

    b_props = [
        {"name": f"{i}号楼", "class": CLASSES[i % 6], "height": round(float(rng.uniform(3, 120)), 1), "floors": i % 33}
        for i in range(2000)
    ]
    l_props = [{"name": f"路{i}", "class": ROADS[i % 4], "lanes": 2 + i % 4} for i in range(500)]
    p_props = [{"name": f"兴趣点{i}", "kind": POIS[i % 5]} for i in range(2000)]
    return {
        "buildings": (np.array(buildings, dtype=object), list(range(1, 2001)), b_props),
        "roads": (np.array(lines, dtype=object), list(range(1, 501)), l_props),
        "pois": (pts, list(range(1, 2001)), p_props),
    }


def ours(data: dict[str, Any], crs: str = "EPSG:3857") -> bytes:
    layers = [LayerData(name, g, ids, props, crs=crs) for name, (g, ids, props) in data.items()]
    return encode_tile(layers, EXTENT, tile=(Z, X, Y), buffer=BUFFER)


def theirs(data: dict[str, Any]) -> bytes:
    import mapbox_vector_tile

    x0, y0, x1, y1 = tile_bounds(Z, X, Y, buffer=BUFFER)
    layers = []
    for name, (g, ids, props) in data.items():
        clipped = shapely.clip_by_rect(g, x0, y0, x1, y1)
        feats = [
            {"geometry": c, "id": i, "properties": p}
            for c, i, p in zip(clipped, ids, props, strict=True)
            if not c.is_empty
        ]
        layers.append({"name": name, "features": feats})
    options = {"quantize_bounds": tile_bounds(Z, X, Y), "extents": EXTENT}
    return mapbox_vector_tile.encode(layers, default_options=options)


def main(rounds: int = 5) -> None:
    data = make_data()
    lonlat = {}
    for name, (g, ids, props) in data.items():
        to_ll = shapely.transform(
            g,
            lambda c: np.c_[
                np.degrees(c[:, 0] / 6378137.0), np.degrees(2 * np.arctan(np.exp(c[:, 1] / 6378137.0)) - np.pi / 2)
            ],
        )
        lonlat[name] = (to_ll, ids, props)
    nverts = sum(len(shapely.get_coordinates(g)) for g, _, _ in data.values())
    print(f"tile {Z}/{X}/{Y}: 2,000 polygons + 500 lines + 2,000 points, {nverts:,} vertices, buffer {BUFFER} px")
    try:
        import mapbox_vector_tile
    except ImportError:
        mapbox_vector_tile = None
        print("mapbox-vector-tile is not installed (.venv/bin/pip install mapbox-vector-tile): timing citybase only")

    runs: dict[str, Callable[[], bytes]] = {
        "citybase (EPSG:3857 in)": lambda: ours(data),
        "citybase (lon/lat in)": lambda: ours(lonlat, "EPSG:4326"),
    }
    if mapbox_vector_tile is not None:
        runs["mapbox-vector-tile"] = lambda: theirs(data)
    wall = dict.fromkeys(runs, float("inf"))
    cpu = dict.fromkeys(runs, float("inf"))
    out = {label: fn() for label, fn in runs.items()}  # warm-up
    # Interleave the candidates round by round so that load from other processes hits all of them alike.
    for _ in range(rounds):
        for label, fn in runs.items():
            for _ in range(3):
                t0, c0 = time.perf_counter(), time.process_time()
                fn()
                wall[label] = min(wall[label], time.perf_counter() - t0)
                cpu[label] = min(cpu[label], time.process_time() - c0)
    for label in runs:
        print(
            f"{label:24s}: {wall[label] * 1e3:8.2f} ms wall {1 / wall[label]:7.1f} tiles/s | "
            f"{cpu[label] * 1e3:8.2f} ms CPU {1 / cpu[label]:7.1f} tiles/s | {len(out[label]):,} bytes"
        )
    if mapbox_vector_tile is None:
        return
    ours_3857, ours_ll = "citybase (EPSG:3857 in)", "citybase (lon/lat in)"
    for what, t in (("wall", wall), ("CPU", cpu)):
        ref = t["mapbox-vector-tile"]
        print(
            f"speed-up vs mapbox-vector-tile ({what}): {ref / t[ours_3857]:.1f}x (EPSG:3857 in), "
            f"{ref / t[ours_ll]:.1f}x (lon/lat in)"
        )
    a = mapbox_vector_tile.decode(out["citybase (EPSG:3857 in)"])
    b = mapbox_vector_tile.decode(out["mapbox-vector-tile"])
    counts = {name: (len(a[name]["features"]), len(b[name]["features"])) for name in data}
    print(f"features per layer (citybase, mapbox-vector-tile): {counts}")
    try:
        decode_tile(out["mapbox-vector-tile"])
    except InvalidInputError as exc:
        print(f"note: citybase's strict decoder rejects the mapbox-vector-tile output: {exc}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
