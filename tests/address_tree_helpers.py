"""Helpers that build small address trees for the registry tests."""

from __future__ import annotations

from dataclasses import dataclass

from citybase.domains.access import SYSTEM
from citybase.platform import Platform


@dataclass(frozen=True, slots=True)
class SmallTree:
    district: int
    town: int
    community: int
    road: int
    plate: int
    compound: int
    building: int
    unit: int
    room: int


def small_tree(platform: Platform) -> SmallTree:
    """襄城区 › 真武山街道 › 檀溪社区 › 长虹路 › 57号 › 檀溪花园 › 3栋 › 1单元 › 502室."""
    a = platform.addresses
    with platform.store.write() as conn:
        districts = a.ensure_divisions(conn)
    district = districts["420602000000"]
    town = a.create(SYSTEM, district, "town", "真武山街道").id
    community = a.create(SYSTEM, town, "community", "檀溪社区", aliases=["檀溪社区居委会"]).id
    road = a.create(SYSTEM, community, "road", "长虹路").id
    plate = a.create(SYSTEM, road, "door_number", "57号", lon=112.141, lat=32.011).id
    compound = a.create(SYSTEM, plate, "compound", "檀溪花园").id
    building = a.create(SYSTEM, compound, "building", "3栋", lon=112.1412, lat=32.0112).id
    unit = a.create(SYSTEM, building, "unit", "1单元").id
    room = a.create(SYSTEM, unit, "room", "502室").id
    return SmallTree(district, town, community, road, plate, compound, building, unit, room)
