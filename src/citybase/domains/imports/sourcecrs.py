"""The coordinate system of an imported file: declared (``--crs``), else the file's own, never guessed.

``--crs`` takes everything :func:`citybase.kernel.crs.parse_crs` does (EPSG codes, cgcs2000, wgs84,
webmercator, gcj02, bd09, OGC URNs, WKT) plus ``gk3:<zone>`` (25–45) and ``gk3:<central meridian>``
(75–135): a CGCS2000 3-degree Gauss-Krüger zone, with or without the zone prefix as the eastings show
(prefixed eastings are ≥ 1,000,000, so the two cannot be confused).
"""

from __future__ import annotations

import re

import numpy as np
import numpy.typing as npt

from citybase.kernel.crs import CRS, GK_ZONES, detect_crs, gk_crs, gk_prefix_zone, parse_crs, to_cgcs2000
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import CHINA_BOUNDS

_GK3 = re.compile(r"^\s*gk3\s*:\s*(\d+)\s*$", re.IGNORECASE)
NAMES_HELP = (
    "--crs takes EPSG codes (EPSG:4490, 4326, 3857, 4513–4554) or names: cgcs2000, wgs84, webmercator, "
    "gk3:<zone 25–45> or gk3:<central meridian 75–135> (prefix taken from the eastings), gcj02, bd09"
)


def _fail(reason: str) -> InvalidInputError:
    return InvalidInputError("coordinate system not determined", issues=[Issue("crs", reason)])


def _gk3(number: int, eastings: npt.ArrayLike) -> CRS:
    if number in GK_ZONES:
        zone = number
    elif number % 3 == 0 and number // 3 in GK_ZONES:
        zone = number // 3
    else:
        raise _fail(f"gk3:{number} is neither a zone (25–45) nor a central meridian (75–135, steps of 3)")
    prefixed = gk_prefix_zone(eastings)
    if prefixed is not None and prefixed != zone:
        raise _fail(f"--crs names zone {zone} but the eastings carry zone prefix {prefixed}")
    return gk_crs(zone, prefixed=prefixed is not None)


def declared_crs(text: str, xs: npt.ArrayLike) -> CRS:
    """The CRS an operator named (``--crs``); ``xs`` (eastings) decide the prefix of a ``gk3:`` zone."""
    m = _GK3.match(text)
    return _gk3(int(m.group(1)), xs) if m else parse_crs(text)


def _suggestion(xs: npt.ArrayLike, ys: npt.ArrayLike) -> str:
    try:
        found = detect_crs(xs, ys)
    except InvalidInputError as exc:
        return exc.issues[0].reason if exc.issues else exc.detail
    extra = f" or gk3:{found.zone}" if found.is_gauss_kruger else ""
    return f"the coordinates look like {found.name} ({found.title}): if so, pass --crs {found.name}{extra}"


def resolve_crs(declared: str | None, file_crs: str | None, xs: npt.ArrayLike, ys: npt.ArrayLike) -> tuple[CRS, str]:
    """(CRS, where it came from). Without a declared or file CRS: an error that says how to name it."""
    if declared:
        return declared_crs(declared, xs), "declared (--crs)"
    if file_crs:
        return parse_crs(file_crs), "from the file"
    raise _fail(f"the file declares no coordinate system; {_suggestion(xs, ys)}. {NAMES_HELP}")


def check_plausible(crs: CRS, xs: npt.ArrayLike, ys: npt.ArrayLike) -> None:
    """Refuse a CRS that puts no coordinate of the file in China (a wrong --crs or .prj), with a hint."""
    x, y = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
    if x.size == 0:
        return
    try:
        lon, lat = to_cgcs2000(x, y, crs)
    except InvalidInputError:
        lon, lat = np.full(x.shape, np.nan), np.full(y.shape, np.nan)
    minx, miny, maxx, maxy = CHINA_BOUNDS
    inside = (lon >= minx) & (lon <= maxx) & (lat >= miny) & (lat <= maxy)
    if inside.any():
        return
    raise _fail(
        f"in {crs.name} ({crs.title}) no coordinate of the file lies in China (first: {float(x[0])}, "
        f"{float(y[0])}); the coordinate system is wrong. {_suggestion(x, y)}. {NAMES_HELP}"
    )
