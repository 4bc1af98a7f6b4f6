"""Task kinds, states, the transition table and the plain result types of the collection loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from citybase.domains.access import Actor

# kind -> (中文, English). The part before the dot picks the second-review department (DEPARTMENT_OF).
KINDS: dict[str, tuple[str, str]] = {
    "address.rename": ("门牌变更", "door-plate change"),
    "address.new": ("新增门牌", "new door plate"),
    "address.unmatched": ("未匹配地址", "unmatched address"),
    "address.report": ("地址问题上报", "address problem report"),
    "house.update": ("房屋信息变更", "house update"),
    "house.new_building": ("新建楼栋", "new building"),
    "house.no_rooms": ("楼栋缺少房间", "building without rooms"),
    "people.move_in": ("人口迁入", "resident moving in"),
    "people.move_out": ("人口迁出", "resident moving out"),
    "people.register": ("人口登记", "resident registration"),
    "people.retired_room": ("人员住在已注销房间", "person in a retired room"),
    "org.register": ("新增单位", "new organisation"),
    "org.bind": ("单位绑定地址", "organisation bound to an address"),
    "org.report": ("单位变更上报", "organisation change report"),
}
# The default second-review (复审) department of each kind family, by department code.
DEPARTMENT_OF: dict[str, str] = {"address": "mzj", "house": "zjj", "people": "gaj", "org": "scjgj"}

SOURCES = ("person", "scan", "match", "rule")
STATES = ("open", "submitted", "first_approved", "accepted", "returned", "rejected", "cancelled")
CLOSED = ("accepted", "rejected", "cancelled")
OPEN_STATES = tuple(s for s in STATES if s not in CLOSED)

# action -> (states it may start from, the state it leads to, the duty that may take it)
# duty: worker (采集), first (初审, street), second (复审, department), manager (first or second review).
TRANSITIONS: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "submit": (("open", "returned"), "submitted", "worker"),
    "approve": (("submitted",), "first_approved", "first"),
    "accept": (("first_approved",), "accepted", "second"),
    "return": (("submitted", "first_approved"), "returned", "reviewer"),
    "reject": (("submitted", "first_approved"), "rejected", "reviewer"),
    "cancel": (("open", "returned"), "cancelled", "manager"),
}
NEEDS_REASON = ("return", "reject", "cancel")

Applier = Callable[[Connection, Actor, dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class TaskEvent:
    id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str
    reason: str | None
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    kind: str
    title: str
    detail: dict[str, Any]
    collected: dict[str, Any] | None
    source: str
    source_ref: str | None
    address_node_id: int | None
    lon: float | None
    lat: float | None
    grid_id: int | None
    department_id: int | None
    assignee_id: int | None
    state: str
    version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    due_at: datetime | None
    events: list[TaskEvent] = field(default_factory=list)
    last_reason: str | None = None  # why it was last returned, rejected or cancelled (what the worker sees)


@dataclass(frozen=True, slots=True)
class GapRow:
    """One line of the errors-and-gaps list (错误、缺漏数据库): open tasks of one grid or department."""

    scope: str  # "grid" | "department"
    id: int | None  # None: tasks with no grid (or no department)
    total: int
    by_kind: dict[str, int]
    ages: dict[str, int]  # le_7d, d8_30, gt_30d
    name: str | None = None  # the grid's or the department's name
