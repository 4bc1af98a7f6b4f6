"""Earth-centred frames: CGCS2000 longitude/latitude/height to ECEF, and local east-north-up frames.

3D Tiles places content in WGS 84 ECEF (EPSG:4978). We convert CGCS2000 (EPSG:4480, 3D geographic)
to CGCS2000 geocentric (EPSG:4479) with PROJ. The two ellipsoids (GRS 80 and WGS 84) differ by 0.1 mm in
the semi-minor axis and the realisations by a few centimetres, far below what a white model shows, so
CGCS2000 ECEF coordinates are used as WGS 84 ECEF.
"""

from __future__ import annotations

import functools
import math

import numpy as np
from numpy.typing import NDArray
from pyproj import Transformer

Array = NDArray[np.float64]


@functools.cache
def _to_ecef() -> Transformer:
    return Transformer.from_crs("EPSG:4480", "EPSG:4479", always_xy=True)


@functools.cache
def _to_geodetic() -> Transformer:
    return Transformer.from_crs("EPSG:4479", "EPSG:4480", always_xy=True)


def geodetic_to_ecef(lon: Array, lat: Array, h: Array) -> Array:
    """(n, 3) ECEF metres of longitude, latitude (degrees) and ellipsoidal height (metres)."""
    x, y, z = _to_ecef().transform(lon, lat, h)
    return np.column_stack([x, y, z]).astype(np.float64)


def ecef_to_geodetic(xyz: Array) -> Array:
    """(n, 3) longitude, latitude (degrees) and ellipsoidal height of ECEF points."""
    lon, lat, h = _to_geodetic().transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
    return np.column_stack([lon, lat, h]).astype(np.float64)


def enu_rotation(lon: float, lat: float) -> Array:
    """3×3 matrix whose columns are the east, north and up unit vectors at (lon, lat) in ECEF."""
    lam, phi = math.radians(lon), math.radians(lat)
    east = [-math.sin(lam), math.cos(lam), 0.0]
    north = [-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)]
    up = [math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)]
    return np.array([east, north, up], dtype=np.float64).T


class LocalFrame:
    """An east-north-up frame at a point on the ellipsoid (height 0)."""

    def __init__(self, lon: float, lat: float) -> None:
        self.origin = geodetic_to_ecef(np.array([lon]), np.array([lat]), np.array([0.0]))[0]
        self.rotation = enu_rotation(lon, lat)

    def to_local(self, ecef: Array) -> Array:
        """(n, 3) east, north, up metres of ECEF points."""
        return np.asarray((ecef - self.origin) @ self.rotation, dtype=np.float64)

    def matrix(self) -> Array:
        """The 4×4 matrix from this frame to ECEF."""
        m = np.eye(4)
        m[:3, :3] = self.rotation
        m[:3, 3] = self.origin
        return m

    def transform(self) -> list[float]:
        """The matrix as a 3D Tiles ``transform`` (column-major, 16 numbers)."""
        return [float(v) for v in self.matrix().T.reshape(-1)]
