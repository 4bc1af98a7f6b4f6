"""Task sources besides people and scans: open rows of the address review queue (unmatched addresses)."""

from __future__ import annotations

from sqlalchemy import select

from citybase.domains.access import Actor, Permission
from citybase.domains.collect.service import CollectService
from citybase.store.address_match_tables import address_review

REF = "address_review:"


def tasks_from_address_review(service: CollectService, actor: Actor, *, limit: int = 1000) -> int:
    """Turn open review rows without a task into ``address.unmatched`` tasks; returns how many were made.

    The link is the task's ``source_ref`` (``address_review:<id>``); running this again makes no duplicates.
    """
    actor.require(Permission.RUN_JOBS)
    made = 0
    with service.store.write() as conn:
        linked = service.open_refs(conn, REF)
        rows = conn.execute(
            select(address_review).where(address_review.c.state == "open").order_by(address_review.c.id)
        ).all()
        for r in rows:
            if f"{REF}{r.id}" in linked:
                continue
            if made >= limit:
                break
            service.create_in(
                conn,
                actor,
                kind="address.unmatched",
                title=f"核实地址：{r.text[:180]}",
                detail={"review_id": int(r.id), "text": r.text, "status": r.status, "candidates": r.candidates},
                source="match",
                source_ref=f"{REF}{r.id}",
                address_node_id=r.node_id,
            )
            made += 1
    return made
