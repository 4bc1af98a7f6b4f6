"""Unified codes (赋码): assignment, Beidou codes, lifecycle and lineage, crosswalk, resolution, labels, health."""

from citybase.domains.codes.locator import DISTRICT_CLASS, DistrictLocator, district_locator
from citybase.domains.codes.model import (
    Assignment,
    BeidouCode,
    CodeCard,
    CodeState,
    CrosswalkEntry,
    HealthProblem,
    HealthReport,
    LineageKind,
    LineageLink,
    Part,
    Selection,
)
from citybase.domains.codes.service import ASSIGN_JOB, CodeService
from citybase.domains.codes.writing import DivisionLocator

__all__ = [
    "ASSIGN_JOB",
    "DISTRICT_CLASS",
    "Assignment",
    "BeidouCode",
    "CodeCard",
    "CodeService",
    "CodeState",
    "CrosswalkEntry",
    "DistrictLocator",
    "DivisionLocator",
    "HealthProblem",
    "HealthReport",
    "LineageKind",
    "LineageLink",
    "Part",
    "Selection",
    "district_locator",
]
