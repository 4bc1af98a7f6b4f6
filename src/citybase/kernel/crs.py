"""Coordinate reference systems of department files, and conversion to and from CGCS2000 (EPSG:4490).

The platform stores CGCS2000 longitude/latitude. A department file may come in any of the systems of
:data:`REGISTRY`: CGCS2000 geographic, WGS 84 (EPSG:4326 and OGC CRS84), Web Mercator, the CGCS2000
3-degree Gauss-Krüger zones with the zone number prefixed to the easting (EPSG:4513–4533, zones 25–45)
and without it (EPSG:4534–4554, central meridians 75°E–135°E), and the internet-map offsets GCJ-02
(火星坐标, AMap / Tencent) and BD-09 (Baidu). Xiangyang (110.75°E–113.7°E) straddles two zones: the
city proper and the west lie in zone 37 (CM 111°E, EPSG:4525 / EPSG:4546), Zaoyang and the east in
zone 38 (CM 114°E, EPSG:4526 / EPSG:4547).

Arrays are always (x, y) = (easting, northing) or (longitude, latitude), whatever the authority's axis
order (pyproj transformers are built with ``always_xy=True``).

**CGCS2000 = WGS 84 here (sub-metre).** CGCS2000 is ITRF97 frozen at epoch 2000.0; WGS 84 follows the
current ITRF. The two agree to centimetres at epoch 2000.0, and since then the Eurasian plate has carried
China about 3 cm a year, so a point's WGS 84 coordinates today differ from its CGCS2000 ones by several
decimetres: less than a metre, below the accuracy of most department data and of every GCJ-02 / BD-09
source. EPSG publishes no CGCS2000 ↔ WGS 84 transformation, PROJ without a grid applies a zero "ballpark"
offset, and citybase does the same. Beijing 1954 / Xi'an 1980 are *refused*: converting them needs the
parameters published for the area (differences of tens to a hundred metres), which citybase will not guess.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from pyproj.exceptions import CRSError
from shapely.geometry.base import BaseGeometry

from citybase.kernel import chinacoords
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import CHINA_BOUNDS

FloatArray = npt.NDArray[np.float64]
Kind = Literal["geographic", "projected", "offset"]
AxisOrder = Literal["lon,lat", "lat,lon", "east,north", "north,east"]
MAX_DEFINITION_CHARS = 20_000


@dataclass(frozen=True, slots=True)
class CRS:
    """One coordinate reference system, by its canonical ``name`` (``EPSG:4490``, ``OGC:CRS84``, ``GCJ-02``)."""

    name: str
    title: str
    kind: Kind
    definition: str | None = None  # what pyproj reads; None for the GCJ-02 / BD-09 offsets
    axis_order: AxisOrder = "lon,lat"  # the authority's order, for output (arrays here are always x, y)
    zone: int | None = None  # Gauss-Krüger 3-degree zone number
    central_meridian: float | None = None
    zone_prefix: bool = False  # easting carries the zone number (38 500 000 for zone 38)
    aliases: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __str__(self) -> str:
        return self.name

    @property
    def epsg(self) -> int | None:
        return int(self.name[5:]) if self.name.startswith("EPSG:") and self.name[5:].isdigit() else None

    @property
    def is_gauss_kruger(self) -> bool:
        return self.central_meridian is not None

    @property
    def uri(self) -> str | None:
        """OGC URI (OGC API – Features Part 2), or None for the offsets and unnamed definitions."""
        if self.name == "OGC:CRS84":
            return "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        return f"http://www.opengis.net/def/crs/EPSG/0/{self.epsg}" if self.epsg else None

    def to_pyproj(self) -> pyproj.CRS:
        if self.definition is None:
            raise InvalidInputError(f"{self.name} is an obfuscated offset, not a PROJ coordinate system")
        return _pyproj_crs(self.definition)


class GKZone(NamedTuple):
    zone: int
    central_meridian: float

    def crs(self, *, prefixed: bool) -> CRS:
        return gk_crs(self.zone, prefixed=prefixed)


CGCS2000 = CRS(
    "EPSG:4490", "CGCS2000 (China Geodetic Coordinate System 2000)", "geographic", "EPSG:4490", "lat,lon",
    aliases=("4490", "CGCS2000", "CGCS 2000", "China Geodetic Coordinate System 2000",
             "GCS_China_Geodetic_Coordinate_System_2000", "国家2000", "2000国家大地坐标系", "CGCS2000经纬度"),
)  # fmt: skip
WGS84 = CRS(
    "EPSG:4326", "WGS 84", "geographic", "EPSG:4326", "lat,lon",
    aliases=("4326", "WGS84", "WGS 84", "WGS-84", "WGS 1984", "GCS_WGS_1984", "GPS"),
)  # fmt: skip
CRS84 = CRS(
    "OGC:CRS84", "WGS 84 (OGC CRS84, lon/lat)", "geographic", "OGC:CRS84", "lon,lat",
    aliases=("CRS84", "OGC:CRS84", "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84"),
)  # fmt: skip
WEB_MERCATOR = CRS(
    "EPSG:3857", "WGS 84 / Pseudo-Mercator (Web Mercator)", "projected", "EPSG:3857", "east,north",
    aliases=("3857", "Web Mercator", "WebMercator", "Pseudo-Mercator", "WGS 84 / Pseudo-Mercator", "Google Mercator",
             "EPSG:900913", "900913", "EPSG:3785", "ESRI:102100", "EPSG:102100", "102100", "墨卡托", "Web墨卡托"),
)  # fmt: skip
GCJ02 = CRS(
    "GCJ-02", "GCJ-02 (火星坐标, AMap / Tencent; WGS 84 with the national offset)", "offset",
    aliases=("GCJ02", "GCJ-02", "GCJ 02", "火星坐标", "火星坐标系", "国测局坐标", "国测局坐标系", "Mars", "AMap",
             "Gaode", "高德", "Tencent", "腾讯"),
)  # fmt: skip
BD09 = CRS(
    "BD-09", "BD-09 (Baidu lon/lat; GCJ-02 with Baidu's offset)", "offset",
    aliases=("BD09", "BD-09", "BD 09", "BD09LL", "bd09ll", "Baidu", "百度", "百度坐标", "百度坐标系"),
)  # fmt: skip

GK_ZONES = range(25, 46)  # CGCS2000 3-degree zones covering China: CM 75°E (zone 25) … 135°E (zone 45)


def _gk(zone: int, prefixed: bool) -> CRS:
    cm = zone * 3
    if prefixed:
        code, title = 4513 + zone - 25, f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}"
        aliases: tuple[str, ...] = (f"CGCS2000_3_Degree_GK_Zone_{zone}", title)
    else:
        code, title = 4534 + zone - 25, f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"
        aliases = (f"CGCS2000_3_Degree_GK_CM_{cm}E", title)
    return CRS(
        f"EPSG:{code}", title, "projected", f"EPSG:{code}", "north,east",
        zone=zone, central_meridian=float(cm), zone_prefix=prefixed, aliases=(str(code), *aliases),
    )  # fmt: skip


_GK = {(z, p): _gk(z, p) for z in GK_ZONES for p in (True, False)}
REGISTRY: dict[str, CRS] = {c.name: c for c in (CGCS2000, WGS84, CRS84, WEB_MERCATOR, GCJ02, BD09, *_GK.values())}
_LONLAT_SAME = frozenset({"EPSG:4490", "EPSG:4326", "OGC:CRS84"})  # identical to CGCS2000 lon/lat here

ACCEPTED_NAMES = (
    "EPSG:4490 or CGCS2000; EPSG:4326 or WGS84; OGC:CRS84; EPSG:3857 or WebMercator; "
    "EPSG:4513–4533 or CGCS2000_3_Degree_GK_Zone_25…45 (zone number prefixed to the easting); "
    "EPSG:4534–4554 or CGCS2000_3_Degree_GK_CM_75E…135E (no prefix); GCJ02 (火星坐标, AMap/Tencent); "
    "BD09 (Baidu); the same as OGC URNs/URIs (urn:ogc:def:crs:EPSG::4490, "
    "http://www.opengis.net/def/crs/EPSG/0/4490); other EPSG codes, WKT or PROJ strings on the CGCS2000 "
    "or WGS 84 datum"
)


def _key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).casefold().replace("ü", "u").replace("krueger", "kruger")
    return re.sub(r"[\s_\-/.,:()]+", "", t)


_ALIASES: dict[str, CRS] = {_key(a): c for c in REGISTRY.values() for a in (c.name, *c.aliases)}
_GK_NAME = re.compile(r"^cgcs2000(?:3degree)?(?:gausskruger|gk)(?:zone(\d+)|cm(\d+)e?)$")
_URN = re.compile(r"^urn:ogc:def:crs:(epsg|ogc):[^:]*:(\w+)$", re.IGNORECASE)
_URI = re.compile(r"^https?://www\.opengis\.net/def/crs/(epsg|ogc)/[^/]+/(\w+)/?$", re.IGNORECASE)


def gk_crs(zone: int, *, prefixed: bool) -> CRS:
    """The CGCS2000 3-degree Gauss-Krüger CRS of ``zone`` (25–45), with or without the zone prefix."""
    if (zone, prefixed) not in _GK:
        raise InvalidInputError(
            "no such Gauss-Krüger zone", issues=[Issue("crs", f"zone {zone}: CGCS2000 3-degree zones are 25–45")]
        )
    return _GK[(zone, prefixed)]


def gk_zone_for(lon: float) -> GKZone:
    """The 3-degree zone containing ``lon``: zone n spans 3n ± 1.5°E (a boundary belongs to the east zone)."""
    zone = math.floor(lon / 3.0 + 0.5) if math.isfinite(lon) else -1
    if zone not in GK_ZONES:
        raise InvalidInputError(
            "no Gauss-Krüger zone", issues=[Issue("lon", f"{lon} is outside 73.5°E–136.5°E (zones 25–45)")]
        )
    return GKZone(zone, float(zone * 3))


def gk_prefix_zone(eastings: npt.ArrayLike) -> int | None:
    """Zone number carried by prefixed eastings (``easting // 1e6``), or None when none is prefixed.

    Raises InvalidInputError when some eastings are prefixed and others not, or prefixes differ.
    """
    e = np.asarray(eastings, dtype=np.float64).ravel()
    e = e[np.isfinite(e)]
    prefixed = np.abs(e) >= 1_000_000
    if not prefixed.any():
        return None
    zones = np.unique(np.floor(e[prefixed] / 1_000_000).astype(np.int64))
    if not prefixed.all() or len(zones) > 1:
        found = ", ".join(str(z) for z in zones) + (" and none" if not prefixed.all() else "")
        raise InvalidInputError(
            "mixed Gauss-Krüger zone prefixes",
            issues=[Issue("crs", f"eastings carry zone prefixes {found}; one file must use one zone")],
        )
    return int(zones[0])


@lru_cache(maxsize=256)
def _pyproj_crs(definition: str) -> pyproj.CRS:
    return pyproj.CRS.from_user_input(definition)


def _unknown(text: str, why: str = "") -> InvalidInputError:
    reason = f"unknown coordinate system {text[:200]!r}{': ' + why if why else ''}; accepted: {ACCEPTED_NAMES}"
    return InvalidInputError("unknown coordinate system", issues=[Issue("crs", reason)])


def parse_crs(text: str | int | CRS) -> CRS:
    """A CRS from how users name it: code, name, alias, OGC URN/URI, WKT or PROJ string.

    Raises InvalidInputError listing the accepted names when the text names nothing citybase can use.
    """
    if isinstance(text, CRS):
        return text
    return _parse(str(text).strip())


@lru_cache(maxsize=512)
def _parse(text: str) -> CRS:
    if not text or len(text) > MAX_DEFINITION_CHARS:
        raise _unknown(text, "empty" if not text else "too long")
    found = _ALIASES.get(_key(text))
    if found is not None:
        return found
    m = _URN.match(text) or _URI.match(text) or re.match(r"^(epsg|esri|ogc)\s*:{1,2}\s*(\w+)$", text, re.IGNORECASE)
    if m:
        key = f"{m.group(1).upper()}:{m.group(2).upper() if m.group(1).lower() == 'ogc' else m.group(2)}"
        if (found := _ALIASES.get(_key(key))) is not None:
            return found
        return _from_pyproj(key, text)
    if text.isdigit():
        return _from_pyproj(f"EPSG:{text}", text)
    if m := _GK_NAME.match(_key(text)):
        zone = int(m.group(1)) if m.group(1) else int(m.group(2)) // 3
        if m.group(2) and int(m.group(2)) % 3 == 0 and zone in GK_ZONES:
            return gk_crs(zone, prefixed=False)
        if m.group(1) and zone in GK_ZONES:
            return gk_crs(zone, prefixed=True)
        raise _unknown(text, "3-degree zones are 25–45, central meridians 75E–135E in steps of 3")
    return _from_pyproj(text, text)


def _datum_ok(pc: pyproj.CRS) -> bool:
    """CGCS2000 / WGS 84 (or an unnamed datum on their ellipsoid with a zero shift): no datum change."""
    if pc.is_bound:
        op = pc.coordinate_operation
        if op is None or any(float(p.value) != 0.0 for p in op.params):
            return False
        pc = pc.source_crs or pc
    ell = pc.ellipsoid
    if ell is None or abs(ell.semi_major_metre - 6378137.0) > 1e-3:
        return False
    return any(abs(ell.inverse_flattening - rf) < 1e-6 for rf in (298.257222101, 298.257223563))


def _same_mapping(pc: pyproj.CRS, entry: CRS) -> bool:
    """True when ``pc`` maps sample points of China exactly (1 mm) like the registry ``entry``."""
    if entry.definition is None:
        return False
    cm = entry.central_meridian or 112.0
    lon, lat = np.array([cm - 1.0, cm, cm + 1.0]), np.array([25.0, 32.0, 45.0])
    ours = pyproj.Transformer.from_crs(4490, pc, always_xy=True).transform(lon, lat)
    theirs = pyproj.Transformer.from_crs(4490, entry.to_pyproj(), always_xy=True).transform(lon, lat)
    return bool(np.allclose(ours, theirs, rtol=0.0, atol=1e-3))


def _from_pyproj(definition: str, text: str) -> CRS:
    try:
        pc = _pyproj_crs(definition)
    except CRSError:
        raise _unknown(text) from None
    for auth in pc.list_authority(min_confidence=25):  # a WKT / PROJ form of a registry entry, any axis order
        found = _ALIASES.get(_key(f"{auth.auth_name}:{auth.code}"))
        if found is not None and _datum_ok(pc) and _same_mapping(pc, found):
            return found
    if not (pc.is_geographic or pc.is_projected) or pc.is_geocentric or len(pc.axis_info) != 2:
        raise _unknown(text, f"{pc.name} is not a 2D geographic or projected coordinate system")
    if not _datum_ok(pc):
        datum = pc.datum.name if pc.datum else "unknown"
        what = pc.name if pc.name != "unknown" else "this definition"
        raise InvalidInputError(
            "unsupported datum",
            issues=[Issue("crs", f"{what} uses the {datum} datum, not CGCS2000 or WGS 84: converting it needs "
                                 "the transformation parameters published for your area (e.g. Beijing 1954 / "
                                 "Xi'an 1980 → CGCS2000), which citybase will not guess; convert the file first")],
        )  # fmt: skip
    dirs = [a.direction.lower() for a in pc.axis_info]
    if pc.is_geographic:
        order: AxisOrder = "lat,lon" if dirs[0] == "north" else "lon,lat"
    else:
        order = "north,east" if dirs[0] == "north" else "east,north"
    kind: Kind = "geographic" if pc.is_geographic else "projected"
    title = pc.name if pc.name != "unknown" else f"custom {kind} definition"
    name = definition.upper() if re.fullmatch(r"[A-Za-z]+:\w+", definition) else "custom"
    return CRS(name, title, kind, definition, order)


# --- conversion ---------------------------------------------------------------------------------------


def _pair(xs: npt.ArrayLike, ys: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    x, y = np.broadcast_arrays(np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    return np.array(x, dtype=np.float64), np.array(y, dtype=np.float64)


@lru_cache(maxsize=128)
def _transformer(definition: str, to_cgcs2000: bool) -> pyproj.Transformer:
    # pyproj >= 3.1 transformers are thread-safe, so one cached instance serves every request thread.
    src, dst = _pyproj_crs(definition), _pyproj_crs("EPSG:4490")
    return pyproj.Transformer.from_crs(src, dst, always_xy=True) if to_cgcs2000 else (
        pyproj.Transformer.from_crs(dst, src, always_xy=True)
    )  # fmt: skip


def _project(x: FloatArray, y: FloatArray, crs: CRS, to_cgcs2000: bool) -> tuple[FloatArray, FloatArray]:
    assert crs.definition is not None
    ox, oy = _transformer(crs.definition, to_cgcs2000).transform(x, y)
    ox, oy = np.asarray(ox, dtype=np.float64), np.asarray(oy, dtype=np.float64)
    bad = np.isfinite(x) & np.isfinite(y) & ~(np.isfinite(ox) & np.isfinite(oy))
    if bad.any():
        i = int(np.flatnonzero(bad.ravel())[0])
        direction = f"from {crs.name}" if to_cgcs2000 else f"to {crs.name}"
        raise InvalidInputError(
            "coordinates cannot be converted",
            issues=[Issue("crs", f"({x.ravel()[i]}, {y.ravel()[i]}) cannot be converted {direction}", i)],
        )
    return ox, oy


def to_cgcs2000(xs: npt.ArrayLike, ys: npt.ArrayLike, crs: str | CRS) -> tuple[FloatArray, FloatArray]:
    """(x, y) in ``crs`` → CGCS2000 (lon, lat), vectorised. WGS 84 / CRS84 lon/lat pass through unchanged.

    GCJ-02 and BD-09 are inverted iteratively (round-trip error < 1e-5 m, see chinacoords).
    """
    c = parse_crs(crs)
    x, y = _pair(xs, ys)
    if c is GCJ02:
        return chinacoords.gcj02_to_wgs84(x, y)
    if c is BD09:
        return chinacoords.bd09_to_wgs84(x, y)
    if c.name in _LONLAT_SAME:
        return x, y
    return _project(x, y, c, True)


def from_cgcs2000(lons: npt.ArrayLike, lats: npt.ArrayLike, crs: str | CRS) -> tuple[FloatArray, FloatArray]:
    """CGCS2000 (lon, lat) → (x, y) in ``crs``, vectorised; the inverse of :func:`to_cgcs2000`."""
    c = parse_crs(crs)
    x, y = _pair(lons, lats)
    if c is GCJ02:
        return chinacoords.wgs84_to_gcj02(x, y)
    if c is BD09:
        return chinacoords.wgs84_to_bd09(x, y)
    if c.name in _LONLAT_SAME:
        return x, y
    return _project(x, y, c, False)


def transform_coords(
    xs: npt.ArrayLike, ys: npt.ArrayLike, src: str | CRS, dst: str | CRS = CGCS2000
) -> tuple[FloatArray, FloatArray]:
    """(x, y) from ``src`` to ``dst`` through CGCS2000 lon/lat."""
    s, d = parse_crs(src), parse_crs(dst)
    if s == d:
        return _pair(xs, ys)
    return from_cgcs2000(*to_cgcs2000(xs, ys, s), d)


def transform_geometry(geom: BaseGeometry, src: str | CRS, dst: str | CRS = CGCS2000) -> BaseGeometry:
    """A shapely geometry (or array of them) from ``src`` to ``dst`` (default CGCS2000); vertices only, z kept.

    Uses ``shapely.transform``: every vertex is converted, edges are not densified.
    """
    s, d = parse_crs(src), parse_crs(dst)
    if s == d:
        return geom

    def move(coords: FloatArray) -> FloatArray:
        out = np.array(coords, dtype=np.float64)
        out[:, 0], out[:, 1] = transform_coords(coords[:, 0], coords[:, 1], s, d)
        return out

    has_z = np.asarray(shapely.has_z(geom))
    if has_z.ndim == 0:
        return shapely.transform(geom, move, include_z=bool(has_z))
    out = np.array(geom, dtype=object)
    for flag in (True, False):
        sel = has_z == flag
        if sel.any():
            out[sel] = shapely.transform(out[sel], move, include_z=flag)
    return out


# --- detection ----------------------------------------------------------------------------------------

_MERC_R = 6378137.0
_GK_EAST = (150_000.0, 850_000.0)  # easting within a zone (false easting 500 km; ±1.5° is < 170 km in China)
_GK_NORTH_PREFIXED = (300_000.0, 6_200_000.0)  # northings of China: 3°N … 56°N
_GK_NORTH_PLAIN = (1_000_000.0, 6_200_000.0)  # 9°N … 56°N; further south (Nansha) needs a declared CRS
_LABELS = {
    "geo": "longitude/latitude",
    "geo_swapped": "(latitude, longitude): longitude must come first",
    "merc": "Web Mercator metres",
    "merc_swapped": "Web Mercator metres with the axes swapped (northing first)",
    "gkp": "Gauss-Krüger metres with a zone prefix",
    "gkp_swapped": "Gauss-Krüger (northing, easting): surveyors call the northing X; put the easting (Y) first",
    "gk": "Gauss-Krüger metres without a zone prefix",
    "gk_swapped": "Gauss-Krüger (northing, easting) without a zone prefix: put the easting (Y) first",
}


def _in_china(lon: FloatArray, lat: FloatArray) -> npt.NDArray[np.bool_]:
    minx, miny, maxx, maxy = CHINA_BOUNDS
    return (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)


def _between(v: FloatArray, lo_hi: tuple[float, float]) -> npt.NDArray[np.bool_]:
    return (v >= lo_hi[0]) & (v <= lo_hi[1])


def _mercator_in_china(x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
    with np.errstate(over="ignore"):
        lon = np.degrees(x / _MERC_R)
        lat = np.degrees(2.0 * np.arctan(np.exp(np.clip(y / _MERC_R, -50, 50))) - np.pi / 2.0)
    return (np.abs(x) <= 20037508.35) & _in_china(lon, lat)


def _gk_prefixed(x: FloatArray, y: FloatArray) -> npt.NDArray[np.bool_]:
    zone = np.floor(x / 1_000_000.0)
    ok_zone = (zone >= GK_ZONES.start) & (zone < GK_ZONES.stop)
    return ok_zone & _between(x - zone * 1_000_000.0, _GK_EAST) & _between(y, _GK_NORTH_PREFIXED)


def _detection_tests(x: FloatArray, y: FloatArray) -> dict[str, npt.NDArray[np.bool_]]:
    """One mask per label of :data:`_LABELS`; the ranges are chosen so that no point passes two."""
    return {
        "geo": _in_china(x, y),
        "geo_swapped": _in_china(y, x),
        "merc": _mercator_in_china(x, y),
        "merc_swapped": _mercator_in_china(y, x),
        "gkp": _gk_prefixed(x, y),
        "gkp_swapped": _gk_prefixed(y, x),
        "gk": _between(x, _GK_EAST) & _between(y, _GK_NORTH_PLAIN),
        "gk_swapped": _between(y, _GK_EAST) & _between(x, _GK_NORTH_PLAIN),
    }


def _classify(x: FloatArray, y: FloatArray) -> npt.NDArray[np.str_]:
    """One label of :data:`_LABELS` per point, or "" when none fits."""
    labels = np.full(x.shape, "", dtype="<U12")
    for label, mask in _detection_tests(x, y).items():
        labels[mask & (labels == "")] = label
    return labels


def _fail(reason: str, field_name: str, record: int | None = None) -> InvalidInputError:
    return InvalidInputError("coordinate system not determined", issues=[Issue(field_name, reason, record)])


def _plain_gk_hint(x: FloatArray, y: FloatArray, near: tuple[float, float] | None) -> str:
    best = gk_crs(37, prefixed=False)
    if near is not None:  # the zone that puts the data nearest the given place (a hint, never applied)
        cx, cy = float(np.median(x)), float(np.median(y))

        def miss(c: CRS) -> float:
            lon, lat = to_cgcs2000(cx, cy, c)
            return math.hypot((float(lon) - near[0]) * math.cos(math.radians(near[1])), float(lat) - near[1])

        best = min((gk_crs(z, prefixed=False) for z in GK_ZONES), key=miss)
    return (
        f"Gauss-Krüger coordinates without a zone prefix: name the zone, e.g. --crs {best.name} "
        f"(CGCS2000 3-degree GK CM {best.central_meridian:.0f}E); EPSG:4534–4554 are CM 75E–135E"
    )


def detect_crs(
    xs: npt.ArrayLike,
    ys: npt.ArrayLike,
    declared: str | CRS | None = None,
    *,
    geographic_default: bool = False,
    near: tuple[float, float] | None = None,
    field_name: str = "crs",
) -> CRS:
    """The CRS of a file's coordinates: the declared one (checked), else inferred; never a silent guess.

    Inference: lon/lat in China → CGCS2000 only when ``geographic_default`` (it could as well be WGS 84,
    GCJ-02 or BD-09), else an error; Web Mercator metres in China → EPSG:3857; eastings ≥ 1,000,000 with a
    zone prefix 25–45 → that zone (EPSG:4513–4533); eastings 150–850 km without a prefix → an error naming
    the zone to declare (``near``, a (lon, lat) of the city, picks the example); swapped axes, mixed or
    unrecognised coordinates → an error. A declared CRS must put every point inside China.
    """
    x, y = _pair(xs, ys)
    x, y = x.ravel(), y.ravel()
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        raise _fail("no finite coordinates to determine the coordinate system from", field_name)
    index = np.flatnonzero(finite)
    x, y = x[finite], y[finite]
    if declared is not None:
        crs = parse_crs(declared)
        _check_in_china(x, y, crs, index, field_name, "declared")
        return crs
    labels = _classify(x, y)
    if (unknown := np.flatnonzero(labels == "")).size:
        i = int(unknown[0])
        raise _fail(
            f"coordinate ({x[i]}, {y[i]}) is not lon/lat, Web Mercator or Gauss-Krüger metres in China; "
            f"declare the coordinate system (--crs), one of: {ACCEPTED_NAMES}", field_name, int(index[i]),
        )  # fmt: skip
    kinds, counts = np.unique(labels, return_counts=True)
    if len(kinds) > 1:
        mix = ", ".join(f"{n} look like {_LABELS[str(k)]}" for k, n in zip(kinds, counts, strict=True))
        raise _fail(f"coordinates mix coordinate systems ({mix}); one file must use one", field_name)
    kind = str(kinds[0])
    if kind == "geo":
        if geographic_default:
            return CGCS2000
        raise _fail(
            "longitude/latitude in China could be CGCS2000, WGS 84, GCJ-02 (火星坐标, AMap/Tencent) or BD-09 "
            "(Baidu): name it, e.g. --crs CGCS2000, --crs GCJ02 for coordinates picked on AMap",
            field_name,
        )
    if kind == "merc":
        return WEB_MERCATOR
    if kind == "gkp":
        zones = np.unique(np.floor(x / 1_000_000.0)).astype(int).tolist()
        if len(zones) > 1:
            raise _fail(f"eastings carry zone prefixes {zones}; one file must use one zone", field_name)
        crs = gk_crs(zones[0], prefixed=True)
        _check_in_china(x, y, crs, index, field_name, "detected")
        return crs
    if kind == "gk":
        raise _fail(_plain_gk_hint(x, y, near), field_name)
    raise _fail(f"coordinates look like {_LABELS[kind]}; swap the columns or declare the CRS", field_name)


def _check_in_china(
    x: FloatArray, y: FloatArray, crs: CRS, index: npt.NDArray[np.intp], field_name: str, how: str
) -> None:
    try:
        lon, lat = to_cgcs2000(x, y, crs)
    except InvalidInputError as exc:
        i = exc.issues[0].record if exc.issues else None
        raise _fail(exc.issues[0].reason if exc.issues else exc.detail, field_name,
                    int(index[i]) if isinstance(i, int) else None) from None  # fmt: skip
    outside = np.flatnonzero(~_in_china(lon, lat))
    if outside.size:
        i = int(outside[0])
        label = str(_classify(x[i : i + 1], y[i : i + 1])[0]) if how == "declared" else ""
        hint = f"; they look like {_LABELS[label]}" if label else ""
        raise _fail(
            f"coordinate ({x[i]}, {y[i]}) in the {how} {crs.name} ({crs.title}) lies at "
            f"({float(lon[i]):.6f}, {float(lat[i]):.6f}), outside China{hint}", field_name, int(index[i]),
        )  # fmt: skip
