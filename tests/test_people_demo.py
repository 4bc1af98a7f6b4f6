"""The demo city's people: fake but valid identity numbers (sequence codes 996-999, everyone under 100),
households of one to five, temporary residents, enrolment zones, the education bureau's masked view."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from citybase.demo import build_demo
from citybase.demo.people import FAKE_SEQUENCES, fake_citizen_id
from citybase.domains.access import SYSTEM
from citybase.platform import Platform
from citybase.standards.validators import validate_citizen_id
from citybase.store.people_tables import person, residence


def test_fake_ids_only_use_the_centenarian_sequences() -> None:
    assert validate_citizen_id(fake_citizen_id("420602", date(1990, 1, 1), 997)).sex == "male"
    with pytest.raises(ValueError, match="996-999"):
        fake_citizen_id("420602", date(1990, 1, 1), 123)


def test_demo_people(platform: Platform) -> None:
    report = build_demo(platform, "tiny")
    assert report.registries["people"] > 1000 and report.registries["households"] > 300
    assert report.registries["enrolment_zones"] >= 1
    sample = platform.people.search(SYSTEM, node_id=platform.population.by_community(SYSTEM)[0]["community_id"],
                                    limit=200)
    for p in sample:
        full = platform.people.get(SYSTEM, p["id"], unmasked=True, purpose="demo check")
        cid = validate_citizen_id(full["id_number"])
        assert int(full["id_number"][14:17]) in FAKE_SEQUENCES
        assert (date.today() - cid.birth_date).days < 100 * 365
    with platform.store.read() as conn:
        sizes = Counter(n for (n,) in conn.execute(select(func.count()).select_from(residence)
                                                   .group_by(residence.c.household_id)))
        types = dict(conn.execute(select(person.c.residence_type, func.count()).group_by(person.c.residence_type))
                     .all())
    assert set(sizes) <= {1, 2, 3, 4, 5} and types.get("temporary", 0) > 0
    zones = platform.population.school_age_by_zone(SYSTEM)
    assert sum(z["children"] for z in zones) > 0
    jyj = platform.access.actor_for_token(platform.access.login("jyj_user", "citybase-demo")[0])
    seen = platform.people.get(jyj, sample[0]["id"])
    assert seen["masked"] is True
