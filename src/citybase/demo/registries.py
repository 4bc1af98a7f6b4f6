"""The demo city's 三实 registries and collection loop, built after its objects, addresses and codes.

Each step is its own module and returns counts by kind; the steps run in dependency order: grids
(from the communities), houses and people (in the rooms of the standard address tree), organisations
(at door plates and shops), then some open collection tasks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from citybase.demo import grids, houses, people, tasks

Tell = Callable[[str, int, int | None], None]


def build_registries(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    counts: dict[str, int] = {}
    for step in (
        grids.build_grids,
        houses.build_houses,
        people.build_people,
        houses.build_organisations,
        tasks.build_tasks,
    ):
        counts.update(step(platform, seed, tell))
    return counts
