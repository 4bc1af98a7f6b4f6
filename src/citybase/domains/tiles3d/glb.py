"""glTF 2.0 binary (.glb) content of a tile: one white, lit mesh whose features are the buildings.

Written with numpy buffers per the glTF 2.0 spec (§4.4 GLB: a 12-byte header, a JSON chunk, a BIN
chunk) rather than through a glTF library: the container is a few lines, the extensions we need
(EXT_mesh_features, EXT_structural_metadata) are plain JSON either way, and the server then needs no
extra run-time dependency. The tests read every file back with pygltflib, an independent reader.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from citybase.domains.tiles3d.mesh import Mesh

MIME_TYPE = "model/gltf-binary"
SCHEMA_ID = "citybase_white_model"
CLASS_NAME = "building"
NO_FLOORS = -1
WHITE = [0.96, 0.96, 0.96, 1.0]
_FLOAT, _UINT32 = 5126, 5125
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963

# The metadata class of a building (EXT_structural_metadata): what a click on a white model shows.
BUILDING_CLASS: dict[str, Any] = {
    "name": "建筑物 Building",
    "properties": {
        "id": {"type": "SCALAR", "componentType": "INT64", "description": "citybase object id"},
        "code": {"type": "STRING", "description": "统一识别代码 unified code (empty until assigned)"},
        "name": {"type": "STRING"},
        "height_m": {"type": "SCALAR", "componentType": "FLOAT32", "description": "drawn height in metres"},
        "height_source": {"type": "STRING", "description": "height_m | floors*floor_height_m | floors*3m | default"},
        "floors": {"type": "SCALAR", "componentType": "INT32", "noData": NO_FLOORS},
    },
}


@dataclass(frozen=True, slots=True)
class Feature:
    """One building in a tile: feature id = its position in the tile's list."""

    id: int
    code: str
    name: str
    height_m: float
    height_source: str
    floors: int | None


class _Buffer:
    def __init__(self) -> None:
        self.data = bytearray()
        self.views: list[dict[str, Any]] = []

    def view(self, payload: bytes, target: int | None = None) -> int:
        self.data += b"\0" * (-len(self.data) % 8)  # property tables need 8-byte alignment
        view: dict[str, Any] = {"buffer": 0, "byteOffset": len(self.data), "byteLength": len(payload)}
        if target is not None:
            view["target"] = target
        self.views.append(view)
        self.data += payload
        return len(self.views) - 1

    def strings(self, values: Sequence[str]) -> dict[str, int]:
        encoded = [v.encode("utf-8") for v in values]
        offsets = np.concatenate([[0], np.cumsum([len(e) for e in encoded])]).astype("<u4")
        return {"values": self.view(b"".join(encoded)), "stringOffsets": self.view(offsets.tobytes())}


def _accessor(buf: _Buffer, array: np.ndarray, kind: str, component: int, target: int) -> dict[str, Any]:
    acc: dict[str, Any] = {
        "bufferView": buf.view(np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes(), target),
        "componentType": component,
        "count": len(array),
        "type": kind,
    }
    if kind == "VEC3" and len(array):
        acc["min"] = [float(v) for v in array.min(axis=0)]
        acc["max"] = [float(v) for v in array.max(axis=0)]
    return acc


def _property_table(buf: _Buffer, features: Sequence[Feature]) -> dict[str, Any]:
    floors = [NO_FLOORS if f.floors is None else int(f.floors) for f in features]
    return {
        "class": CLASS_NAME,
        "count": len(features),
        "properties": {
            "id": {"values": buf.view(np.array([f.id for f in features], dtype="<i8").tobytes())},
            "code": buf.strings([f.code for f in features]),
            "name": buf.strings([f.name for f in features]),
            "height_m": {"values": buf.view(np.array([f.height_m for f in features], dtype="<f4").tobytes())},
            "height_source": buf.strings([f.height_source for f in features]),
            "floors": {"values": buf.view(np.array(floors, dtype="<i4").tobytes())},
        },
    }


def _chunk(payload: bytes, kind: bytes, pad: bytes) -> bytes:
    payload += pad * (-len(payload) % 4)
    return struct.pack("<I", len(payload)) + kind + payload


def encode_glb(mesh: Mesh, features: Sequence[Feature], generator: str) -> bytes:
    """The .glb bytes of ``mesh`` with one metadata row per feature."""
    buf = _Buffer()
    accessors = [
        _accessor(buf, mesh.positions, "VEC3", _FLOAT, _ARRAY_BUFFER),
        _accessor(buf, mesh.normals, "VEC3", _FLOAT, _ARRAY_BUFFER),
        _accessor(buf, mesh.feature_ids, "SCALAR", _FLOAT, _ARRAY_BUFFER),
        _accessor(buf, mesh.indices, "SCALAR", _UINT32, _ELEMENT_ARRAY_BUFFER),
    ]
    table = _property_table(buf, features)
    buf.data += b"\0" * (-len(buf.data) % 4)
    primitive = {
        "attributes": {"POSITION": 0, "NORMAL": 1, "_FEATURE_ID_0": 2},
        "indices": 3,
        "material": 0,
        "mode": 4,
        "extensions": {
            "EXT_mesh_features": {"featureIds": [{"featureCount": len(features), "attribute": 0, "propertyTable": 0}]}
        },
    }
    doc = {
        "asset": {"version": "2.0", "generator": generator},
        "extensionsUsed": ["EXT_mesh_features", "EXT_structural_metadata"],
        "extensions": {
            "EXT_structural_metadata": {
                "schema": {"id": SCHEMA_ID, "classes": {CLASS_NAME: BUILDING_CLASS}},
                "propertyTables": [table],
            }
        },
        "scene": 0,
        "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0}],
        "meshes": [{"primitives": [primitive]}],
        "materials": [
            {
                "name": "white model",
                "pbrMetallicRoughness": {"baseColorFactor": WHITE, "metallicFactor": 0.0, "roughnessFactor": 1.0},
            }
        ],
        "accessors": accessors,
        "bufferViews": buf.views,
        "buffers": [{"byteLength": len(buf.data)}],
    }
    json_chunk = _chunk(json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), b"JSON", b" ")
    bin_chunk = _chunk(bytes(buf.data), b"BIN\0", b"\0")
    total = 12 + len(json_chunk) + len(bin_chunk)
    return struct.pack("<4sII", b"glTF", 2, total) + json_chunk + bin_chunk
