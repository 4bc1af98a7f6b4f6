"""Plain values of the imports domain."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class ImportOptions:
    """What an operator asks for; everything but ``layer`` is optional (see docs/import.md)."""

    layer: str
    class_code: str | None = None  # needed when the layer is new
    crs: str | None = None  # --crs; else the file's own; never guessed
    department: str | None = None  # department code: owner of a new layer and of its objects
    mapping: dict[str, str] | None = None  # source column -> target; saved per department + class
    unknown: str = "keep"  # columns that are not attributes: keep | drop | reject
    source_layer: str | None = None  # layer / sheet inside the file (OSM: points, lines, multipolygons)
    where: str | None = None  # OGR SQL filter on the file (e.g. building IS NOT NULL for OSM)
    lon_column: str | None = None  # CSV/XLSX coordinate columns (default lon/lng/x/经度, lat/y/纬度)
    lat_column: str | None = None
    all_or_nothing: bool = False  # fail the whole import when any row is rejected
    title: str | None = None  # title of a new layer
    assign_codes: bool = False  # give the new objects their unified codes in the same transaction

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ImportRun:
    id: int
    job_id: int | None
    layer_name: str
    file_name: str
    options: dict[str, Any]
    state: str
    report: dict[str, Any] | None
    layer_version: int | None
    department_id: int | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class LayerVersion:
    layer: str
    version: int
    change: str  # import | rollback
    import_id: int | None
    rolled_back_to: int | None
    counts: dict[str, int]
    created_at: datetime
    created_by: str
    current: bool = False


@dataclass(frozen=True, slots=True)
class VersionDiff:
    """Objects of a dataset layer between two versions (object ids, sorted)."""

    layer: str
    from_version: int
    to_version: int
    added: list[int] = field(default_factory=list)
    changed: list[int] = field(default_factory=list)
    retired: list[int] = field(default_factory=list)
    unchanged: int = 0
