"""Plain values of the layers domain."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from shapely.geometry.base import BaseGeometry

from citybase.kernel.geo import BBox


class LayerKind(StrEnum):
    CLASS = "class"  # a published view over one object class
    DATASET = "dataset"  # an imported dataset: the objects of its current layer version (domains/imports)


class AccessLevel(StrEnum):
    PUBLIC = "public"  # anyone, also anonymous callers
    INTERNAL = "internal"  # any logged-in caller
    RESTRICTED = "restricted"  # the named departments (and platform admins)


@dataclass(frozen=True, slots=True)
class Layer:
    id: int
    name: str
    title: str
    description: str
    department_id: int | None
    kind: str
    class_code: str | None
    style: dict[str, Any]
    access: str
    allowed_departments: list[int]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class NewLayer:
    name: str
    title: str
    class_code: str
    description: str = ""
    department_id: int | None = None
    kind: str = LayerKind.CLASS.value
    style: dict[str, Any] = field(default_factory=dict)
    access: str = AccessLevel.PUBLIC.value
    allowed_departments: list[int] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LayerChanges:
    """A partial update: fields left None keep their value."""

    title: str | None = None
    description: str | None = None
    style: dict[str, Any] | None = None
    access: str | None = None
    allowed_departments: list[int] | None = None
    department_id: int | None = None


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """A closed or half-open interval; None is an open end (``..``). An instant has start == end."""

    start: datetime | None
    end: datetime | None


@dataclass(frozen=True, slots=True)
class FeatureQuery:
    """What ``LayerService.features`` selects: all filters combine with AND.

    ``where`` is an extra SQLAlchemy clause on ``city_object`` built by a filter language adaptor
    (CQL2); it must be built from columns and the store's neutral predicates only.
    """

    bbox: BBox | None = None
    intersects: BaseGeometry | None = None
    datetime: TimeInterval | None = None
    properties: dict[str, str] = field(default_factory=dict)
    where: Any = None
    limit: int = 10
    offset: int = 0
    count: bool = True
    version: int | None = None  # a dataset layer as it was in this layer version (None: now)


@dataclass(frozen=True, slots=True)
class FeaturePage:
    items: list[Any]  # CityObject
    limit: int
    offset: int
    has_more: bool
    matched: int | None  # exact or estimated count of matching objects
    matched_exact: bool
