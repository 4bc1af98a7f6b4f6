"""Demo city: people in the rooms of the standard address tree, in households of one to five.

Identity numbers are fake but pass every check (GB 11643 check character, real birth date, a Xiangyang
division code in force): the sequence code (positions 15-17) is always 996-999. GB 11643 reserves these
for centenarians, and every demo person is younger than 100, so no number can belong to a real person
(docs/population.md). Names come from the demo name book's surnames with generated given names.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, select
from stdnum.cn import ric

from citybase.domains.access import SYSTEM
from citybase.domains.registry import PeopleService
from citybase.domains.registry.personal import PersonalData, mask_id, mask_name, mask_phone
from citybase.domains.registry.population_stats import create_zone_in
from citybase.kernel.errors import NotFoundError
from citybase.store import bulk_load, reserve_ids
from citybase.store.address_tables import address_node
from citybase.store.people_tables import household, household_version, person, person_version, residence

Tell = Callable[[str, int, int | None], None]
FAKE_SEQUENCES = (996, 997, 998, 999)  # reserved for centenarians; demo people are all under 100
XIANGYANG_DIVISIONS = ("420602", "420606", "420607", "420624", "420625", "420626", "420682", "420683", "420684")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌宇浩然欣怡子涵梓轩雨桐思远一鸣嘉"
ZONE_EVERY = 3  # one enrolment zone per three communities


def fake_citizen_id(division: str, born: date, sequence: int) -> str:
    """A valid-checksum 18-character number whose sequence code marks it as fake (996-999)."""
    if sequence not in FAKE_SEQUENCES:
        raise ValueError("demo identity numbers use sequence codes 996-999 only")
    body = f"{division}{born:%Y%m%d}{sequence:03d}"
    return body + ric.calc_check_digit(body + "0")


def _name(rng: random.Random, surname: str | None = None) -> str:
    return (surname or rng.choice(SURNAMES)) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _born(rng: random.Random, today: date, lo: int, hi: int) -> date:
    return today - timedelta(days=rng.randint(lo * 365 + 1, hi * 365 + 300))


def _family(rng: random.Random, today: date) -> list[tuple[str, date, str]]:
    """(relation, birth date, residence type) of one household of 1 to 5 people."""
    size = rng.choices((1, 2, 3, 4, 5), weights=(15, 30, 30, 18, 7))[0]
    kind = "temporary" if rng.random() < 0.15 else "registered"
    head = _born(rng, today, 25, 80)
    members = [("户主", head, kind)]
    if size >= 2:
        members.append(("配偶", head + timedelta(days=rng.randint(-1500, 1500)), kind))
    for _ in range(size - len(members)):
        young = (today - head).days // 365 > 55 and rng.random() < 0.3
        members.append(
            ("父母", _born(rng, today, 75, 95), "resident") if young else ("子女", _born(rng, today, 1, 17), kind)
        )
    return members


def build_people(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    rng = random.Random(seed + 6)
    service: PeopleService = platform.people
    pd: PersonalData = service.personal
    today = date.today()
    with platform.store.write() as conn:
        rooms = [
            int(r)
            for r in conn.execute(
                select(address_node.c.id)
                .where(address_node.c.level == "room", address_node.c.state == "active")
                .order_by(address_node.c.id)
            ).scalars()
        ]
        if not rooms:
            return {}
        lived = [r for r in rooms if rng.random() < 0.8]
        codes = {
            int(i): str(c)
            for i, c in conn.execute(
                select(address_node.c.id, address_node.c.display_code).where(address_node.c.level == "room")
            )
        }
        counts = _write(conn, rng, pd, lived, codes, today, tell)
    _accounts(platform)
    with platform.store.write() as conn:
        counts["enrolment_zones"] = _zones(conn, platform)
    return counts


def _accounts(platform: Any) -> None:
    """The education bureau's demo user (statistics, masked data) and the police's personal-data grant."""
    from citybase.demo.build import DEMO_PASSWORD  # build imports this module; import at call time

    try:
        platform.access.user("jyj_user")
    except NotFoundError:
        platform.access.create_user(SYSTEM, "jyj_user", DEMO_PASSWORD, "department_user", "jyj", "教育局统计员")
    gaj = platform.access.department("gaj")
    platform.personal_grants.grant(SYSTEM, gaj.id, "all", "实有人口管理与治安防控（演示授权）")


def _write(
    conn: Connection,
    rng: random.Random,
    pd: PersonalData,
    rooms: list[int],
    codes: dict[int, str],
    today: date,
    tell: Tell,
) -> dict[str, int]:
    at = datetime.now(UTC)
    hh_ids = reserve_ids(conn, household, len(rooms))
    people: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []
    stays: list[dict[str, Any]] = []
    homes: list[dict[str, Any]] = []
    used: set[str] = set()
    for room, hid in zip(rooms, hh_ids, strict=True):
        surname = rng.choice(SURNAMES)
        family = _family(rng, today)
        head_index = len(people)
        for relation, born, kind in family:
            number = ""
            while not number or number in used:
                number = fake_citizen_id(rng.choice(XIANGYANG_DIVISIONS), born, rng.choice(FAKE_SEQUENCES))
            used.add(number)
            name = _name(rng, surname if relation in ("户主", "子女") else None)
            phone = f"1{rng.choice('3578')}{rng.randint(0, 999_999_999):09d}" if relation != "子女" else None
            row = {
                "id_hash": pd.lookup_hash(number),
                "name_hash": pd.lookup_hash(name),
                "sex": "male" if int(number[16]) % 2 else "female",
                "birth_date": born,
                "id_cipher": pd.encrypt(number),
                "id_masked": mask_id(number),
                "name_cipher": pd.encrypt(name),
                "name_masked": mask_name(name),
                "phone_cipher": pd.encrypt(phone) if phone else None,
                "phone_masked": mask_phone(phone) if phone else None,
                "residence_type": kind,
                "state": "active",
                "version": 1,
                "created_at": at,
                "created_by": "demo",
                "updated_at": at,
                "updated_by": "demo",
            }
            people.append(row)
            stays.append(
                {
                    "household_id": hid,
                    "address_node_id": room,
                    "relation": relation,
                    "residence_type": kind,
                    "move_in": today - timedelta(days=rng.randint(30, 3000)),
                    "move_out": None,
                    "created_at": at,
                    "created_by": "demo",
                    "closed_at": None,
                    "closed_by": None,
                }
            )
        homes.append(
            {
                "id": hid,
                "number": f"{codes.get(room, f'H{room}')}-1",
                "address_node_id": room,
                "head_person_id": head_index,
                "state": "active",
                "version": 1,
                "created_at": at,
                "created_by": "demo",
                "updated_at": at,
                "updated_by": "demo",
            }
        )
    ids = reserve_ids(conn, person, len(people))
    for row, pid in zip(people, ids, strict=True):
        row["id"] = pid
        versions.append(
            {
                "person_id": pid,
                "version": 1,
                "change": "register",
                "recorded_at": at,
                "recorded_by": "demo",
                **{
                    k: row[k]
                    for k in (
                        "id_cipher",
                        "id_masked",
                        "name_cipher",
                        "name_masked",
                        "phone_cipher",
                        "phone_masked",
                        "residence_type",
                        "state",
                    )
                },
            }
        )
    for h in homes:
        h["head_person_id"] = ids[h["head_person_id"]]
    for stay, pid, rid in zip(stays, ids, reserve_ids(conn, residence, len(stays)), strict=True):
        stay["person_id"], stay["id"] = pid, rid
    bulk_load(conn, person, people)
    bulk_load(conn, person_version, versions)
    bulk_load(conn, household, homes)
    bulk_load(
        conn,
        household_version,
        [
            {
                "household_id": h["id"],
                "version": 1,
                "number": h["number"],
                "address_node_id": h["address_node_id"],
                "head_person_id": h["head_person_id"],
                "state": "active",
                "change": "create",
                "recorded_at": at,
                "recorded_by": "demo",
            }
            for h in homes
        ],
    )
    bulk_load(conn, residence, stays)
    tell("people", len(people), len(people))
    return {"people": len(people), "households": len(homes)}


def _zones(conn: Connection, platform: Any) -> int:
    """One enrolment zone (学区) per three communities with residents."""
    comms = [(c["community_id"], c["community"]) for c in platform.population.by_community(SYSTEM)]
    comms.sort()
    made = 0
    for i in range(0, len(comms), ZONE_EVERY):
        group = comms[i : i + ZONE_EVERY]
        create_zone_in(
            conn,
            SYSTEM,
            f"XQ{i // ZONE_EVERY + 1:03d}",
            f"{group[0][1]}学区",
            [c[0] for c in group],
            f"{group[0][1][:2]}小学",
        )
        made += 1
    return made
