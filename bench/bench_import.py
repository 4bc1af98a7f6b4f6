"""Import throughput: features per second of ``citybase import`` of a generated GeoPackage of buildings.

    .venv/bin/python bench/bench_import.py --n 100000 --db sqlite \
        --db postgresql://citybase@127.0.0.1:54329/<db> --ogr2ogr

Writes a GeoPackage of ``n`` building footprints (CGCS2000 GK zone 37 without prefix, so the import
also converts coordinates) and imports it into a new dataset layer of each database named by ``--db``
(``sqlite`` = SQLite in a temp dir, the default; repeat the option for several). With ``--ogr2ogr`` it
also times ``ogr2ogr`` loading the same file into the first PostgreSQL database, in the same run, and
prints each import's rate as a share of ogr2ogr's. Results in docs/benchmarks-import.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write

from citybase.domains.access import SYSTEM
from citybase.domains.imports import ImportOptions
from citybase.kernel.crs import from_cgcs2000
from citybase.kernel.settings import load_settings
from citybase.platform import Platform


def make_gpkg(path: Path, n: int) -> None:
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0, y0 = 112.10 + (i % side) * 0.0005, 32.00 + (i // side) * 0.0004
    boxes = shapely.box(x0, y0, x0 + 0.0003, y0 + 0.0002)
    gk = shapely.transform(boxes, lambda c: np.column_stack(from_cgcs2000(c[:, 0], c[:, 1], "EPSG:4546")))
    fields = [
        np.array([f"B{k}" for k in i], dtype=object),
        np.array([f"{k}号楼" for k in i], dtype=object),
        (i % 30 + 1).astype(np.int64),
    ]
    write(
        str(path),
        shapely.to_wkb(gk),
        fields,
        ["编号", "名称", "floors"],
        geometry_type="Polygon",
        crs="EPSG:4546",
        driver="GPKG",
    )


def import_once(gpkg: Path, data_dir: Path, url: str | None) -> tuple[str, int, float, float]:
    """(database, features loaded, seconds, CPU seconds of this process) of one ``citybase import``.

    The CPU time leaves out the database server's work (PostgreSQL runs in its own processes) and is
    steadier than wall time on a shared machine.
    """
    platform = Platform(load_settings(data_dir=data_dir, database_url=url, job_workers=0))
    platform.init(admin_password="bench-password-1")
    try:
        name = f"bench-{int(time.time())}"
        opts = ImportOptions(layer=name, class_code="050101", mapping={"编号": "key", "名称": "name"})
        t0, c0 = time.perf_counter(), time.process_time()
        with gpkg.open("rb") as fh:
            staged = platform.imports.stage([(gpkg.name, fh)])
        run = platform.imports.submit(SYSTEM, staged, opts)
        platform.jobs.run_pending()
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        run = platform.imports.get(SYSTEM, run.id)
        assert run.state == "succeeded", run.report
        return platform.store.name, int((run.report or {})["loaded"]), seconds, cpu
    finally:
        platform.stop()


def ogr2ogr_once(gpkg: Path, url: str) -> float:
    """Seconds of ``ogr2ogr`` copying ``gpkg`` into a new table of ``url``, converted to EPSG:4490."""
    pg = url.replace("postgresql+psycopg://", "postgresql://")
    table = f"ogr_bench_{int(time.time())}"
    t0 = time.perf_counter()
    subprocess.run(
        ["ogr2ogr", "-f", "PostgreSQL", f"PG:{pg}", str(gpkg), "-nln", table, "-t_srs", "EPSG:4490",
         "-lco", "GEOMETRY_NAME=geom"],
        check=True,
    )  # fmt: skip
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20_000)
    ap.add_argument("--db", action="append", help="'sqlite' (a temp dir) or a PostgreSQL URL; repeatable")
    ap.add_argument("--ogr2ogr", action="store_true", help="also time ogr2ogr into the first PostgreSQL database")
    args = ap.parse_args()
    dbs = args.db or ["sqlite"]
    tmp = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        gpkg = tmp / "buildings.gpkg"
        make_gpkg(gpkg, args.n)
        rates: list[tuple[str, float]] = []
        for i, db in enumerate(dbs):
            store, loaded, seconds, cpu = import_once(gpkg, tmp / f"data{i}", None if db == "sqlite" else db)
            rates.append((f"citybase import ({store})", loaded / seconds))
            print(
                f"citybase import: {loaded} features in {seconds:.1f} s = {loaded / seconds:,.0f} features/s "
                f"({store}; {cpu:.1f} s CPU in this process)"
            )
        pg = next((db for db in dbs if db.startswith("postgresql")), None)
        if args.ogr2ogr and pg and shutil.which("ogr2ogr"):
            s2 = ogr2ogr_once(gpkg, pg)
            print(f"ogr2ogr:         {args.n} features in {s2:.1f} s = {args.n / s2:,.0f} features/s")
            for what, rate in rates:
                print(f"{what}: {rate / (args.n / s2):.0%} of ogr2ogr")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
