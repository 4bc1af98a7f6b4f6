"""The collection loop (采集 → 初审 → 复审): field tasks, two-level review, the errors-and-gaps list."""

from citybase.domains.collect.appliers import address_appliers
from citybase.domains.collect.model import (
    CLOSED,
    DEPARTMENT_OF,
    KINDS,
    OPEN_STATES,
    SOURCES,
    STATES,
    Applier,
    GapRow,
    Task,
    TaskEvent,
)
from citybase.domains.collect.rules import RULES, RuleRun, run_rules
from citybase.domains.collect.scope import GridDirectory, NoGrids
from citybase.domains.collect.service import CollectService
from citybase.domains.collect.sources import tasks_from_address_review

__all__ = [
    "CLOSED",
    "DEPARTMENT_OF",
    "KINDS",
    "OPEN_STATES",
    "RULES",
    "SOURCES",
    "STATES",
    "Applier",
    "CollectService",
    "GapRow",
    "GridDirectory",
    "NoGrids",
    "RuleRun",
    "Task",
    "TaskEvent",
    "address_appliers",
    "run_rules",
    "tasks_from_address_review",
]

# citizen reports from QR door plates (扫码上报)
from citybase.domains.collect.reports import REPORT_KINDS as REPORT_KINDS
from citybase.domains.collect.reports import PublicReports as PublicReports
from citybase.domains.collect.reports import RateLimitedError as RateLimitedError
from citybase.domains.collect.reports import RateLimiter as RateLimiter
from citybase.domains.collect.reports import check_report as check_report
