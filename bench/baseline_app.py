"""The plain handler the request benchmark compares citybase with (bench only, not part of the product).

A minimal Starlette app that answers the two benchmarked requests with raw SQL through the same
driver citybase uses and returns the same JSON shape:

- ``GET /api/objects/{id}`` — one row by primary key;
- ``GET /api/objects?bbox=minx,miny,maxx,maxy&limit=N&f=geojson`` — a FeatureCollection of the rows
  whose box meets the bbox, ordered by id: via the R*Tree table on SQLite (geometry WKB → GeoJSON
  with shapely), via ``&&`` + ``ST_AsGeoJSON`` on PostGIS.

Handlers are plain ``def`` functions, so Starlette runs them in its thread pool, as FastAPI runs
citybase's; each worker thread keeps one connection. Configure with ``BENCH_DATABASE_URL``
(``sqlite:////path/file.db`` or ``postgresql://…``) and serve with uvicorn.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from typing import Any

import shapely
from shapely.geometry import mapping
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

URL = os.environ.get("BENCH_DATABASE_URL", "")
POSTGIS = URL.startswith(("postgresql://", "postgres://"))
SQLITE_PATH = URL.removeprefix("sqlite:///")
COLUMNS = "id, code, class_code, name, {geom}, attributes, department_id, parent_id, state, valid_from, valid_to, "
COLUMNS += "version, updated_at, updated_by"
_local = threading.local()


def _connection() -> Any:
    con = getattr(_local, "con", None)
    if con is None:
        if POSTGIS:
            import psycopg

            con = psycopg.connect(URL, autocommit=True)
        else:
            con = sqlite3.connect(SQLITE_PATH, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA busy_timeout=30000")
        _local.con = con
    return con


def _sqlite_time(value: str | None) -> str | None:
    return None if value is None else value.replace(" ", "T") + "Z"


def _pg_time(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _object(row: tuple) -> dict[str, Any]:
    (oid, code, class_code, name, geom, attrs, dept, parent, state, vfrom, vto, version, updated, by) = row
    if POSTGIS:
        geometry = json.loads(geom) if geom is not None else None
        t = _pg_time
    else:
        geometry = mapping(shapely.from_wkb(geom)) if geom is not None else None
        attrs = json.loads(attrs)
        t = _sqlite_time  # type: ignore[assignment]
    return {
        "id": oid,
        "code": code,
        "class_code": class_code,
        "name": name,
        "geometry": geometry,
        "attributes": attrs,
        "department_id": dept,
        "parent_id": parent,
        "state": state,
        "valid_from": t(vfrom),
        "valid_to": t(vto),
        "version": version,
        "updated_at": t(updated),
        "updated_by": by,
    }


def feature_by_id(request: Request) -> JSONResponse:
    try:
        object_id = int(request.path_params["object_id"])
    except ValueError:
        return JSONResponse({"title": "bad id"}, status_code=422)
    if POSTGIS:
        sql = f"SELECT {COLUMNS.format(geom='ST_AsGeoJSON(geom)')} FROM city_object WHERE id = %s"
    else:
        sql = f"SELECT {COLUMNS.format(geom='geom')} FROM city_object WHERE id = ?"
    row = _connection().execute(sql, (object_id,)).fetchone()
    if row is None:
        return JSONResponse({"title": "not found"}, status_code=404)
    return JSONResponse(_object(row))


def bbox_query(request: Request) -> JSONResponse:
    try:
        minx, miny, maxx, maxy = (float(v) for v in request.query_params["bbox"].split(","))
        limit = int(request.query_params.get("limit", "100"))
    except (KeyError, ValueError):
        return JSONResponse({"title": "bad bbox"}, status_code=422)
    if POSTGIS:
        sql = (
            f"SELECT {COLUMNS.format(geom='ST_AsGeoJSON(geom)')} FROM city_object "
            "WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4490) ORDER BY id LIMIT %s"
        )
        params: tuple = (minx, miny, maxx, maxy, limit)
    else:
        cols = ", ".join(f"o.{c.strip()}" for c in COLUMNS.format(geom="geom").split(","))
        sql = (
            f"SELECT {cols} FROM city_object_rtree r JOIN city_object o ON o.id = r.id "
            "WHERE r.minx <= ? AND r.maxx >= ? AND r.miny <= ? AND r.maxy >= ? ORDER BY o.id LIMIT ?"
        )
        params = (maxx, minx, maxy, miny, limit)
    features = []
    for row in _connection().execute(sql, params).fetchall():
        props = _object(row)
        geometry = props.pop("geometry")
        features.append({"type": "Feature", "id": props["id"], "geometry": geometry, "properties": props})
    return JSONResponse({"type": "FeatureCollection", "features": features, "numberReturned": len(features)})


app = Starlette(
    routes=[
        Route("/api/objects", bbox_query),
        Route("/api/objects/{object_id}", feature_by_id),
        Route("/health", lambda request: JSONResponse({"status": "ok"})),
    ]
)
