"""Plain values of the objects domain; serialisation (JSON, GeoJSON) lives in the adaptors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from shapely.geometry.base import BaseGeometry

from citybase.kernel.geo import BBox

T = TypeVar("T")


class LifecycleState(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    RETIRED = "retired"


# Allowed lifecycle moves. Retired is final: a retired object (and its code) never comes back.
TRANSITIONS: dict[LifecycleState, frozenset[LifecycleState]] = {
    LifecycleState.PLANNED: frozenset({LifecycleState.ACTIVE, LifecycleState.RETIRED}),
    LifecycleState.ACTIVE: frozenset({LifecycleState.RETIRED}),
    LifecycleState.RETIRED: frozenset(),
}


@dataclass(frozen=True, slots=True)
class CityObject:
    id: int
    code: str | None
    class_code: str
    name: str
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    department_id: int | None
    parent_id: int | None
    state: str
    valid_from: datetime
    valid_to: datetime | None
    version: int
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    object_id: int
    version: int
    code: str | None
    class_code: str
    name: str
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    department_id: int | None
    parent_id: int | None
    state: str
    valid_from: datetime
    valid_to: datetime | None
    recorded_at: datetime
    recorded_by: str
    change: str


@dataclass(frozen=True, slots=True)
class NewObject:
    class_code: str
    name: str
    geometry: BaseGeometry | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    department_id: int | None = None
    parent_id: int | None = None
    state: str = LifecycleState.ACTIVE.value
    valid_from: datetime | None = None


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@dataclass(frozen=True, slots=True)
class ObjectChanges:
    """A partial update; fields left UNSET keep their value. ``attributes`` replaces the whole set."""

    name: Any = UNSET
    geometry: Any = UNSET
    attributes: Any = UNSET
    state: Any = UNSET
    parent_id: Any = UNSET
    valid_from: Any = UNSET

    def given(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if getattr(self, k) is not UNSET}


@dataclass(frozen=True, slots=True)
class ObjectQuery:
    class_code: str | None = None
    code: str | None = None
    name: str | None = None  # exact name
    text: str | None = None  # substring search in names
    bbox: BBox | None = None
    department_id: int | None = None
    parent_id: int | None = None
    state: str | None = None
    attributes: dict[str, str] = field(default_factory=dict)
    as_of: datetime | None = None
    limit: int = 100
    offset: int = 0
    count: bool = False


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    limit: int
    offset: int
    has_more: bool
    total: int | None = None
