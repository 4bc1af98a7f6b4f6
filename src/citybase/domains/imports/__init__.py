"""Imports (多源数据导入): department files of many formats and coordinate systems into dataset layers,
with a validation report per import, layer versions, compare and rollback."""

from citybase.domains.imports.mapping import UNKNOWN_POLICIES
from citybase.domains.imports.model import ImportOptions, ImportRun, LayerVersion, VersionDiff
from citybase.domains.imports.readers import FORMATS
from citybase.domains.imports.service import JOB_KIND, ImportService, may_import

__all__ = [
    "FORMATS",
    "JOB_KIND",
    "UNKNOWN_POLICIES",
    "ImportOptions",
    "ImportRun",
    "ImportService",
    "LayerVersion",
    "VersionDiff",
    "may_import",
]
