"""The review queue: addresses that did not match, or matched more than one standard address.

A row keeps the input, the match status, score, level, best node and the other candidates. The
collection work (grid workers' field tasks) will take open rows from here; until then a person closes
a row by choosing the node it means (``resolved``) or by dropping it (``dismissed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update

from citybase.domains.access import Actor, Permission
from citybase.domains.addresses.matcher import MatchResult
from citybase.kernel.errors import ConflictError, InvalidInputError, Issue, NotFoundError
from citybase.store import Store
from citybase.store.address_match_tables import address_review

REVIEW_STATES = ("open", "resolved", "dismissed")
QUEUED_STATUSES = ("unmatched", "ambiguous", "partial")


@dataclass(frozen=True, slots=True)
class ReviewItem:
    id: int
    text: str
    status: str
    score: float
    level: str | None
    node_id: int | None
    explanation: str
    candidates: list[dict[str, Any]]
    source: str
    state: str
    resolved_node_id: int | None
    note: str | None
    created_at: datetime
    created_by: str
    closed_at: datetime | None
    closed_by: str | None


def _values(text: str, result: MatchResult) -> dict[str, Any]:
    return {
        "text": text[:2000],
        "status": result.status,
        "score": result.score,
        "level": result.level,
        "node_id": result.best.node_id if result.best else None,
        "explanation": result.explanation,
        "candidates": [{"node_id": c.node_id, "level": c.level, "score": c.score} for c in result.candidates],
    }


class ReviewQueue:
    def __init__(self, store: Store) -> None:
        self.store = store

    def send(self, actor: Actor, items: list[tuple[str, MatchResult]], *, source: str) -> list[int]:
        """Queue inputs whose match is not confident; a confident match is refused (nothing to review)."""
        actor.require(Permission.RUN_JOBS)
        issues = [
            Issue("status", f"{r.status} (score {r.score}) needs no review", record=i)
            for i, (_, r) in enumerate(items)
            if r.status not in QUEUED_STATUSES
        ]
        if issues:
            raise InvalidInputError("only unmatched, ambiguous or partial matches go to review", issues=issues)
        now = datetime.now(UTC)
        rows = [
            {**_values(t, r), "source": source[:200], "state": "open", "created_at": now, "created_by": actor.name}
            for t, r in items
        ]
        ids: list[int] = []
        with self.store.write() as conn:
            for row in rows:  # one transaction: all or nothing
                ids.append(int(conn.execute(address_review.insert().values(**row)).inserted_primary_key[0]))  # type: ignore[index]
        return ids

    def list(
        self, actor: Actor, *, state: str | None = "open", limit: int = 100, after_id: int = 0
    ) -> tuple[list[ReviewItem], int]:
        """Rows in id order (``after_id`` pages on) and how many there are in ``state``."""
        actor.require(Permission.RUN_JOBS)
        if state is not None and state not in REVIEW_STATES:
            raise InvalidInputError("bad state", issues=[Issue("state", f"{state!r} is not one of {REVIEW_STATES}")])
        q = select(address_review).where(address_review.c.id > after_id).order_by(address_review.c.id)
        count = select(func.count()).select_from(address_review)
        if state is not None:
            q = q.where(address_review.c.state == state)
            count = count.where(address_review.c.state == state)
        with self.store.read() as conn:
            items = [ReviewItem(**r._mapping) for r in conn.execute(q.limit(max(1, min(limit, 1000))))]
            total = int(conn.execute(count).scalar_one())
        return items, total

    def get(self, item_id: int) -> ReviewItem:
        with self.store.read() as conn:
            row = conn.execute(select(address_review).where(address_review.c.id == item_id)).first()
        if row is None:
            raise NotFoundError(f"no review item {item_id}")
        return ReviewItem(**row._mapping)

    def close(self, actor: Actor, item_id: int, *, node_id: int | None = None, note: str | None = None) -> ReviewItem:
        """Resolve the row to ``node_id``, or dismiss it when no node is given."""
        actor.require(Permission.RUN_JOBS)
        state = "resolved" if node_id is not None else "dismissed"
        with self.store.write() as conn:
            n = conn.execute(
                update(address_review)
                .where(address_review.c.id == item_id, address_review.c.state == "open")
                .values(
                    state=state, resolved_node_id=node_id, note=note, closed_at=datetime.now(UTC), closed_by=actor.name
                )
            ).rowcount
        if not n:
            current = self.get(item_id)
            raise ConflictError(f"review item {item_id} is already {current.state}")
        return self.get(item_id)
