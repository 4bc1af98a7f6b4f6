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
CHUNK = 1000  # rows checked together by ObjectService.check_many (and a progress step)
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


@dataclass(slots=True)
class _Staged:
    record: int
    new: NewObject
    issues: list[Issue]
    fixes: list[str]
    key: str | None
    address: str | None


def _stage(
    table: SourceTable,
    i: int,
    geom: BaseGeometry | None,
    parse_fixes: list[str],
    parse_issue: Issue | None,
    fixed: tuple[BaseGeometry, list[str]] | GeometryRejected | None,
    p: MappingPlan,
    cls: ObjectClass,
    opts: ImportOptions,
    types: Counter[str],
    department_id: int | None,
) -> _Staged:
    """One row's own checks (geometry parse and repair, attribute values, key length) and its object."""
    record, row = i + 1, table.rows[i]
    row_issues = [parse_issue] if parse_issue is not None else []
    fixes = list(parse_fixes)
    if geom is not None and not row_issues:
        types[geom.geom_type] += 1
        if isinstance(fixed, GeometryRejected):
            row_issues.append(Issue("geometry", str(fixed), record))
        elif fixed is not None:
            geom, more = fixed
            fixes += more
    attributes, value_issues = map_row(row, p, cls, record)
    row_issues += value_issues
    if value_issues and geom is not None and not any(x.field == "geometry" for x in row_issues):
        # objects.check_many checks the geometry of clean rows; a row rejected already is checked
        # here so that its report lists every problem at once.
        try:
            check_geometry(geom, record=record)
        except InvalidInputError as exc:
            row_issues.extend(exc.issues)
    key = _text(row.get(p.key)) if p.key else None
    if key is not None and len(key) > 200:
        row_issues.append(Issue(p.key or "key", f"key of {len(key)} characters; at most 200", record))
    address = _text(row.get(p.address)) if p.address else None
    name = _text(row.get(p.name)) if p.name else None
    new = NewObject(
        class_code=cls.code,
        name=name or key or f"{opts.layer} #{record}",
        geometry=geom if not row_issues else None,
        attributes=attributes,
        department_id=department_id,
    )
    return _Staged(record, new, row_issues, fixes, key, address)


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
    for lo in range(0, n, CHUNK):
        # Each chunk: the row's own checks, then ObjectService.check_many over the chunk's clean rows
        # (array geometry checks, one timestamp), then keys and the verdict in file order.
        staged: list[_Staged] = []
        for i in range(lo, min(lo + CHUNK, n)):
            fixed = repairs[i]
            staged.append(
                _stage(table, i, geoms[i], parse_repairs[i], issues.get(i), fixed, p, cls, opts, types, department_id)
            )
        clean = [s for s in staged if not s.issues]
        _, problems = objects.check_many(conn, actor, [s.new for s in clean], [s.record for s in clean], depts)
        checked = {clean[j].record: found for j, found in problems.items()}
        for s in staged:
            row_issues = s.issues
            if s.key is not None and len(s.key) <= 200 and s.key in seen_keys:
                row_issues.append(Issue(p.key or "key", f"key {s.key!r} also on row {seen_keys[s.key]}", s.record))
            if not row_issues:
                row_issues = checked.get(s.record, [])
            i = s.record - 1
            if row_issues:
                rejected += [
                    {"row": s.record, "fid": table.fids[i], "field": x.field, "reason": x.reason} for x in row_issues
                ]
                continue
            if s.key is not None:
                seen_keys[s.key] = s.record
            if s.fixes:
                repaired.append({"row": s.record, "fid": table.fids[i], "repairs": s.fixes})
            row = table.rows[i]
            extra = {c: row[c] for c in p.kept if row.get(c) is not None} or None
            prepared.append(Prepared(s.record, s.new, s.key, s.address, extra))
        progress(min(lo + CHUNK, n), n)
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
