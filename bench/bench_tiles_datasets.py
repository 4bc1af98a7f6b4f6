"""Uncached tiles of a dataset layer (members only), of one of its versions, and of its class, per database.

    .venv/bin/python bench/bench_tiles_datasets.py --n 5000 --db sqlite \
        --db postgresql://citybase@127.0.0.1:54329/<an empty, migrated database>

Per database: ``n`` buildings of class 050101 that are not in the layer, a dataset layer imported from a
GeoPackage of ``n`` more buildings (version 1), re-imported with a tenth of them changed (version 2).
Then every z14–z16 tile over the area is rendered uncached (memory cache of 0 bytes, no disk) through
``TileService``: the class tileset (2n buildings), the layer now (n members) and ``?version=1``.
Prints milliseconds per tile (median and mean) and the features checked against the expected members.
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write

from citybase.domains.access import SYSTEM
from citybase.domains.imports import ImportOptions
from citybase.domains.objects import NewObject
from citybase.domains.tiles import TileCache
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.standards.mvt import decode_tile

X0, Y0, DX, DY = 112.10, 32.00, 0.0005, 0.0004


def grid(n: int, shift: float) -> np.ndarray:
    side = math.ceil(math.sqrt(n))
    i = np.arange(n)
    x, y = X0 + (i % side) * DX + shift, Y0 + (i // side) * DY
    return np.asarray(shapely.box(x, y, x + 0.0002, y + 0.00015))


def gpkg(path: Path, n: int, floors: np.ndarray) -> Path:
    boxes = grid(n, 0.0)
    keys = np.array([f"B{k}" for k in range(n)], dtype=object)
    write(str(path), np.array(shapely.to_wkb(boxes), dtype=object), [keys, floors], ["编号", "层数"],
          geometry_type="Polygon", crs="EPSG:4490", driver="GPKG")  # fmt: skip
    return path


def run_import(platform: Platform, path: Path, **opts: object) -> None:
    with ExitStack() as stack:
        staged = platform.imports.stage([(path.name, stack.enter_context(path.open("rb")))])
    platform.imports.submit(SYSTEM, staged, ImportOptions(layer="bench", **opts), file_name=path.name)  # type: ignore[arg-type]
    platform.jobs.run_pending()


def tiles(n: int) -> list[tuple[int, int, int]]:
    side = math.ceil(math.sqrt(n))
    x1, y1 = X0 + side * DX, Y0 + side * DY
    out = []
    for z in (14, 15, 16):
        k = 1 << z

        def col(lon: float, k: int = k) -> int:
            return int((lon + 180) / 360 * k)

        def row(lat: float, k: int = k) -> int:
            return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * k)

        out += [(z, x, y) for x in range(col(X0), col(x1) + 1) for y in range(row(y1), row(Y0) + 1)]
    return out


def bench(db: str, n: int, work: Path) -> None:
    url = f"sqlite:///{work / 'bench.db'}" if db == "sqlite" else db
    platform = Platform(load_settings(data_dir=work / "data", database_url=url, job_workers=0, log_json=False))
    platform.init(admin_password="bench-password-1")
    others = [NewObject(class_code="050101", name=f"other {i}", geometry=g, attributes={"floors": 2})
              for i, g in enumerate(grid(n, 0.00025))]  # fmt: skip
    platform.objects.create_many(SYSTEM, others, validate=False)
    floors = np.full(n, 5, dtype=np.int64)
    run_import(
        platform, gpkg(work / "v1.gpkg", n, floors), class_code="050101", mapping={"编号": "key", "层数": "floors"}
    )
    floors[::10] = 9
    run_import(platform, gpkg(work / "v2.gpkg", n, floors))
    lyr = platform.layers.get(SYSTEM, "bench")
    service = platform.tiles
    service.cache = TileCache(None, 0)  # nothing is kept: every tile is rendered
    cases = {
        "class 050101 (2n)": lambda t: service.tile("050101", *t),
        "layer now (n)": lambda t: service.layer_tile(lyr, *t),
        "layer ?version=1 (n)": lambda t: service.layer_tile(lyr, t[0], t[1], t[2], version=1),
    }
    todo = tiles(n)
    print(f"{platform.store.name}: {n} members + {n} other buildings, {len(todo)} tiles z14-z16")
    for name, fn in cases.items():
        for t in todo[:5]:
            fn(t)  # warm up (statement compile, prepared statements)
        times, features = [], 0
        for t in todo:
            t0 = time.perf_counter()
            tile = fn(t)
            times.append((time.perf_counter() - t0) * 1000)
            if tile.data:
                features += len(decode_tile(tile.data)["050101"]["features"])
        print(f"  {name:22} median {statistics.median(times):7.2f} ms  mean {statistics.fmean(times):7.2f} ms"
              f"  features {features}")  # fmt: skip
    platform.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--db", action="append", default=None, help="sqlite (default) or a PostgreSQL URL")
    args = ap.parse_args()
    for db in args.db or ["sqlite"]:
        with tempfile.TemporaryDirectory() as tmp:
            bench(db, args.n, Path(tmp))


if __name__ == "__main__":
    main()
