"""The address → grid map follows address changes at once (platform hook ``addresses.changed``). Both DBs."""

from __future__ import annotations

from sqlalchemy import select

from citybase.domains.access import SYSTEM, Actor, Role
from citybase.domains.grids import NewGrid
from citybase.platform import Platform
from citybase.store.grid_tables import address_grid
from tests.address_tree_helpers import small_tree
from tests.helpers import ADMIN_PASSWORD, Api, add_department
from tests.test_grids import EAST_SOUTH, _hierarchy


def _grid_of(platform: Platform, node_id: int) -> int | None:
    with platform.store.read() as conn:
        q = select(address_grid.c.grid_id).where(address_grid.c.address_node_id == node_id)
        return conn.execute(q).scalar()


def test_a_plate_created_by_the_api_lands_in_its_grid(platform: Platform, api: Api) -> None:
    ids = _hierarchy(platform)
    t = small_tree(platform)
    assert _grid_of(platform, t.room) == ids["east_north"]  # mapped without anyone calling sync
    api.login("admin", ADMIN_PASSWORD)
    r = api.post("/api/addresses/nodes", json={"parent_id": t.road, "level": "door_number", "name": "61号",
                                                  "lon": 112.135, "lat": 32.01})
    assert r.status_code == 201, r.text
    plate = r.json()["id"]
    assert _grid_of(platform, plate) == ids["west"]
    assert platform.grids.sync_addresses() == 0  # nothing left over
    room = platform.addresses.create(SYSTEM, t.building, "room", "503室").id
    assert _grid_of(platform, room) == ids["east_north"]  # point-less: its building's grid
    platform.addresses.retire(SYSTEM, room)
    assert _grid_of(platform, room) is None


def test_plates_recorded_by_the_naming_workflow_land_in_their_grid(platform: Platform) -> None:
    ids = _hierarchy(platform)
    t = small_tree(platform)
    depts = {code: add_department(platform, code, name).id for code, name in (("mzj", "民政局"), ("zjj", "住建局"))}
    mzj = Actor("mzj_user", "user", Role.DEPARTMENT_USER, depts["mzj"])
    zjj = Actor("zjj_user", "user", Role.DEPARTMENT_USER, depts["zjj"])
    flows = platform.addresses.workflows
    wf = flows.propose(zjj, "door_plates", t.road, {"numbers": ["63", "65"], "lon": 112.145, "lat": 32.015})
    while wf.next_step is not None:
        step, role = wf.next_step
        wf = flows.act(mzj if role == "civil" else zjj, wf.id, step)
    assert wf.state == "recorded"
    new_ids = list(wf.result["node_ids"])  # type: ignore[index]
    assert new_ids and all(_grid_of(platform, i) == ids["east_north"] for i in new_ids)


def test_before_any_grid_exists_nothing_is_mapped_and_creating_grids_maps_all(platform: Platform) -> None:
    t = small_tree(platform)
    assert _grid_of(platform, t.plate) is None
    ids = _hierarchy(platform)  # creating the district maps every node
    assert _grid_of(platform, t.plate) == ids["east_south"]
    south = platform.grids.grid(ids["east_south"])
    platform.grids.retire(SYSTEM, south.id, south.version)
    again = platform.grids.create(SYSTEM, NewGrid("micro", "新1号微网格", EAST_SOUTH, ids["east"]))
    assert _grid_of(platform, t.plate) == again.id
