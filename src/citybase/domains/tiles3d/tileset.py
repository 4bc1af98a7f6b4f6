"""tileset.json (3D Tiles 1.1) of a tree: tiles refine by adding their children; a tile with content has
its own east-north-up frame.

A tile's ``transform`` composes with its ancestors' (3D Tiles §"Tile transforms"), so the transform
written for a tile is its frame relative to the frame of the nearest ancestor with content:
ancestor⁻¹ · own. Every tile's content thus ends up in its own east-north-up frame in ECEF.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from citybase.domains.tiles3d.tree import ERROR_DIVISOR, Node, cell_width_m

VERSION = "1.1"
Matrix = Any  # a 4×4 numpy array


def _tile(node: Node, content_uri: Callable[[Node], str], computed: Matrix) -> dict[str, Any]:
    tile: dict[str, Any] = {"boundingVolume": {"region": node.region}, "geometricError": node.geometric_error}
    if node.members is not None:
        own = node.frame().matrix()
        relative = np.linalg.solve(computed, own)  # computed⁻¹ · own
        tile["transform"] = [float(v) for v in relative.T.reshape(-1)]  # column-major
        tile["content"] = {"uri": content_uri(node)}
        computed = own
    if node.children:
        tile["children"] = [_tile(c, content_uri, computed) for c in node.children]
    return tile


def tileset_json(
    root: Node, content_uri: Callable[[Node], str], *, version: str, generator: str, extras: dict[str, Any]
) -> dict[str, Any]:
    """The tileset document; ``content_uri`` names a tile's .glb relative to the tileset.json."""
    tile = _tile(root, content_uri, np.eye(4))
    tile["refine"] = "ADD"
    return {
        "asset": {"version": VERSION, "tilesetVersion": version, "extras": {"generator": generator}},
        # Not drawing the tileset at all leaves out its largest building.
        "geometricError": max(2 * cell_width_m(root.cell) / ERROR_DIVISOR, root.max_size),
        "root": tile,
        "extras": extras,
    }
