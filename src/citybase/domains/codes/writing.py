"""Coding a batch of objects: the one path single and bulk assignment share, in three steps.

1. ``prepare`` (any connection): representative points, divisions from the locator, legacy ids
   checked for repeats;
2. ``allocate`` (a write transaction): one serial range per (division, class), taken in sorted order
   so concurrent writers lock counters in the same order; codes and Beidou codes computed in numpy;
3. ``write`` (a write transaction): the rows staged in a temporary table, then four set-based
   statements (objects, registry, Beidou codes, crosswalk).

A single assignment runs all three in one transaction: its counters and codes commit together. A bulk
chunk allocates in a short transaction of its own, so parallel chunks do not queue on the counter
rows for the whole of their write; if the write then fails, those serials stay unused (a gap), and
are never handed out again.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, Column, Connection, Integer, String, and_, insert, literal, select, update

from citybase.domains.codes.locator import ancestor_wkbs
from citybase.domains.codes.model import CodeState
from citybase.domains.codes.numbering import beidou_codes, make_codes, representative_points
from citybase.domains.objects import LifecycleState
from citybase.kernel.errors import ConflictError, Issue
from citybase.standards.unified_code import CodeScheme
from citybase.store.counters import allocate_serials, staged
from citybase.store.schema import city_object, code_crosswalk, code_registry, object_beidou
from citybase.store.types import UTCDateTime

STAGE_COLUMNS: list[Column[Any]] = [
    Column("id", BigInteger),
    Column("code", String(21)),
    Column("division", String(6)),
    Column("class_code", String(6)),
    Column("department_id", Integer),
    Column("code2d", String(20)),
    Column("legacy_id", String(100)),
]


class RaceLost(ConflictError):
    """Another writer coded or retired some objects of the batch between our read and our write."""


class DivisionLocator(Protocol):
    """Gives the 6-digit division of each point (NaN coordinates: no geometry)."""

    def __call__(self, conn: Connection, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> Any: ...

    def problems(self, conn: Connection) -> list[Issue]:
        """What would make locating fail (checked before a bulk run writes anything)."""
        ...


@dataclass(frozen=True, slots=True)
class Batch:
    """Objects to code, in ascending id order; parallel lists."""

    ids: list[int]
    class_codes: list[str]
    department_ids: list[int | None]
    wkbs: list[bytes | None]
    legacy_ids: list[str | None]

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True, slots=True)
class Prepared:
    batch: Batch
    xs: npt.NDArray[np.float64]
    ys: npt.NDArray[np.float64]
    divisions: npt.NDArray[np.str_]


@dataclass(frozen=True, slots=True)
class Coded:
    ids: list[int]
    codes: list[str]
    divisions: list[str]
    beidou: list[str | None]


class Clock:
    """Adds the time since the last lap to ``timings[name]`` (the benchmark's phase breakdown)."""

    def __init__(self, timings: dict[str, float] | None) -> None:
        self.timings = timings
        self.last = time.perf_counter()

    def lap(self, name: str) -> None:
        if self.timings is None:
            return
        now = time.perf_counter()
        self.timings[name] = self.timings.get(name, 0.0) + now - self.last
        self.last = now


def repeated_legacy_ids(batch: Batch) -> list[Issue]:
    pairs = Counter((d, lid) for d, lid in zip(batch.department_ids, batch.legacy_ids, strict=True) if lid is not None)
    return [
        Issue("legacy_id", f"department {d} legacy id {lid!r} is given to {n} objects in this batch")
        for (d, lid), n in pairs.items()
        if n > 1
    ]


def prepare(conn: Connection, locate: DivisionLocator, batch: Batch, clock: Clock | None = None) -> Prepared:
    """Points and divisions of a batch (reads only)."""
    clock = clock or Clock(None)
    issues = repeated_legacy_ids(batch)
    if issues:
        raise ConflictError("conflicting crosswalk entries; nothing was coded", issues=issues[:100])
    wkbs = batch.wkbs
    unplaced = [i for i, g in zip(batch.ids, wkbs, strict=True) if g is None]
    if unplaced:  # rooms and units: where their building is
        inherited = ancestor_wkbs(conn, unplaced)
        wkbs = [inherited.get(i) if g is None else g for i, g in zip(batch.ids, wkbs, strict=True)]
    xs, ys = representative_points(wkbs)
    clock.lap("points")
    divisions = np.asarray(locate(conn, xs, ys), dtype="U6")
    clock.lap("locate")
    return Prepared(batch, xs, ys, divisions)


def allocate(conn: Connection, scheme: CodeScheme, prep: Prepared, clock: Clock | None = None) -> Coded:
    """Take the serials (one counter update per division + class) and make the codes."""
    clock = clock or Clock(None)
    keys = np.char.add(prep.divisions, np.asarray(prep.batch.class_codes, dtype="U6"))
    groups, inverse = np.unique(keys, return_inverse=True)  # sorted: a fixed lock order
    order = np.argsort(inverse, kind="stable")
    bounds = np.searchsorted(inverse[order], np.arange(groups.size + 1))
    codes = np.empty(len(prep.batch), dtype="U21")
    for g, key in enumerate(groups.tolist()):
        members = order[bounds[g] : bounds[g + 1]]
        first = allocate_serials(conn, key[:6], key[6:], members.size)
        codes[members] = make_codes(scheme, key[:6], key[6:], first, members.size)
    clock.lap("codes")
    code2d = beidou_codes(prep.xs, prep.ys)
    clock.lap("beidou")
    return Coded(prep.batch.ids, codes.tolist(), prep.divisions.tolist(), code2d)


def write(
    conn: Connection,
    scheme: CodeScheme,
    prep: Prepared,
    coded: Coded,
    actor_name: str,
    clock: Clock | None = None,
    *,
    skip_taken: bool = False,
) -> int:
    """Stage the coded rows and apply them with set-based statements, inside ``conn``'s transaction.

    Objects another writer coded (or retired) since ``prepare`` are an error, or with ``skip_taken``
    are left out (their new codes are never used). Returns how many objects were coded.
    """
    clock = clock or Clock(None)
    b = prep.batch
    rows = zip(
        b.ids, coded.codes, coded.divisions, b.class_codes, b.department_ids, coded.beidou, b.legacy_ids, strict=True
    )
    with staged(conn, STAGE_COLUMNS, rows) as s:
        clock.lap("stage")
        if any(lid is not None for lid in b.legacy_ids):
            _check_crosswalk(conn, s)
        done = _apply(conn, s, len(b), scheme.name, datetime.now(UTC), actor_name, clock, skip_taken)
    return done


def code_batch(conn: Connection, scheme: CodeScheme, locate: DivisionLocator, batch: Batch, actor_name: str) -> Coded:
    """All three steps in ``conn``'s transaction (single assignment, merge, split, business nodes)."""
    if not len(batch):
        return Coded([], [], [], [])
    prep = prepare(conn, locate, batch)
    coded = allocate(conn, scheme, prep)
    write(conn, scheme, prep, coded, actor_name)
    return coded


def _check_crosswalk(conn: Connection, s: Any) -> None:
    x = code_crosswalk
    taken = conn.execute(
        select(s.c.id, x.c.department_id, x.c.legacy_id, x.c.code)
        .join(x, and_(x.c.department_id == s.c.department_id, x.c.legacy_id == s.c.legacy_id))
        .order_by(s.c.id)
        .limit(100)
    ).all()
    if taken:
        raise ConflictError(
            "conflicting crosswalk entries; nothing was coded",
            issues=[
                Issue(
                    "legacy_id",
                    f"department {r.department_id} legacy id {r.legacy_id!r} already maps to code {r.code}",
                    r.id,
                )
                for r in taken
            ],
        )


def _apply(
    conn: Connection,
    s: Any,
    n: int,
    scheme_name: str,
    now: datetime,
    actor_name: str,
    clock: Clock,
    skip_taken: bool,
) -> int:
    t = city_object
    done = conn.execute(
        update(t)
        .where(t.c.id == s.c.id, t.c.code.is_(None), t.c.state != LifecycleState.RETIRED.value)
        .values(code=s.c.code)
    ).rowcount
    if done != n:  # another writer coded or retired some of these objects meanwhile
        if not skip_taken:
            raise RaceLost(f"{n - done} of {n} objects were coded or retired meanwhile; run the assignment again")
        ours = select(t.c.id).where(t.c.id == s.c.id, t.c.code == s.c.code).exists()
        conn.execute(s.delete().where(~ours))
    clock.lap("write_objects")
    at = literal(now, UTCDateTime())
    conn.execute(
        insert(code_registry).from_select(
            ["code", "object_id", "division", "class_code", "scheme", "state", "issued_at"],
            select(
                s.c.code,
                s.c.id,
                s.c.division,
                s.c.class_code,
                literal(scheme_name),
                literal(CodeState.ACTIVE.value),
                at,
            ),
        )
    )
    clock.lap("write_registry")
    conn.execute(
        insert(object_beidou).from_select(
            ["object_id", "code2d", "computed_at"], select(s.c.id, s.c.code2d, at).where(s.c.code2d.is_not(None))
        )
    )
    clock.lap("write_beidou")
    conn.execute(
        insert(code_crosswalk).from_select(
            ["department_id", "legacy_id", "code", "created_at", "created_by"],
            select(s.c.department_id, s.c.legacy_id, s.c.code, at, literal(actor_name)).where(
                and_(s.c.legacy_id.is_not(None), s.c.department_id.is_not(None))
            ),
        )
    )
    clock.lap("write_crosswalk")
    return int(done)


def batch_from_rows(rows: Sequence[Any]) -> Batch:
    """Rows with ``id, class_code, department_id, wkb, legacy_id`` (see ``bulk.batch_query``)."""
    return Batch(
        ids=[int(r[0]) for r in rows],
        class_codes=[r[1] for r in rows],
        department_ids=[r[2] for r in rows],
        wkbs=[None if r[3] is None else bytes(r[3]) for r in rows],
        legacy_ids=[None if r[4] is None else str(r[4]).strip() or None for r in rows],
    )
