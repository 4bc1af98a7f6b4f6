"""City objects (城市实体对象): classes, objects with full history, search."""

from citybase.domains.objects.classes import AttributeDef, ClassRegistry, ObjectClass, build_class, seed_class_table
from citybase.domains.objects.importing import JOB_KIND as IMPORT_GEOJSON_JOB
from citybase.domains.objects.importing import make_handler as make_import_handler
from citybase.domains.objects.model import (
    UNSET,
    CityObject,
    LifecycleState,
    NewObject,
    ObjectChanges,
    ObjectQuery,
    ObjectVersion,
    Page,
)
from citybase.domains.objects.service import MAX_LIMIT, ObjectService
from citybase.domains.objects.stats import AreaStats, ClassCount, stats_in_area

__all__ = [
    "IMPORT_GEOJSON_JOB",
    "MAX_LIMIT",
    "UNSET",
    "AreaStats",
    "AttributeDef",
    "CityObject",
    "ClassCount",
    "ClassRegistry",
    "LifecycleState",
    "NewObject",
    "ObjectChanges",
    "ObjectClass",
    "ObjectQuery",
    "ObjectService",
    "ObjectVersion",
    "Page",
    "build_class",
    "make_import_handler",
    "seed_class_table",
    "stats_in_area",
]
