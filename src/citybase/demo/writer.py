"""Writes bundles in chunks of about 50,000 objects, level by level, resolving parents to ids."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np
import shapely
from sqlalchemy import Connection

from citybase.demo.records import LEVELS, OWNER, Bundle, Record
from citybase.domains.access import SYSTEM
from citybase.domains.objects import NewObject
from citybase.kernel.errors import InvalidInputError, Issue
from citybase.kernel.geo import check_geometry

CHUNK = 50_000
SAMPLE_EVERY = 97  # larger scales check every 97th record against its class (tiny checks all)

Progress = Callable[[str, int, int | None], None]
Finish = Callable[[Connection], None]


class Writer:
    def __init__(
        self,
        platform: Any,
        departments: dict[str, int],
        *,
        validate_all: bool,
        progress: Progress | None = None,
        chunk: int = CHUNK,
    ) -> None:
        self.platform = platform
        self.departments = departments
        self.validate_all = validate_all
        self.progress = progress
        self.chunk = chunk
        self.pending: list[Bundle] = []
        self.size = 0
        self.counts: Counter[str] = Counter()
        self.written = 0
        self._seen = 0
        # Told each written chunk (bundles and their new ids per level) inside its transaction.
        self.after_write: Callable[[Connection, list[Bundle], list[list[int]]], None] | None = None

    def add(self, bundle: Bundle) -> None:
        """Queue a bundle; write the queue when it holds a chunk."""
        self.pending.append(bundle)
        self.size += len(bundle)
        if self.size >= self.chunk:
            self.flush()

    def flush(self, finish: Finish | None = None) -> list[list[int]]:
        """Write the queue in one transaction, level by level; ``finish`` runs last in that transaction.

        Returns the new ids per level, in queue order.
        """
        bundles, self.pending, self.size = self.pending, [], 0
        if not self.validate_all:
            for level in range(LEVELS):
                self._check_sample([r for b in bundles for r in b.levels[level]])
        ids: list[list[int]] = []
        with self.platform.store.write() as conn:
            previous: list[int] = []
            for level in range(LEVELS):
                records: list[Record] = []
                news: list[NewObject] = []
                offset = 0  # where this bundle's parents start in the level above
                for b in bundles:
                    records += b.levels[level]
                    news += [self._new(r, previous, offset if level else None) for r in b.levels[level]]
                    if level:
                        offset += len(b.levels[level - 1])
                if not records:
                    ids.append([])
                    previous = []
                    continue
                previous = self.platform.objects.insert_batch(conn, SYSTEM, news, validate=self.validate_all)
                ids.append(previous)
                self.counts.update(r.class_code for r in records)
                self.written += len(records)
            if self.after_write is not None:
                self.after_write(conn, bundles, ids)
            if finish is not None:
                finish(conn)
        if self.progress:
            self.progress("objects written", self.written, None)
        return ids

    def _new(self, r: Record, parents: list[int], offset: int | None) -> NewObject:
        """Level 0 names parents by id; deeper levels by index into the level above (``offset`` on)."""
        parent = r.parent if offset is None or r.parent is None else parents[offset + r.parent]
        return NewObject(
            class_code=r.class_code,
            name=r.name,
            geometry=r.geometry,
            attributes=r.attributes,
            department_id=self.departments[OWNER[r.class_code]],
            parent_id=parent,
        )

    def _check_sample(self, records: list[Record]) -> None:
        """Every geometry must be valid (checked in bulk); every 97th record is checked in full."""
        if not records:
            return
        geoms = np.array([r.geometry for r in records if r.geometry is not None], dtype=object)
        if len(geoms) and not shapely.is_valid(geoms).all():
            bad = next(r for r in records if r.geometry is not None and not r.geometry.is_valid)
            raise InvalidInputError(
                "the demo generator made an invalid geometry",
                issues=[Issue("geometry", shapely.is_valid_reason(bad.geometry), bad.name)],
            )
        start = (-self._seen) % SAMPLE_EVERY
        for r in records[start::SAMPLE_EVERY]:
            cls = self.platform.classes.get(r.class_code, record=r.name)
            cls.validate(r.attributes, record=r.name)
            if r.geometry is not None:
                check_geometry(r.geometry, record=r.name)
                wanted = (cls.geometry_type or "").removeprefix("Multi")
                if r.geometry.geom_type.removeprefix("Multi") != wanted:
                    raise InvalidInputError(
                        "the demo generator made a wrong geometry type",
                        issues=[Issue("geometry", f"{r.geometry.geom_type} for class {cls.code}", r.name)],
                    )
        self._seen += len(records)
