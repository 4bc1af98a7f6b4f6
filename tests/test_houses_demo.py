"""The demo city's houses and organisations: a house for every building and room, valid USCCs, and the
deliberately suspicious registrations found by the cross-checks. Both databases."""

from __future__ import annotations

from sqlalchemy import func, select

from citybase.demo import build_demo
from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from citybase.standards.validators import validate_uscc
from citybase.store.address_tables import address_node
from citybase.store.house_tables import house, house_inspection, organisation


def test_demo_houses_and_organisations(platform: Platform) -> None:
    build_demo(platform, "tiny")
    with platform.store.read() as conn:
        nodes: dict[str, int] = dict(
            conn.execute(
                select(address_node.c.level, func.count())
                .where(address_node.c.level.in_(("building", "room")))
                .group_by(address_node.c.level)
            ).all()
        )
        houses: dict[str, int] = dict(conn.execute(select(house.c.level, func.count()).group_by(house.c.level)).all())
        uses = {u for (u,) in conn.execute(select(house.c.use).distinct())}
        grades = {g for (g,) in conn.execute(select(house.c.safety_grade).where(house.c.level == "building"))}
        inspections = conn.execute(select(func.count()).select_from(house_inspection)).scalar_one()
        usccs = [u for (u,) in conn.execute(select(organisation.c.uscc))]
    assert houses == nodes  # every building and room
    assert {"residential", "commercial", "mixed"} <= uses and grades & {"C", "D"} and inspections > 0
    assert len(usccs) > 20 and all(not validate_uscc(u).warnings for u in usccs)
    report = platform.orgs.cross_checks(SYSTEM)
    assert report["counts"]["nonexistent"] >= 1 and report["counts"]["not_commercial"] >= 1
    assert any(c["registrations"] >= 7 for c in report["crowded"])
    with platform.store.read() as conn:
        a_room = conn.execute(select(house.c.address_node_id).where(house.c.level == "room").limit(1)).scalar_one()
    card = platform.houses.card(SYSTEM, node_id=a_room)
    assert card["building"]["unified_code"] and card["history"][0]["recorded_by"] == "demo"
