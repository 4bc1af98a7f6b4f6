"""Cross-checks for "suspected problem companies" (疑似问题企业) among active organisations:

- ``nonexistent``: the registered address text does not confidently match a standard address;
- ``not_commercial``: an open binding (registered or operating) at a house whose use is not commercial
  or mixed (a company registered in a flat);
- ``crowded``: an address holding more than ``max_registrations`` open registrations (a shell address).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, func, select

from citybase.kernel.errors import InvalidInputError, Issue
from citybase.store.address_tables import address_node
from citybase.store.house_tables import house, organisation, organisation_site

BUSINESS_USES = ("commercial", "mixed")
DEFAULT_MAX_REGISTRATIONS = 5
# texts -> (confident node id or None, status, score) for each text, in order
MatchMany = Callable[[Sequence[str]], list[tuple[int | None, str, float]]]
FullAddress = Callable[[int], str]


def _brief(m: Any) -> dict[str, Any]:
    return {"id": m.id, "uscc": m.uscc, "name": m.name, "registered_address": m.registered_address}


def house_of_node(conn: Connection, node_id: int) -> Any:
    """The house that says what an address is used for: the node's own, its nearest ancestor's, or (for
    a door plate or compound) a house right below it, business ones first."""
    chain: list[int] = []
    current: int | None = node_id
    while current is not None and len(chain) < 16:
        chain.append(current)
        current = conn.execute(select(address_node.c.parent_id).where(address_node.c.id == current)).scalar()
    found = {r.address_node_id: r for r in conn.execute(select(house).where(house.c.address_node_id.in_(chain)))}
    for nid in chain:
        if nid in found:
            return found[nid]
    below = select(address_node.c.id).where(address_node.c.parent_id == node_id)
    rows = conn.execute(select(house).where(house.c.address_node_id.in_(below)).order_by(house.c.id)).all()
    return next((r for r in rows if r.use in BUSINESS_USES), rows[0] if rows else None)


def cross_checks(
    conn: Connection,
    match_many: MatchMany,
    full_address: FullAddress,
    *,
    max_registrations: int = DEFAULT_MAX_REGISTRATIONS,
) -> dict[str, Any]:
    if not 1 <= max_registrations <= 10_000:
        raise InvalidInputError("bad limit", issues=[Issue("max_registrations", "a number from 1 to 10000")])
    o, s = organisation, organisation_site
    orgs = conn.execute(select(o).where(o.c.status == "active").order_by(o.c.id)).all()
    matched = match_many([m.registered_address for m in orgs]) if orgs else []
    nonexistent = [
        {**_brief(m), "match_status": status, "score": round(score, 3)}
        for m, (node, status, score) in zip(orgs, matched, strict=True)
        if node is None
    ]
    sites = conn.execute(
        select(s.c.organisation_id, s.c.address_node_id, s.c.kind)
        .join(o, o.c.id == s.c.organisation_id)
        .where(s.c.until.is_(None), o.c.status == "active")
        .order_by(s.c.organisation_id, s.c.kind)
    ).all()
    by_id = {m.id: m for m in orgs}
    not_commercial = []
    uses: dict[int, Any] = {}
    for site in sites:
        if site.address_node_id not in uses:
            uses[site.address_node_id] = house_of_node(conn, site.address_node_id)
        h = uses[site.address_node_id]
        if h is not None and h.use not in BUSINESS_USES:
            not_commercial.append(
                {
                    **_brief(by_id[site.organisation_id]),
                    "kind": site.kind,
                    "address_node_id": site.address_node_id,
                    "full_address": full_address(site.address_node_id),
                    "house_id": h.id,
                    "house_use": h.use,
                }
            )
    counted = conn.execute(
        select(s.c.address_node_id, func.count(func.distinct(s.c.organisation_id)).label("n"))
        .join(o, o.c.id == s.c.organisation_id)
        .where(s.c.until.is_(None), s.c.kind == "registered", o.c.status == "active")
        .group_by(s.c.address_node_id)
        .having(func.count(func.distinct(s.c.organisation_id)) > max_registrations)
        .order_by(s.c.address_node_id)
    ).all()
    crowded = []
    for row in counted:
        members = sorted(
            {
                site.organisation_id
                for site in sites
                if site.address_node_id == row.address_node_id and site.kind == "registered"
            }
        )
        crowded.append(
            {
                "address_node_id": row.address_node_id,
                "full_address": full_address(row.address_node_id),
                "registrations": int(row.n),
                "organisations": [_brief(by_id[i]) for i in members],
            }
        )
    return {
        "max_registrations": max_registrations,
        "checked": len(orgs),
        "counts": {"nonexistent": len(nonexistent), "not_commercial": len(not_commercial), "crowded": len(crowded)},
        "nonexistent": nonexistent,
        "not_commercial": not_commercial,
        "crowded": crowded,
    }
