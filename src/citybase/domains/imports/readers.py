"""Read a department's file through pyogrio/GDAL into one plain table: columns, rows, WKB geometries.

Formats are told by the file name: GeoJSON, GeoPackage, Shapefile (plain or zipped), CSV, XLSX and
OSM (.osm XML and .pbf). Text encodings: a Shapefile's .cpg is honoured (GDAL reads it); without one,
and for CSV, the bytes are checked: valid UTF-8 is read as UTF-8, anything else as GBK (GB18030, its
superset) if it decodes, and the report says which was used and why.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
from pyogrio.raw import read as ogr_read

from citybase.kernel.errors import InvalidInputError, Issue

FORMATS = {
    ".geojson": "geojson",
    ".json": "geojson",
    ".gpkg": "gpkg",
    ".shp": "shapefile",
    ".zip": "shapefile",
    ".csv": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".osm": "osm",
    ".pbf": "osm",
}
# The OSM driver's layer for a class geometry type (override with source_layer).
OSM_LAYERS = {"Point": "points", "LineString": "lines", "Polygon": "multipolygons", None: "points"}


@dataclass(slots=True)
class SourceTable:
    """What a reader found: ``rows[i]`` and ``wkb[i]`` are feature i (``fids[i]`` is its id in the file)."""

    format: str
    layer: str
    columns: list[str]
    rows: list[dict[str, Any]]
    wkb: list[bytes | None]
    fids: list[Any]
    crs: str | None  # as the file declares it (EPSG code or WKT), None when it declares none
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


def _bad(reason: str, what: str = "file") -> InvalidInputError:
    return InvalidInputError("cannot read the file", issues=[Issue(what, reason)])


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _bad(f"unknown file type {path.suffix!r}; one of {sorted(FORMATS)}")
    return fmt


def guess_text_encoding(data: bytes) -> tuple[str, str]:
    """(encoding, why) for text bytes of unknown encoding: UTF-8 if valid, else GBK (GB18030)."""
    try:
        data.decode("utf-8")
        return "UTF-8", "the bytes are valid UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        data.decode("gb18030")
        return "GB18030", "the bytes are not UTF-8 but decode as GBK/GB18030"
    except UnicodeDecodeError as exc:
        raise _bad(f"text is neither UTF-8 nor GBK (byte {exc.start}); add a .cpg file naming the encoding") from None


def _dbf_bytes(path: Path) -> tuple[bytes | None, str | None, str]:
    """(dbf bytes, .cpg text, GDAL path) of a Shapefile, plain or zipped (the first .shp inside)."""
    if path.suffix.lower() != ".zip":
        dbf, cpg = path.with_suffix(".dbf"), path.with_suffix(".cpg")
        if not dbf.exists():
            dbf = path.with_suffix(".DBF")
        return (
            dbf.read_bytes() if dbf.exists() else None,
            cpg.read_text("ascii", "replace").strip() if cpg.exists() else None,
            str(path),
        )
    try:
        with zipfile.ZipFile(path) as z:
            names = z.namelist()
            shp = next((n for n in names if n.lower().endswith(".shp")), None)
            if shp is None:
                raise _bad("the zip file holds no .shp")
            stem = shp[:-4]
            found = {n.lower(): n for n in names}
            dbf_name = found.get(f"{stem}.dbf".lower())
            cpg_name = found.get(f"{stem}.cpg".lower())
            return (
                z.read(dbf_name) if dbf_name else None,
                z.read(cpg_name).decode("ascii", "replace").strip() if cpg_name else None,
                f"/vsizip/{path}/{shp}",
            )
    except zipfile.BadZipFile:
        raise _bad("not a valid zip file") from None


def _dbf_records(data: bytes) -> bytes:
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    return data[header_len:]


def _layer_names(target: str) -> list[str]:
    try:
        return [str(row[0]) for row in pyogrio.list_layers(target)]
    except Exception as exc:  # GDAL raises many kinds for damaged files; all mean "cannot read"
        raise _bad(f"GDAL cannot open it: {str(exc)[:300]}") from None


def _pick_layer(target: str, wanted: str | None, fmt: str, geometry_type: str | None) -> str:
    names = _layer_names(target)
    if not names:
        raise _bad("the file holds no layers")
    if wanted is not None:
        if wanted not in names:
            raise _bad(f"no layer {wanted!r}; the file has {names}", "source_layer")
        return wanted
    if fmt == "osm":
        base = geometry_type.removeprefix("Multi") if geometry_type else None
        return OSM_LAYERS.get(base, "points")
    if len(names) > 1 and fmt in ("gpkg", "xlsx"):
        raise _bad(f"the file has several layers {names}; name one (source_layer)", "source_layer")
    return names[0]


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN: a missing number
        return None
    if isinstance(value, bytes):
        return value.hex()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


_HSTORE = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')


def _osm_columns(layer: str, columns: list[str], rows: list[dict[str, Any]]) -> tuple[list[str], list[dict[str, Any]]]:
    """OSM rows with a stable ``osm_key`` (n123 / w123 / r123) and ``other_tags`` spread into columns.

    GDAL's OSM driver puts the tags it has no column for into one hstore text (``"k"=>"v","k2"=>"v2"``).
    """
    extra: list[str] = []
    for row in rows:
        if layer == "multipolygons":
            way = row.get("osm_way_id")
            row["osm_key"] = f"w{way}" if way else (f"r{row['osm_id']}" if row.get("osm_id") else None)
        elif row.get("osm_id"):
            row["osm_key"] = f"{'n' if layer == 'points' else 'w' if layer == 'lines' else 'r'}{row['osm_id']}"
        for k, v in _HSTORE.findall(row.pop("other_tags", None) or ""):
            k, v = k.replace('\\"', '"'), v.replace('\\"', '"')
            if k not in row and k not in extra:
                extra.append(k)
            row.setdefault(k, v)
    names = ["osm_key", *[c for c in columns if c != "other_tags"], *extra]
    return names, [{c: row.get(c) for c in names} for row in rows]


def read_source(
    path: Path,
    *,
    source_layer: str | None = None,
    geometry_type: str | None = None,
    where: str | None = None,
) -> SourceTable:
    """Read every feature of one layer of ``path``; raises InvalidInputError for empty or unreadable files."""
    if not path.exists():
        raise _bad(f"no such file {path.name!r}")
    if path.stat().st_size == 0:
        raise _bad("the file is empty (0 bytes)")
    fmt = detect_format(path)
    target, encoding, notes = str(path), None, []
    options: dict[str, Any] = {}
    if fmt == "shapefile":
        dbf, cpg, target = _dbf_bytes(path)
        if cpg:
            notes.append(f"attribute encoding {cpg} (from the .cpg file)")
            encoding = cpg
        elif dbf is not None:
            encoding, why = guess_text_encoding(_dbf_records(dbf))
            notes.append(f"attribute encoding {encoding} (no .cpg file; {why})")
    elif fmt == "csv":
        encoding, why = guess_text_encoding(path.read_bytes())
        notes.append(f"text encoding {encoding} ({why})")
    elif fmt == "xlsx":
        options["HEADERS"] = "FORCE"  # the first row names the columns, even when every cell is text
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")  # GDAL's warnings go into the report, not to the log
        layer = _pick_layer(target, source_layer, fmt, geometry_type)
        try:
            meta, fids, geometry, field_data = ogr_read(
                target,
                layer=layer,
                encoding=encoding if fmt in ("shapefile", "csv") and encoding else None,
                where=where,
                return_fids=True,
                **options,
            )
        except Exception as exc:  # GDAL/pyogrio raise many kinds for damaged files
            raise _bad(f"GDAL cannot read layer {layer!r}: {str(exc)[:300]}") from None
    notes += sorted({f"GDAL: {str(w.message)[:300]}" for w in caught})
    columns = [str(c) for c in meta["fields"]]
    n = len(fids) if fids is not None else (len(field_data[0]) if field_data else 0)
    if n == 0:
        raise _bad(f"layer {layer!r} has no features" + (f" matching {where!r}" if where else ""))
    values = [[_plain(v) for v in col.tolist()] for col in field_data]
    rows = [{c: values[j][i] for j, c in enumerate(columns)} for i in range(n)]
    if fmt == "osm":
        columns, rows = _osm_columns(layer, columns, rows)
    wkb = list(geometry) if geometry is not None else [None] * n
    return SourceTable(
        format=fmt,
        layer=layer,
        columns=columns,
        rows=rows,
        wkb=[bytes(g) if g is not None else None for g in wkb],
        fids=[_plain(f) for f in (fids.tolist() if fids is not None else range(n))],
        crs=meta.get("crs"),
        encoding=encoding,
        notes=notes,
    )
