"""Helpers of the import tests: write fixture files with pyogrio and run an import to its end."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from pyogrio.raw import write

from citybase.domains.access import SYSTEM, Actor
from citybase.domains.imports import ImportOptions, ImportRun
from citybase.platform import Platform
from tests.helpers import ORIGIN

DRIVERS = {".geojson": "GeoJSON", ".gpkg": "GPKG", ".shp": "ESRI Shapefile", ".xlsx": "XLSX", ".csv": "CSV"}


def write_file(
    path: Path,
    geoms: list[Any] | None,
    fields: dict[str, list[Any]],
    *,
    crs: str | None = "EPSG:4490",
    encoding: str | None = None,
    **options: Any,
) -> Path:
    """Write features (shapely geometries, or none) and columns with GDAL's driver for ``path``'s suffix."""
    names = list(fields)
    arrays = [np.array(fields[n], dtype=object if isinstance(fields[n][0], str) else None) for n in names]
    wkb = None if geoms is None else np.array(shapely.to_wkb(np.array(geoms, dtype=object)), dtype=object)
    types = {g.geom_type for g in geoms or []}
    gtype = None if geoms is None else (types.pop() if len(types) == 1 else "Unknown")
    write(
        str(path), wkb, arrays, names, geometry_type=gtype, crs=crs if geoms is not None else None,
        driver=DRIVERS[path.suffix], encoding=encoding, **options,
    )  # fmt: skip
    return path


def footprints(n: int, dx: float = 0.001) -> list[Any]:
    return [
        shapely.box(ORIGIN[0] + i * dx, ORIGIN[1], ORIGIN[0] + i * dx + 0.0003, ORIGIN[1] + 0.0002) for i in range(n)
    ]


def import_file(
    platform: Platform, path: Path, *, actor: Actor = SYSTEM, run_jobs: bool = True, **options: Any
) -> ImportRun:
    """Submit an import, run the job queue, and return the import as it ended."""
    options.setdefault("layer", "dataset")
    with ExitStack() as stack:
        staged = platform.imports.stage([(p.name, stack.enter_context(p.open("rb"))) for p in _parts(path)])
    run = platform.imports.submit(actor, staged, ImportOptions(**options), file_name=path.name)
    if run_jobs:
        platform.jobs.run_pending()
    return platform.imports.get(SYSTEM, run.id)


def _parts(path: Path) -> list[Path]:
    if path.suffix != ".shp":
        return [path]
    return [path, *sorted(p for p in path.parent.glob(f"{path.stem}.*") if p != path)]


def layer_objects(platform: Platform, layer: str) -> list[Any]:
    from citybase.domains.layers import FeatureQuery

    lyr = platform.layers.get(SYSTEM, layer)
    return platform.layers.features(lyr, SYSTEM, FeatureQuery(limit=1000)).items
