"""Whole households in bulk (a city's first load) on both databases: the same checks and records as
one-by-one registration, one bad record rejects the batch and names its household, nothing is written."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import pytest
from sqlalchemy import func, select

from citybase.demo.people import fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.kernel.errors import ConflictError, InvalidInputError
from citybase.platform import Platform
from citybase.store.people_tables import household, household_version, person, person_version, residence
from citybase.store.schema import audit_log
from tests.address_tree_helpers import SmallTree, small_tree


@dataclass(frozen=True)
class Member:
    id_number: str
    name: str
    phone: str | None
    relation: str
    residence_type: str
    move_in: date


HEAD = Member(fake_citizen_id("420602", date(1980, 5, 2), 997), "王建国", "13812345678", "户主", "registered",
              date(2020, 1, 1))
SPOUSE = Member(fake_citizen_id("420606", date(1982, 7, 9), 998), "李秀英", None, "配偶", "registered",
                date(2020, 1, 1))
CHILD = Member(fake_citizen_id("420602", date(2015, 3, 3), 999), "王小明", None, "子女", "temporary",
               date(2021, 6, 1))


@pytest.fixture
def tree(platform: Platform) -> SmallTree:
    return small_tree(platform)


def _counts(platform: Platform) -> tuple[int, ...]:
    with platform.store.read() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (person, person_version, household, household_version, residence))


def test_households_are_registered_with_history_and_ciphers(platform: Platform, tree: SmallTree) -> None:
    written = platform.people.register_households(SYSTEM, [tree.room], [[HEAD, SPOUSE, CHILD]])
    assert written == 3 and _counts(platform) == (3, 3, 1, 1, 3)
    [found] = platform.people.search(SYSTEM, id_number=CHILD.id_number)
    assert found["sex"] == "male" and found["birth_year"] == 2015 and found["name"] == "王**"
    with platform.store.read() as conn:
        head = conn.execute(select(household.c.head_person_id)).scalar_one()
        head_hash = conn.execute(select(person.c.id_hash).where(person.c.id == head)).scalar_one()
        ciphers = [r.id_cipher for r in conn.execute(select(person.c.id_cipher))]
        audited = conn.execute(select(audit_log.c.detail).where(audit_log.c.action == "person.bulk_register")).one()
    assert head_hash == platform.people.personal.lookup_hash(HEAD.id_number)
    assert all(HEAD.id_number not in c and CHILD.id_number not in c for c in ciphers)
    assert audited.detail == {"people": 3, "households": 1}
    with platform.store.read() as conn:
        assert len(platform.people.residents_at(conn, SYSTEM, [tree.room])) == 3


@pytest.mark.parametrize(
    ("families", "field"),
    [
        ([[HEAD], [replace(SPOUSE, id_number=SPOUSE.id_number[:-1] + ("1" if SPOUSE.id_number[-1] == "0" else "0"))]],
         "id_number"),
        ([[HEAD], [replace(SPOUSE, relation="邻居")]], "relation"),
        ([[HEAD], [replace(SPOUSE, name="")]], "name"),
        ([[HEAD], []], "members"),
    ],
)
def test_one_bad_record_rejects_the_batch(platform: Platform, tree: SmallTree, families: list[list[Member]],
                                          field: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        platform.people.register_households(SYSTEM, [tree.room, tree.room], families)
    assert [(i.field, i.record) for i in caught.value.issues][:1] == [(field, "household 2")]
    assert _counts(platform) == (0, 0, 0, 0, 0)


def test_a_non_dwelling_or_a_registered_id_rejects_the_batch(platform: Platform, tree: SmallTree) -> None:
    with pytest.raises(InvalidInputError, match="dwelling"):
        platform.people.register_households(SYSTEM, [tree.community], [[HEAD]])
    with pytest.raises(ConflictError, match="same citizen ID twice"):
        platform.people.register_households(SYSTEM, [tree.room], [[HEAD, HEAD]])
    platform.people.register_households(SYSTEM, [tree.room], [[HEAD]])
    with pytest.raises(ConflictError, match="already registered"):
        platform.people.register_households(SYSTEM, [tree.room], [[SPOUSE, HEAD]])
    assert _counts(platform) == (1, 1, 1, 1, 1)
