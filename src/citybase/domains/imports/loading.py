"""Turn a read file into checked new objects and a validation report (no database writes here).

Every row is checked and every problem is reported with its row number (1 = the first feature of the
file; the CSV header line is not counted), the file's feature id, the field and the reason. Rows
with problems are rejected; the others load.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Connection

from citybase.domains.access import Actor
from citybase.domains.imports.geometry import GeometryRejected, parse_many, repair_many
from citybase.domains.imports.mapping import MappingPlan, map_row, plan
from citybase.domains.imports.model import ImportOptions
from citybase.domains.imports.readers import SourceTable
from citybase.domains.imports.sourcecrs import check_plausible, resolve_crs
from citybase.domains.objects import NewObject, ObjectClass, ObjectService
from citybase.kernel.crs import transform_geometry
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import check_geometry

LON_COLUMNS = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_COLUMNS = ("lat", "latitude", "y", "纬度")
MAX_LISTED = 10_000  # rejected / repaired rows listed in a report (the counts are always complete)
Progress = Callable[[int, int], None]


@dataclass(slots=True)
class Prepared:
    row: int
    new: NewObject
    key: str | None
    raw_address: str | None
    extra: dict[str, Any] | None


@dataclass(slots=True)
class Preparation:
    rows: list[Prepared]
    report: dict[str, Any]
    rejected: list[dict[str, Any]] = field(default_factory=list)


def _column(columns: list[str], given: str | None, defaults: tuple[str, ...], what: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise InvalidInputError("bad option", issues=[Issue(what, f"no column {given!r}; columns: {columns}")])
        return given
    lower = {c.lower(): c for c in columns}
    return next((lower[d] for d in defaults if d in lower), None)


def _points(table: SourceTable, lon: str, lat: str) -> tuple[list[BaseGeometry | None], dict[int, Issue]]:
    geoms: list[BaseGeometry | None] = []
    issues: dict[int, Issue] = {}
    for i, row in enumerate(table.rows):
        try:
            x, y = float(str(row[lon]).strip()), float(str(row[lat]).strip())
            if not (np.isfinite(x) and np.isfinite(y)):
                raise ValueError
            geoms.append(shapely.Point(x, y))
        except (TypeError, ValueError):
            geoms.append(None)
            issues[i] = Issue(f"{lon}/{lat}", f"coordinates {row[lon]!r}, {row[lat]!r} are not numbers", i + 1)
    return geoms, issues


def _geometries(
    table: SourceTable, opts: ImportOptions, cls: ObjectClass
) -> tuple[list[BaseGeometry | None], dict[int, Issue], list[list[str]], set[str]]:
    """Per row: geometry as in the file (None when it has none), parse problems, parse repairs; used columns."""
    n = len(table.rows)
    if table.format in ("csv", "xlsx"):
        lon = _column(table.columns, opts.lon_column, LON_COLUMNS, "lon_column")
        lat = _column(table.columns, opts.lat_column, LAT_COLUMNS, "lat_column")
        if lon and lat:
            geoms, issues = _points(table, lon, lat)
            return geoms, issues, [[] for _ in range(n)], {lon, lat}
        if not any(table.wkb):
            return [None] * n, {}, [[] for _ in range(n)], set()
        used = {c for c in table.columns if c.lower() in ("wkt", "geometry")}  # GDAL read geometry from it
        geoms, issues, repairs = _parsed(table)
        return geoms, issues, repairs, used
    geoms, issues, repairs = _parsed(table)
    return geoms, issues, repairs, set()


def _parsed(table: SourceTable) -> tuple[list[BaseGeometry | None], dict[int, Issue], list[list[str]]]:
    geoms: list[BaseGeometry | None] = []
    issues: dict[int, Issue] = {}
    repairs: list[list[str]] = []
    for i, parsed in enumerate(parse_many(table.wkb)):
        g: BaseGeometry | None
        fixed: list[str]
        if isinstance(parsed, GeometryRejected):
            g, fixed = None, []
            issues[i] = Issue("geometry", str(parsed), i + 1)
        else:
            g, fixed = parsed
        geoms.append(g)
        repairs.append(fixed)
    return geoms, issues, repairs


def _to_cgcs2000(
    table: SourceTable, opts: ImportOptions, geoms: list[BaseGeometry | None]
) -> tuple[list[BaseGeometry | None], dict[str, Any]]:
    present = [i for i, g in enumerate(geoms) if g is not None and not g.is_empty]
    if not present:
        return geoms, {"crs": None, "crs_source": "no geometry"}
    arr = np.array([geoms[i] for i in present], dtype=object)
    coords = shapely.get_coordinates(arr)
    crs, source = resolve_crs(opts.crs, table.crs, coords[:, 0], coords[:, 1])
    check_plausible(crs, coords[:, 0], coords[:, 1])
    moved = transform_geometry(arr, crs)
    out = list(geoms)
    for j, i in enumerate(present):
        out[i] = moved[j]
    return out, {"crs": crs.name, "crs_title": crs.title, "crs_source": source}


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def prepare(
    conn: Connection,
    objects: ObjectService,
    actor: Actor,
    table: SourceTable,
    cls: ObjectClass,
    opts: ImportOptions,
    mapping: dict[str, str],
    mapping_source: str,
    department_id: int | None,
    progress: Progress,
) -> Preparation:
    """Check every row; raise InvalidInputError only for whole-file problems (CRS, unknown columns)."""
    geoms, issues, parse_repairs, coord_cols = _geometries(table, opts, cls)
    geoms, crs_report = _to_cgcs2000(table, opts, geoms)
    p: MappingPlan = plan(table.columns, cls, mapping, opts.unknown, coord_cols)
    if table.format in ("csv", "xlsx") and p.address is None and not any(g is not None for g in geoms):
        raise InvalidInputError(
            "no location",
            issues=[Issue("columns", f"no coordinate columns (lon/lng/x/经度, lat/y/纬度; or lon_column/lat_column) "
                                     f"and no address column (address/地址); columns: {table.columns}")],
        )  # fmt: skip
    depts = objects.departments(conn)
    prepared: list[Prepared] = []
    rejected: list[dict[str, Any]] = []
    repaired: list[dict[str, Any]] = []
    types: Counter[str] = Counter()
    seen_keys: dict[str, int] = {}
    n = len(table.rows)
    repairs = repair_many(geoms)  # rows with parse issues have no geometry, so nothing to repair
    for i, row in enumerate(table.rows):
        record = i + 1
        row_issues = [issues[i]] if i in issues else []
        geom, fixes = geoms[i], list(parse_repairs[i])
        if geom is not None and not row_issues:
            types[geom.geom_type] += 1
            fixed = repairs[i]
            if isinstance(fixed, GeometryRejected):
                row_issues.append(Issue("geometry", str(fixed), record))
            elif fixed is not None:
                geom, more = fixed
                fixes += more
        attributes, value_issues = map_row(row, p, cls, record)
        row_issues += value_issues
        if value_issues and geom is not None and not any(x.field == "geometry" for x in row_issues):
            # objects.check (below) checks the geometry of clean rows; a row rejected already is
            # checked here so that its report lists every problem at once.
            try:
                check_geometry(geom, record=record)
            except InvalidInputError as exc:
                row_issues.extend(exc.issues)
        key = _text(row.get(p.key)) if p.key else None
        if key is not None and len(key) > 200:
            row_issues.append(Issue(p.key or "key", f"key of {len(key)} characters; at most 200", record))
        elif key is not None and key in seen_keys:
            row_issues.append(Issue(p.key or "key", f"key {key!r} also on row {seen_keys[key]}", record))
        address = _text(row.get(p.address)) if p.address else None
        name = _text(row.get(p.name)) if p.name else None
        new = NewObject(
            class_code=cls.code,
            name=name or key or f"{opts.layer} #{record}",
            geometry=geom if not row_issues else None,
            attributes=attributes,
            department_id=department_id,
        )
        if not row_issues:
            try:
                objects.check(conn, actor, new, record, depts)
            except InvalidInputError as exc:
                row_issues.extend(exc.issues)
        if row_issues:
            rejected += [
                {"row": record, "fid": table.fids[i], "field": x.field, "reason": x.reason} for x in row_issues
            ]
        else:
            if key is not None:
                seen_keys[key] = record
            if fixes:
                repaired.append({"row": record, "fid": table.fids[i], "repairs": fixes})
            extra = {c: row[c] for c in p.kept if row.get(c) is not None} or None
            prepared.append(Prepared(record, new, key, address, extra))
        if record % 1000 == 0 or record == n:
            progress(record, n)
    rejected_rows = len({r["row"] for r in rejected})
    report = {
        "format": table.format,
        "source_layer": table.layer,
        "notes": table.notes,
        **crs_report,
        "rows_read": n,
        "loaded": len(prepared),
        "repaired": len(repaired),
        "rejected": rejected_rows,
        "repairs": repaired[:MAX_LISTED],
        "issues": rejected[:MAX_LISTED],
        "issues_listed": min(len(rejected), MAX_LISTED),
        "issues_total": len(rejected),
        "geometry_types": dict(types),
        "geometry_policy": (
            f"class {cls.code} ({cls.name}) takes {cls.geometry_type or 'any geometry'}"
            + (f" or Multi{cls.geometry_type.removeprefix('Multi')}" if cls.geometry_type else "")
            + "; rows of other types are rejected, not split"
        ),
        "mapping": p.report(mapping_source),
        "key_column": p.key,
    }
    return Preparation(prepared, report, rejected)
