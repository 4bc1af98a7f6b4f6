"""3D Tiles 1.1 white models of building layers: glTF content with feature metadata (docs/3dtiles.md)."""

from citybase.domains.tiles3d.glb import MIME_TYPE
from citybase.domains.tiles3d.heights import DEFAULT_FLOOR_HEIGHT_M, DEFAULT_HEIGHT_M, building_height
from citybase.domains.tiles3d.service import EXPORT_JOB, ExportReport, Tiles3DService

__all__ = [
    "DEFAULT_FLOOR_HEIGHT_M",
    "DEFAULT_HEIGHT_M",
    "EXPORT_JOB",
    "MIME_TYPE",
    "ExportReport",
    "Tiles3DService",
    "building_height",
]
