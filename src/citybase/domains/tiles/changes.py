"""Tile cache invalidation across processes: a short change log in ``platform_meta``.

Every process that serves tiles from the same database (several web workers, the CLI, job runners) has
its own memory cache, and may share the disk cache under the data dir. A process learns of its own
writes from ``objects.changed``; to let the others know, it appends each change, after its commit, to
one ``platform_meta`` row (key ``tiles.changes``): a counter and the last :data:`KEEP` changes (classes
and up to :data:`MAX_BOXES` boxes; more are merged into their union, which only widens what is dropped).

Before it answers a tile, a process reads that row at most once per :data:`INTERVAL_S` and applies the
changes of others it has not seen, exactly as if the event had been its own; so another process's write
shows in its tiles within about a second. A process that fell further behind than the log reaches (or
finds the counter reset) cannot tell what changed, and retires every tile (see ``TileService.sync``).

Why after the commit, in a transaction of its own, rather than in the writer's transaction: a counter row
updated inside every write transaction would be held locked until that transaction ends, so on PostgreSQL
every writer would queue behind the longest import. The cost is a window between the data commit and the
log write; a process that dies inside it leaves other processes' memory caches stale until they restart
(disk tiles are keyed by a data stamp taken at first use, so a restart never serves them).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from citybase.store import Store
from citybase.store.schema import platform_meta

log = logging.getLogger(__name__)
KEY = "tiles.changes"
KEEP = 64  # changes kept in the row
MAX_BOXES = 8  # boxes kept per change; more are merged into their union
INTERVAL_S = 1.0  # how often a process reads the log, at most

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class Change:
    n: int
    classes: frozenset[str]
    boxes: tuple[Box, ...]


def _compact(boxes: list[Box]) -> list[list[float]]:
    if len(boxes) <= MAX_BOXES:
        return [list(b) for b in boxes]
    return [[min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]]


class ChangeLog:
    """One process's view of the shared change log: :meth:`record` its own changes, :meth:`poll` for others'."""

    def __init__(self, store: Store, interval_s: float = INTERVAL_S) -> None:
        self.store = store
        self.interval_s = interval_s
        self.checks = 0  # reads of the log (tests check the "at most once per interval")
        self._lock = threading.Lock()
        self._seen: int | None = None  # the last change applied (None: not read yet)
        self._mine: set[int] = set()  # changes this process wrote and applied itself
        self._next_check = 0.0

    def due(self) -> bool:
        """Whether the next tile should read the log first (a clock read: cheap on every request)."""
        return time.monotonic() >= self._next_check

    def record(self, classes: Iterable[str], boxes: list[Box]) -> int:
        """Append a change this process has applied already; returns its number."""
        entry: dict[str, Any] = {"classes": sorted(classes), "boxes": _compact(boxes)}
        for attempt in range(2):
            try:
                with self.store.write() as conn:
                    q = select(platform_meta.c.value).where(platform_meta.c.key == KEY).with_for_update()
                    row = conn.execute(q).first()
                    value: dict[str, Any] = row[0] if row is not None else {"n": 0, "log": []}
                    n = int(value["n"]) + 1
                    new = {"n": n, "log": [*value["log"], {"n": n, **entry}][-KEEP:]}
                    if row is None:
                        conn.execute(platform_meta.insert().values(key=KEY, value=new))
                    else:
                        conn.execute(update(platform_meta).where(platform_meta.c.key == KEY).values(value=new))
            except IntegrityError:  # another process made the row at the same moment: take the update path
                if attempt:
                    raise
                continue
            with self._lock:
                self._mine.add(n)
            return n
        raise AssertionError("unreachable")

    def poll(self) -> list[Change] | None:
        """Changes other processes made since the last poll ([] when none, or when polled less than an
        interval ago); None when some cannot be known (the caller must then retire every tile)."""
        now = time.monotonic()
        with self._lock:
            if now < self._next_check:
                return []
            self._next_check = now + self.interval_s
        self.checks += 1
        with self.store.read() as conn:
            stored = conn.execute(select(platform_meta.c.value).where(platform_meta.c.key == KEY)).scalar()
        value: dict[str, Any] = stored or {"n": 0, "log": []}
        top = int(value["n"])
        with self._lock:
            seen, self._seen = self._seen, top
            if seen is None:  # first read: what happened before is in the data stamps of the tokens
                self._mine = {m for m in self._mine if m > top}
                return []
            entries = [e for e in value["log"] if e["n"] > seen]
            missed = top < seen or (top > seen and (not entries or entries[0]["n"] > seen + 1))
            fresh = [e for e in entries if e["n"] not in self._mine]
            self._mine = {m for m in self._mine if m > top}
        if missed:
            log.info("tile change log moved from %s to %s beyond what it keeps: retiring every tile", seen, top)
            return None
        return [Change(e["n"], frozenset(e["classes"]), tuple(tuple(b) for b in e["boxes"])) for e in fresh]
