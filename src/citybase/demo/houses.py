"""Demo city: actual houses (a record for every building and room) and organisations (valid-checksum
USCCs at commercial buildings, plus a few deliberately suspicious registrations for the cross-checks).

Houses take their use, structure and year from the building objects; older buildings get worse safety
grades (some C and D, with an inspection each). Organisations are written straight to the tables (the
demo's addresses are its own, so no address matching is needed to bind them).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from stdnum.cn import uscc as stdnum_uscc

from citybase.domains.registry.personal import mask_name
from citybase.standards.validators import org_code_check_character
from citybase.store import bulk_load, reserve_ids
from citybase.store.address_tables import address_node
from citybase.store.house_tables import (
    house,
    house_inspection,
    house_version,
    organisation,
    organisation_site,
    organisation_version,
)
from citybase.store.schema import city_object

Tell = Callable[[str, int, int | None], None]
USE = {
    "住宅": "residential",
    "商业": "commercial",
    "办公": "commercial",
    "商住混合": "mixed",
    "公共服务": "public",
    "工业": "industrial",
}
STRUCTURE = {"钢混": "钢混", "砖混": "砖混", "钢结构": "钢结构", "砖木": "木"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌"
SHOPS = ("便利店", "餐馆", "理发店", "药店", "五金店", "茶社", "面馆", "水果店", "培训中心", "文印店")
FIRMS = ("科技有限公司", "商贸有限公司", "建筑工程有限公司", "物业服务有限公司", "文化传媒有限公司")
SHOPS_BELOW = 0.3  # share of residential buildings with shops on the ground floor
CROWD = 7  # registrations at one address: more than the cross-check's default of five


def make_uscc(serial: int, *, category: str = "1", division: str = "420600") -> str:
    """A GB 32100 code: 9 (工商) + category (1 企业, 2 个体工商户) + the division + a GB 11714 organisation
    code made from ``serial`` (its own check character) + the GB 32100 check character."""
    body = f"{serial % 10**8:08d}"
    first17 = "9" + category + division + body + org_code_check_character(body)
    return first17 + stdnum_uscc.calc_check_digit(first17)


def _grade(rng: random.Random, year: int | None) -> str:
    if year is None or year >= 2005:
        return "A" if rng.random() < 0.8 else "B"
    if year >= 1990:
        return "B" if rng.random() < 0.85 else "C"
    return rng.choices("BCD", weights=(5, 4, 1))[0]


def build_houses(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    rng = random.Random(seed * 31 + 6)
    n = address_node
    at = datetime.now(UTC)
    q = (
        select(n.c.id, n.c.parent_id, n.c.level, n.c.object_id, city_object.c.attributes)
        .join(city_object, city_object.c.id == n.c.object_id, isouter=True)
        .where(n.c.level.in_(("building", "unit", "room")), n.c.state == "active")
        .order_by(n.c.id)
    )
    with platform.store.write() as conn:
        nodes = conn.execute(q).all()
        parent = {r.id: r.parent_id for r in nodes}
        building_of: dict[int, int] = {}
        rows: list[dict[str, Any]] = []
        for r in nodes:
            if r.level != "building":
                continue
            a = r.attributes or {}
            year = a.get("year_built")
            use = USE.get(a.get("use", ""), "other")
            ownership = "商品房" if use != "public" else "其他"
            if use == "residential" and year is not None and year < 1998:
                ownership = "公房"  # before the 1998 housing reform
            rooms_below = a.get("units", 0) > 0
            if use == "residential" and rooms_below and rng.random() < SHOPS_BELOW:
                use = "mixed"  # 底商: shops on the ground floor of a residential building
            rental = None if rooms_below else rng.choices(("自住", "出租", "空置"), weights=(8, 3, 1))[0]
            building_of[r.id] = len(rows)
            rows.append(
                _house(
                    r,
                    use,
                    STRUCTURE.get(a.get("structure", ""), "其他"),
                    year,
                    a.get("surveyed_area_m2"),
                    ownership,
                    rental,
                    _grade(rng, year),
                )
            )
        for r in nodes:
            if r.level != "room":
                continue
            b = parent.get(r.id)  # room -> (unit ->) building
            b = b if b in building_of else parent.get(b or 0)
            if b not in building_of:
                continue
            top = rows[building_of[b]]
            a = r.attributes or {}
            use = USE.get(a.get("use", ""), top["use"])
            if top["use"] == "mixed" and a.get("floor") == 1:
                use = "commercial"
            rental = (
                rng.choices(("自住", "出租", "空置"), weights=(7, 2, 1))[0]
                if use == "residential"
                else (rng.choices(("出租", "自住", "空置"), weights=(6, 3, 1))[0])
            )
            rows.append(
                _house(
                    r,
                    use,
                    top["structure"],
                    top["year_built"],
                    a.get("area_m2"),
                    top["ownership"],
                    rental,
                    top["safety_grade"],
                )
            )
        ids = reserve_ids(conn, house, len(rows))
        for i, row in zip(ids, rows, strict=True):
            row["id"] = i
        bulk_load(
            conn,
            house,
            [{**row, "version": 1, "created_at": at, "updated_at": at, "updated_by": "demo"} for row in rows],
        )
        bulk_load(
            conn,
            house_version,
            [
                {
                    "house_id": row["id"],
                    "version": 1,
                    **{k: v for k, v in row.items() if k != "id"},
                    "change": "create",
                    "recorded_at": at,
                    "recorded_by": "demo",
                }
                for row in rows
            ],
        )
        poor = [row for row in rows if row["level"] == "building" and row["safety_grade"] in ("C", "D")][:40]
        inspections = [
            {
                "id": i,
                "house_id": row["id"],
                "inspected_on": date.today() - timedelta(days=rng.randint(30, 900)),
                "grade": row["safety_grade"],
                "inspector": rng.choice(SURNAMES) + "工",
                "department": "襄阳市住房和城乡建设局",
                "findings": rng.choice(
                    ("外墙开裂，需加固", "屋面渗漏，楼梯间墙体裂缝", "承重墙局部风化，建议限期整改")
                ),
                "recorded_at": at,
                "recorded_by": "demo",
            }
            for i, row in zip(reserve_ids(conn, house_inspection, len(poor)), poor, strict=True)
        ]
        bulk_load(conn, house_inspection, inspections)
    tell("houses", len(rows), len(rows))
    return {"houses": len(rows), "house_inspections": len(inspections)}


def _house(
    r: Any, use: str, structure: str, year: Any, area: Any, ownership: str, rental: str | None, grade: str
) -> dict[str, Any]:
    return {
        "address_node_id": r.id,
        "object_id": r.object_id,
        "level": r.level,
        "use": use,
        "structure": structure,
        "year_built": year,
        "floor_area_m2": area,
        "ownership": ownership,
        "rental_status": rental,
        "safety_grade": grade,
    }


def build_organisations(platform: Any, seed: int, tell: Tell) -> dict[str, int]:
    rng = random.Random(seed * 37 + 6)
    crypto = platform.orgs.crypto()
    with platform.store.read() as conn:
        found = conn.execute(select(house.c.address_node_id, house.c.use, house.c.level).order_by(house.c.id)).all()
    # shops and offices: commercial buildings and the commercial rooms of mixed ones
    business = [r.address_node_id for r in found if r.use == "commercial"]
    homes = [r.address_node_id for r in found if r.use == "residential" and r.level == "room"]
    if not business:
        return {"organisations": 0}
    picked = rng.sample(business, min(len(business), 80))
    # (uscc category, name, type, registered address node or text, site nodes)
    plans: list[tuple[str, str, str, int | str]] = []
    for node in picked:
        for _ in range(rng.randint(1, 3)):
            plans.append(_plan(rng, node))
    crowd = picked[0]
    plans += [("1", f"襄阳汇通{k + 1}号{rng.choice(FIRMS)}", "enterprise", crowd) for k in range(CROWD)]
    if homes:
        plans.append(("1", f"襄阳居家{rng.choice(FIRMS)}", "enterprise", rng.choice(homes)))
    plans.append(("1", f"襄阳星河{rng.choice(FIRMS)}", "enterprise", "湖北省襄阳市襄城区星河虚构路888号"))
    texts = {p[3]: platform.addresses.record(p[3]).full_address for p in plans if isinstance(p[3], int)}
    at = datetime.now(UTC)
    with platform.store.write() as conn:
        ids = reserve_ids(conn, organisation, len(plans))
        orgs, versions, sites = [], [], []
        for serial, (org_id, (category, name, kind, where)) in enumerate(zip(ids, plans, strict=True)):
            rep = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
            row = {
                "name": name,
                "type": kind,
                "legal_rep_cipher": crypto.encrypt(rep),
                "legal_rep_masked": mask_name(rep),
                "registered_address": texts[where] if isinstance(where, int) else where,
                "status": "active",
            }
            uscc = make_uscc(seed * 100_000 + 7919 * serial + 11, category=category)
            orgs.append(
                {
                    "id": org_id,
                    "uscc": uscc,
                    **row,
                    "version": 1,
                    "created_at": at,
                    "updated_at": at,
                    "updated_by": "demo",
                }
            )
            versions.append(
                {
                    "organisation_id": org_id,
                    "version": 1,
                    **row,
                    "change": "register",
                    "recorded_at": at,
                    "recorded_by": "demo",
                }
            )
            if isinstance(where, int):
                for site_kind in ("registered", "operating"):
                    sites.append(
                        {
                            "organisation_id": org_id,
                            "address_node_id": where,
                            "kind": site_kind,
                            "since": at,
                            "until": None,
                            "bound_by": "demo",
                            "photo_path": None,
                        }
                    )
        for i, site in zip(reserve_ids(conn, organisation_site, len(sites)), sites, strict=True):
            site["id"] = i
        bulk_load(conn, organisation, orgs)
        bulk_load(conn, organisation_version, versions)
        bulk_load(conn, organisation_site, sites)
    tell("organisations", len(orgs), len(orgs))
    return {"organisations": len(orgs), "organisation_sites": len(sites)}


def _plan(rng: random.Random, node: int) -> tuple[str, str, str, int | str]:
    if rng.random() < 0.6:
        return "2", f"{rng.choice(SURNAMES)}记{rng.choice(SHOPS)}", "self_employed", node
    return "1", f"襄阳{rng.choice(GIVEN)}{rng.choice(GIVEN)}{rng.choice(FIRMS)}", "enterprise", node
