"""Extrusion of building footprints into closed, outward-facing triangle meshes (numpy, vectorised).

Caps come from shapely's constrained Delaunay triangulation (GEOS), which keeps every ring vertex and
adds none, so each cap edge on the boundary meets exactly one wall edge: the solid is watertight.
Walls are one quad (two triangles) per ring edge. Vertices are not shared between faces, so every face
keeps its own flat normal (sharp edges, as white models are drawn).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from citybase.domains.tiles3d.frame import LocalFrame, geodetic_to_ecef

# glTF is y-up; 3D Tiles turns glTF content from y-up to z-up at run time, so local east-north-up
# (e, n, u) is stored as (e, u, -n). The map is a rotation, so windings and normals stay outward.
_ENU_TO_GLTF = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])


@dataclass(frozen=True, slots=True)
class Mesh:
    positions: NDArray[np.float32]  # (n, 3) glTF metres in the tile's local frame
    normals: NDArray[np.float32]  # (n, 3) unit vectors
    feature_ids: NDArray[np.float32]  # (n,) index of the building in the tile
    indices: NDArray[np.uint32]  # (3 × triangles,)


def _caps(polys: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Counter-clockwise cap triangles (t, 3, 2) in lon/lat and the polygon each belongs to."""
    triangles, owner = shapely.get_parts(shapely.constrained_delaunay_triangles(polys), return_index=True)
    corners = shapely.get_coordinates(triangles).reshape(-1, 4, 2)[:, :3, :]
    d1, d2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    clockwise = d1[:, 0] * d2[:, 1] - d1[:, 1] * d2[:, 0] < 0
    corners[clockwise] = corners[clockwise][:, [0, 2, 1]]
    return corners, owner


def _edges(polys: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.intp]]:
    """Start and end of every ring edge (interior on the left) and the polygon each belongs to."""
    rings, ring_owner = shapely.get_rings(polys, return_index=True)
    coords, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    return coords[:-1][same], coords[1:][same], ring_owner[ring[:-1][same]]


def _unit(v: NDArray[np.float64], fallback: NDArray[np.float64]) -> NDArray[np.float64]:
    length = np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(length > 1e-12, v / np.maximum(length, 1e-300), fallback)


def extrude(footprints: Sequence[BaseGeometry], heights: Sequence[float], frame: LocalFrame) -> Mesh:
    """One mesh of prisms: footprint ``i`` (valid Polygon/MultiPolygon, lon/lat) from 0 to ``heights[i]``."""
    polys, feature = shapely.get_parts(np.asarray(footprints, dtype=object), return_index=True)
    polys = shapely.orient_polygons(shapely.remove_repeated_points(polys), exterior_cw=False)
    height = np.asarray(heights, dtype=np.float64)[feature]

    tri, tri_poly = _caps(polys)
    t = len(tri)
    top_h = np.repeat(height[tri_poly], 3)
    bottom = tri[:, [0, 2, 1], :]  # reversed: faces down
    a, b, edge_poly = _edges(polys)
    e = len(a)
    wall_h = height[edge_poly]
    wall_xy = np.stack([a, b, b, a], axis=1).reshape(-1, 2)
    wall_z = np.stack([np.zeros(e), np.zeros(e), wall_h, wall_h], axis=1).reshape(-1)

    lonlat = np.concatenate([tri.reshape(-1, 2), bottom.reshape(-1, 2), wall_xy])
    h = np.concatenate([top_h, np.zeros(3 * t), wall_z])
    enu = frame.to_local(geodetic_to_ecef(lonlat[:, 0], lonlat[:, 1], h))

    up = np.array([0.0, 0.0, 1.0])
    caps = enu[: 6 * t].reshape(-1, 3, 3)
    vertical = np.concatenate([np.tile(up, (t, 1)), np.tile(-up, (t, 1))])  # for degenerate triangles
    cap_n = _unit(np.cross(caps[:, 1] - caps[:, 0], caps[:, 2] - caps[:, 0]), vertical)
    quads = enu[6 * t :].reshape(-1, 4, 3)
    wall_n = _unit(np.cross(quads[:, 1] - quads[:, 0], quads[:, 2] - quads[:, 0]), np.zeros((e, 3)))
    normals = np.concatenate([np.repeat(cap_n, 3, axis=0), np.repeat(wall_n, 4, axis=0)])

    quad_idx = (6 * t + 4 * np.arange(e, dtype=np.uint32))[:, None] + np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)
    indices = np.concatenate([np.arange(6 * t, dtype=np.uint32), quad_idx.reshape(-1)])
    owner = np.concatenate(
        [np.repeat(feature[tri_poly], 3), np.repeat(feature[tri_poly], 3), np.repeat(feature[edge_poly], 4)]
    )
    return Mesh(
        positions=(enu @ _ENU_TO_GLTF.T).astype(np.float32),
        normals=(normals @ _ENU_TO_GLTF.T).astype(np.float32),
        feature_ids=owner.astype(np.float32),
        indices=indices,
    )
