"""SQLite vector tiles: an R*Tree bbox query, then shapely + the numpy MVT encoder.

Only the needed columns are fetched (geometry as raw WKB, attribute values through ``json_extract``),
all geometries of a layer are parsed by one vectorised ``shapely.from_wkb``, and
:func:`citybase.standards.mvt.encode_layer` clips, simplifies and encodes the layer in numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection, LargeBinary, Table, func, literal_column, select

from citybase.standards.mvt import LayerData, encode_layer, tile_bounds
from citybase.store.dialects.sqlite import rtree_name

RTREE_FIRST_ZOOM = 14


def _rtree(table: Table) -> Any:
    from sqlalchemy import column
    from sqlalchemy import table as lightweight_table

    return lightweight_table(
        rtree_name(table.name), column("id"), column("minx"), column("maxx"), column("miny"), column("maxy")
    )


def _integral(values: Sequence[Any]) -> list[Any]:
    # PostGIS writes a jsonb number with no fraction as an integer; do the same so both databases agree.
    return [int(v) if type(v) is float and v.is_integer() else v for v in values]


def render_mvt(
    conn: Connection, table: Table, tile: tuple[int, int, int], layers: Sequence[Any], extent: int, buffer: int
) -> bytes:
    z, x, y = tile
    minx, miny, maxx, maxy = tile_bounds(z, x, y, crs="EPSG:4490", buffer=buffer, extent=extent)
    rt = _rtree(table)
    box = (rt.c.minx <= maxx, rt.c.maxx >= minx, rt.c.miny <= maxy, rt.c.maxy >= miny)
    parts = []
    for spec in layers:
        cols: list[Any] = [table.c.id, literal_column(f"{table.name}.geom", LargeBinary)]
        cols += [table.c[c] for c in spec.columns]
        cols += [func.json_extract(table.c.attributes, f'$."{k}"') for k in spec.attributes]
        q = select(*cols).select_from(table.join(rt, rt.c.id == table.c.id)).where(*box)
        if spec.where is not None and z >= RTREE_FIRST_ZOOM:
            # A small box: walk the R*Tree and look rows up by id, rather than walking an index of the where
            # clause (all objects of a class) and probing the R*Tree for each; wrapping the clause in a
            # function keeps SQLite's planner from using an index for it.
            q = q.where(func.coalesce(spec.where, False))
        elif spec.where is not None:
            q = q.where(spec.where)
        rows = conn.execute(q).all()
        if not rows:
            continue
        columns = list(zip(*rows, strict=True))
        wkb = np.array(columns[1], dtype=object)
        geoms = shapely.from_wkb(wkb)
        keys = list(spec.columns) + list(spec.attributes)
        values = columns[2 : 2 + len(spec.columns)] + [_integral(c) for c in columns[2 + len(spec.columns) :]]
        properties = [dict(zip(keys, r, strict=True)) for r in zip(*values, strict=True)] if keys else None
        layer = LayerData(spec.name, geoms, ids=np.array(columns[0], dtype=np.uint64), properties=properties)
        layer.crs = "EPSG:4490"
        parts.append(encode_layer(layer, extent, tile=tile, buffer=buffer, simplify_px=spec.simplify_px or None))
    return b"".join(parts)
