"""The pilot city's population, drawn deterministically for ``bench_registry.py``.

Shape (full scale, the issue's figures): 125,000 buildings in 2,817 communities (the demo city's count)
of 130 towns in Xiangyang's 9 districts; each building has units, floors and rooms (two rooms a floor),
653,000 rooms in all, one household per room; 1,620,000 people in those households (1 head, a spouse,
then children or parents). ``scale`` shrinks every count alike (``--people 20000`` gives ~1,500
buildings).

Identity numbers are fake the way the demo's are (``citybase.demo.people.fake_citizen_id``): a valid
GB 11643 check character, a real birth date, a Hubei division code in force today, and a sequence code
of 996-999, reserved for centenarians, while everyone here is younger than 100 — so no number can belong
to a real person. With ~110 division codes there are enough distinct numbers for 1.62 million people;
repeats are drawn again.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache

import numpy as np

from citybase.demo.people import FAKE_SEQUENCES, GIVEN, SURNAMES, XIANGYANG_DIVISIONS, fake_citizen_id
from citybase.standards.validators import _loc_ranges

SEED = 20261206
PEOPLE = 1_620_000
HOUSEHOLDS = 653_000
BUILDINGS = 125_000
COMMUNITIES = 2_817
TOWNS = 130
ROOMS_PER_FLOOR = 2
ROOMS_PER_UNIT = 12  # a building gets one unit per twelve rooms (at most six)
CENTRE = (112.14, 32.04)  # Xiangyang


@dataclass(frozen=True, slots=True)
class Shape:
    """How many of each: all counts follow ``people`` (the issue's ratios)."""

    people: int
    households: int
    buildings: int
    communities: int
    towns: int
    districts: int
    spare_rooms: int  # rooms without a household, for the per-row service sample

    @classmethod
    def for_people(cls, people: int, spare_rooms: int = 0) -> Shape:
        s = people / PEOPLE
        households = max(1, round(HOUSEHOLDS * s))
        return cls(
            people=people,
            households=households,
            buildings=max(1, min(households, round(BUILDINGS * s))),
            communities=max(3, round(COMMUNITIES * s)),
            towns=max(1, round(TOWNS * s)),
            districts=min(len(XIANGYANG_DIVISIONS), max(1, round(len(XIANGYANG_DIVISIONS) * s * 4))),
            spare_rooms=spare_rooms,
        )


@dataclass(frozen=True, slots=True)
class Building:
    community: int  # index into the communities
    units: list[list[int]]  # per unit, rooms per floor (bottom first)


def buildings(shape: Shape) -> list[Building]:
    """Every building with its units and floors; room counts add up to households + spare rooms."""
    rng = np.random.default_rng(SEED)
    rooms_total = shape.households + shape.spare_rooms
    weights = rng.gamma(1.5, size=shape.buildings)
    per_building = 1 + rng.multinomial(rooms_total - shape.buildings, weights / weights.sum())
    out = []
    for b, rooms in enumerate(per_building.tolist()):
        n_units = int(min(6, max(1, -(-rooms // ROOMS_PER_UNIT))))
        units = []
        for u in range(n_units):
            in_unit = rooms // n_units + (1 if u < rooms % n_units else 0)
            floors = [ROOMS_PER_FLOOR] * (in_unit // ROOMS_PER_FLOOR)
            if in_unit % ROOMS_PER_FLOOR:
                floors.append(in_unit % ROOMS_PER_FLOOR)
            if floors:
                units.append(floors)
        out.append(Building(community=b * shape.communities // shape.buildings, units=units))
    return out


def building_points(n: int) -> np.ndarray:
    rng = np.random.default_rng(SEED + 1)
    return np.column_stack([rng.normal(CENTRE[0], 0.06, n), rng.normal(CENTRE[1], 0.05, n)])


@cache
def divisions() -> tuple[str, ...]:
    """Hubei county-level codes in force today (so valid for any birth year; see ``validators._place``)."""
    codes = (f"42{i:04d}" for i in range(10000))
    return tuple(c for c in codes if c[-2:] not in ("00", "01") and any(r[1] is None for r in _loc_ranges(c)))


@dataclass(frozen=True, slots=True)
class Person:
    id_number: str
    name: str
    phone: str | None
    relation: str
    residence_type: str
    move_in: date


def household_sizes(shape: Shape) -> list[int]:
    """People per household, summing to ``shape.people`` exactly (mean 2.48 at full scale)."""
    rng = np.random.default_rng(SEED + 2)
    extra = max(0, shape.people - shape.households)
    weights = rng.gamma(1.2, size=shape.households)
    return (1 + rng.multinomial(extra, weights / weights.sum())).tolist()


class People:
    """Draws families batch by batch; two passes with a fresh ``People`` give identical rows."""

    def __init__(self, shape: Shape, today: date) -> None:
        self.sizes = household_sizes(shape)
        self.today = today
        self.codes = divisions()
        self.used: set[str] = set()

    def batches(self, per_batch: int) -> Iterator[tuple[int, list[list[Person]]]]:
        """(index of the first household, families) for consecutive batches of households."""
        for start in range(0, len(self.sizes), per_batch):
            rng = random.Random(SEED * 1000 + start)
            yield start, [self.family(rng, n) for n in self.sizes[start:start + per_batch]]

    def _number(self, rng: random.Random, born: date) -> str:
        while True:
            number = fake_citizen_id(rng.choice(self.codes), born, rng.choice(FAKE_SEQUENCES))
            if number not in self.used:
                self.used.add(number)
                return number

    def _born(self, rng: random.Random, lo: int, hi: int) -> date:
        return self.today - timedelta(days=rng.randint(lo * 365 + 1, hi * 365 + 300))

    def family(self, rng: random.Random, size: int) -> list[Person]:
        kind = rng.choices(("registered", "resident", "temporary"), weights=(75, 10, 15))[0]
        surname = rng.choice(SURNAMES)
        head = self._born(rng, 25, 80)
        moved = self.today - timedelta(days=rng.randint(30, 6000))
        out: list[tuple[str, date]] = [("户主", head)]
        if size >= 2:
            out.append(("配偶", head + timedelta(days=rng.randint(-1500, 1500))))
        while len(out) < size:
            old = (self.today - head).days // 365 > 50 and rng.random() < 0.3
            out.append(("父母", self._born(rng, 75, 95)) if old else ("子女", self._born(rng, 0, 17)))
        people = []
        for relation, born in out:
            born = min(born, self.today - timedelta(days=1))
            name = (surname if relation in ("户主", "子女") else rng.choice(SURNAMES)) + "".join(
                rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            adult = (self.today - born).days > 18 * 365
            phone = f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}" if adult else None
            people.append(Person(self._number(rng, born), name, phone, relation, kind, max(moved, born)))
        return people
