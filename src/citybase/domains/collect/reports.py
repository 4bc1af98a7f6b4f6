"""Citizen reports from a QR door plate (扫码上报): a public report becomes a collection task (source=scan).

Anyone who scans a plate may report a new shop, a shop or household that moved out, a wrong plate or
anything else about that address. Reports are anonymous; the optional contact phone is stored only
encrypted (``registry.personal``) with its masked form beside it, so the task list shows 138****5678
and only a caller allowed to decrypt sees the number. Abuse is bounded by size limits and a per-client
sliding-window rate limit (:class:`RateLimiter`, in memory: one limiter per server process).
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from citybase.domains.access import ANONYMOUS, Actor
from citybase.domains.addresses import AddressService
from citybase.domains.registry import node_by_display_code
from citybase.domains.registry.personal import PersonalData, mask_phone
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.errors import RateLimitedError as RateLimitedError  # moved to the kernel; kept importable

# report kind -> (中文, English, the collection task kind it becomes)
REPORT_KINDS: dict[str, tuple[str, str, str]] = {
    "new_shop": ("新开店铺", "new shop", "org.report"),
    "moved_out": ("搬离", "moved out", "org.report"),
    "wrong_plate": ("门牌错误", "wrong plate", "address.report"),
    "other": ("其他", "other", "address.report"),
}
MAX_DESCRIPTION = 500  # characters
MIN_DESCRIPTION = 2
MAX_CODE = 40
PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,18}[0-9]$")
RATE_LIMIT = 5  # reports per client ...
RATE_WINDOW = 600.0  # ... per this many seconds


class RateLimiter:
    """At most ``limit`` events per key in any ``window`` seconds (a sliding log; thread-safe)."""

    def __init__(
        self, limit: int = RATE_LIMIT, window: float = RATE_WINDOW, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._log: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> None:
        """Count one event for ``key``, or raise :class:`RateLimitedError` (the event is not counted)."""
        now = self.clock()
        with self._lock:
            if len(self._log) > 10_000:  # forget idle clients so the map cannot grow without bound
                self._log = {k: q for k, q in self._log.items() if q and q[-1] > now - self.window}
            q = self._log.setdefault(key, deque())
            while q and q[0] <= now - self.window:
                q.popleft()
            if len(q) >= self.limit:
                wait = max(1, int(q[0] + self.window - now) + 1)
                raise RateLimitedError(
                    f"at most {self.limit} reports per {int(self.window // 60)} minutes; try again in {wait} s", wait
                )
            q.append(now)


@dataclass(frozen=True, slots=True)
class PublicReport:
    display_code: str
    kind: str
    description: str
    phone: str | None


@dataclass(frozen=True, slots=True)
class ReportReceipt:
    task_id: int
    reference: str  # what the citizen is shown: 上报编号
    kind: str


class TaskCreator(Protocol):
    """The part of ``CollectService`` a report needs."""

    def create_task(
        self,
        actor: Actor,
        *,
        kind: str,
        source: str,
        address_node_id: int | None,
        point: tuple[float, float] | None,
        title: str,
        detail: dict[str, Any],
    ) -> Any: ...


def check_report(display_code: Any, kind: Any, description: Any, phone: Any = None) -> PublicReport:
    """Validate a report's fields; every problem is one issue naming the field and the reason."""
    issues: list[Issue] = []
    code = display_code.strip() if isinstance(display_code, str) else ""
    if not code or len(code) > MAX_CODE:
        issues.append(Issue("code", f"the plate's display code is required (at most {MAX_CODE} characters)"))
    if kind not in REPORT_KINDS:
        issues.append(Issue("kind", f"{str(kind)[:30]!r} is not one of {', '.join(REPORT_KINDS)}"))
    text = description.strip() if isinstance(description, str) else ""
    if len(text) < MIN_DESCRIPTION:
        issues.append(Issue("description", f"describe the change in at least {MIN_DESCRIPTION} characters"))
    elif len(text) > MAX_DESCRIPTION:
        issues.append(Issue("description", f"{len(text)} characters; at most {MAX_DESCRIPTION}"))
    elif any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        issues.append(Issue("description", "control characters are not allowed"))
    number = phone.strip() if isinstance(phone, str) else None
    if phone is not None and not isinstance(phone, str):
        issues.append(Issue("phone", "must be text"))
    elif number and not PHONE.match(number):
        issues.append(Issue("phone", "not a phone number (digits, spaces, '-' or a leading '+'; 6-20 characters)"))
    if issues:
        raise InvalidInputError("bad report", issues=[Issue(i.field, i.reason, code or None) for i in issues])
    return PublicReport(code, str(kind), text, number or None)


class PublicReports:
    """Turns checked public reports into collection tasks (see module docstring)."""

    def __init__(
        self,
        addresses: AddressService,
        tasks: TaskCreator,
        personal: PersonalData,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.addresses = addresses
        self.tasks = tasks
        self.personal = personal
        self.limiter = limiter or RateLimiter()

    def submit(self, report: PublicReport, client: str, actor: Actor = ANONYMOUS) -> ReportReceipt:
        """Create the task for ``report`` from ``client`` (an IP address); unknown code → NotFoundError."""
        node_id = node_by_display_code(self.addresses, report.display_code)
        self.limiter.hit(client)  # after the look-up: a typo does not use up the citizen's quota
        node = self.addresses.node(node_id)
        record = self.addresses.record(node_id)
        zh, _en, task_kind = REPORT_KINDS[report.kind]
        # Compact: an anonymous task's detail is capped (collect.checks.MAX_ANONYMOUS_DETAIL_BYTES); the
        # address text is in the title and the node id on the task.
        detail: dict[str, Any] = {
            "channel": "qr_plate",
            "report_kind": report.kind,
            "description": report.description,
            "display_code": node.display_code,
        }
        if report.phone:
            detail["contact_phone_masked"] = mask_phone(report.phone)
            detail["contact_phone_encrypted"] = self.personal.encrypt(report.phone)
        point = (node.lon, node.lat) if node.lon is not None and node.lat is not None else None
        title = f"扫码上报·{zh}：{record.full_address}"[:200]
        task = self.tasks.create_task(
            actor,
            kind=task_kind,
            source="scan",
            address_node_id=node_id,
            point=point,
            title=title,
            detail=detail,
        )
        task_id = int(task.id)
        return ReportReceipt(task_id, f"SB{task_id:08d}", report.kind)
