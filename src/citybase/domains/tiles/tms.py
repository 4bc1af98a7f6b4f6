"""Tile matrix sets (OGC 17-083r4 / OGC API – Tiles): WebMercatorQuad and a CGCS2000 geographic quad.

``CGCS2000Quad`` is built like ``WorldCRS84Quad`` (two 256 × 256 tiles at level 0 covering
−180..180 × −90..90, halving per level) but in EPSG:4490, whose axis order is latitude, longitude.
Tiles are served in both (OGC API – Tiles); a CGCS2000Quad level ``z`` has about the scale of
WebMercatorQuad level ``z + 1`` (:func:`web_mercator_zoom`), which picks the layers and simplification.
"""

from __future__ import annotations

import math
from typing import Any

MAX_ZOOM = 22
_HALF = 20037508.342789244
_MERCATOR_SCALE0 = 559082264.0287178  # scale denominator at zoom 0 (0.28 mm pixels)
_WGS_SCALE0 = 279541132.0143589  # WorldCRS84Quad level 0


def web_mercator_quad(max_zoom: int = MAX_ZOOM) -> dict[str, Any]:
    matrices = []
    for z in range(max_zoom + 1):
        n = 1 << z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": _MERCATOR_SCALE0 / n,
                "cellSize": 2 * _HALF / 256 / n,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_HALF, _HALF],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": n,
                "matrixHeight": n,
            }
        )
    return {
        "id": "WebMercatorQuad",
        "title": "Google Maps Compatible for the World",
        "uri": "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "boundingBox": {
            "lowerLeft": [-_HALF, -_HALF],
            "upperRight": [_HALF, _HALF],
            "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
        },
        "tileMatrices": matrices,
    }


def cgcs2000_quad(max_zoom: int = MAX_ZOOM) -> dict[str, Any]:
    matrices = []
    for z in range(max_zoom + 1):
        n = 1 << z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": _WGS_SCALE0 / n,
                "cellSize": 180.0 / 256 / n,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [90.0, -180.0],  # lat, lon: EPSG:4490 axis order
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 2 * n,
                "matrixHeight": n,
            }
        )
    return {
        "id": "CGCS2000Quad",
        "title": "CGCS2000 geographic quad (2:1, like WorldCRS84Quad, in EPSG:4490)",
        "crs": "http://www.opengis.net/def/crs/EPSG/0/4490",
        "orderedAxes": ["Lat", "Lon"],
        "boundingBox": {
            "lowerLeft": [-90.0, -180.0],
            "upperRight": [90.0, 180.0],
            "crs": "http://www.opengis.net/def/crs/EPSG/0/4490",
        },
        "tileMatrices": matrices,
    }


TILE_MATRIX_SETS = {"WebMercatorQuad": web_mercator_quad, "CGCS2000Quad": cgcs2000_quad}
WEB_MERCATOR_QUAD = "WebMercatorQuad"
CGCS2000_QUAD = "CGCS2000Quad"


def matrix_size(tms: str, z: int) -> tuple[int, int]:
    """(columns, rows) of level ``z``: 2^z × 2^z in WebMercatorQuad, 2^(z+1) × 2^z in CGCS2000Quad."""
    return (2 << z, 1 << z) if tms == CGCS2000_QUAD else (1 << z, 1 << z)


def web_mercator_zoom(tms: str, z: int) -> int:
    """The WebMercatorQuad zoom of about the same scale: a CGCS2000Quad tile spans 180/2^z degrees, a
    WebMercatorQuad tile 360/2^z, so level z of the geographic quad draws like Web Mercator z + 1."""
    return min(z + 1, MAX_ZOOM) if tms == CGCS2000_QUAD else z


def geographic_tile_range(
    bbox: tuple[float, float, float, float], z: int, pad: float = 0.0
) -> tuple[int, int, int, int]:
    """:func:`tile_range` for CGCS2000Quad (tiles of 180/2^z degrees from −180 west and 90 north)."""
    minx, miny, maxx, maxy = bbox
    size = 180.0 / (1 << z)
    cols, rows = matrix_size(CGCS2000_QUAD, z)
    x0 = max(0, math.floor((minx + 180.0) / size - pad))
    x1 = min(cols - 1, math.floor((maxx + 180.0) / size + pad))
    y0 = max(0, math.floor((90.0 - maxy) / size - pad))
    y1 = min(rows - 1, math.floor((90.0 - miny) / size + pad))
    return x0, y0, x1, y1


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional WebMercatorQuad column and row of a lon/lat point at zoom ``z``."""
    n = 1 << z
    lat = max(-85.0511287798, min(85.0511287798, lat))
    x = (lon + 180.0) / 360.0 * n
    y = (1.0 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2.0 * n
    return x, y


def tile_range(bbox: tuple[float, float, float, float], z: int, pad: float = 0.0) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1), inclusive, of the WebMercatorQuad tiles at zoom ``z`` that a lon/lat bbox
    touches, each tile widened by ``pad`` (a fraction of a tile: the render buffer)."""
    minx, miny, maxx, maxy = bbox
    n = (1 << z) - 1
    fx0, fy0 = lonlat_to_tile(minx, maxy, z)
    fx1, fy1 = lonlat_to_tile(maxx, miny, z)
    x0 = max(0, math.floor(fx0 - pad))
    y0 = max(0, math.floor(fy0 - pad))
    x1 = min(n, math.floor(fx1 + pad))
    y1 = min(n, math.floor(fy1 + pad))
    return x0, y0, x1, y1


def tile_lonlat_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    n = 1 << z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)
