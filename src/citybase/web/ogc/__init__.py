"""OGC API – Features (Part 1 core/GeoJSON/HTML/OpenAPI 3.0, Part 2 CRS) over the layers, at ``/ogc``."""

from citybase.web.ogc.routes import router

__all__ = ["router"]
