"""Plain values of the codes domain; serialisation lives in the adaptors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry

from citybase.kernel.geo import BBox


class CodeState(StrEnum):
    """A code is active while its object lives; it retires with the object and is never issued again."""

    ACTIVE = "active"
    RETIRED = "retired"


class LineageKind(StrEnum):
    MERGE = "merge"  # N codes -> 1 new code
    SPLIT = "split"  # 1 code -> N new codes


@dataclass(frozen=True, slots=True)
class Assignment:
    object_id: int
    code: str
    beidou: str | None


@dataclass(frozen=True, slots=True)
class BeidouCode:
    code2d: str
    code3d: str | None
    height_m: float | None
    computed_at: datetime


@dataclass(frozen=True, slots=True)
class LineageLink:
    from_code: str
    to_code: str
    kind: str
    at: datetime
    actor: str


@dataclass(frozen=True, slots=True)
class CodeCard:
    """Everything a department or a citizen needs to know about one code (the resolution result)."""

    code: str
    code_state: str
    issued_at: datetime
    retired_at: datetime | None
    division: str
    division_name: str | None
    object_id: int
    class_code: str
    class_name: str | None
    name: str
    state: str
    department_id: int | None
    department_code: str | None
    department_name: str | None
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    version: int
    beidou: BeidouCode | None
    came_from: list[LineageLink]
    went_to: list[LineageLink]
    replaced_by: list[str]
    address: str | None = None  # filled in once standard addresses exist
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Part:
    """One object a merge or split creates. ``class_code`` None keeps the class of the source(s)."""

    name: str
    geometry: BaseGeometry | None = None
    attributes: dict[str, Any] | None = None
    class_code: str | None = None


@dataclass(frozen=True, slots=True)
class CrosswalkEntry:
    department_id: int
    department_code: str
    legacy_id: str
    code: str
    code_state: str
    created_at: datetime
    created_by: str


@dataclass(frozen=True, slots=True)
class Selection:
    """Which objects a bulk assignment codes: every uncoded, non-retired object that matches.

    ``legacy_attribute`` names an attribute holding the owning department's own identifier; each coded
    object that has it gets a crosswalk entry (department, that value) -> its new code.
    """

    class_code: str | None = None
    department_id: int | None = None
    bbox: BBox | None = None
    legacy_attribute: str | None = None

    def as_params(self) -> dict[str, Any]:
        return {
            "class_code": self.class_code,
            "department_id": self.department_id,
            "bbox": list(self.bbox.as_tuple()) if self.bbox else None,
            "legacy_attribute": self.legacy_attribute,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> Selection:
        box = params.get("bbox")
        return cls(
            class_code=params.get("class_code"),
            department_id=params.get("department_id"),
            bbox=BBox(*box) if box else None,
            legacy_attribute=params.get("legacy_attribute"),
        )


@dataclass(frozen=True, slots=True)
class HealthProblem:
    kind: str
    description: str
    count: int
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HealthReport:
    department_id: int | None
    generated_at: datetime
    objects: int
    coded: int
    problems: list[HealthProblem]

    def problem(self, kind: str) -> HealthProblem:
        return next(p for p in self.problems if p.kind == kind)
