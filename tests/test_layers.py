"""Layers: seeding, access levels, management rights, and the features of a layer (both databases)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from typer.testing import CliRunner

from citybase.cli import common
from citybase.domains.access import ANONYMOUS, SYSTEM
from citybase.domains.layers import SEED_LAYERS, FeatureQuery, LayerChanges, NewLayer, TimeInterval
from citybase.domains.objects import ObjectChanges
from citybase.kernel.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from citybase.kernel.geo import BBox
from citybase.platform import Platform
from tests.helpers import ADMIN_PASSWORD, Api, add_building, add_department, add_lamp, add_user
from tests.test_api import assert_problem
from tests.test_cli import cli, run

__all__ = ["cli"]  # the fixture


def test_init_publishes_one_public_layer_per_seeded_class_once(platform: Platform) -> None:
    layers = platform.layers.list(ANONYMOUS)
    assert len(layers) == len(SEED_LAYERS) == len(platform.classes.all())
    buildings = platform.layers.get(ANONYMOUS, "buildings")
    assert (buildings.class_code, buildings.title, buildings.access) == ("050101", "建筑物", "public")
    assert buildings.style["type"] == "fill-extrusion"
    platform.init(admin_password=ADMIN_PASSWORD)
    assert len(platform.layers.list(ANONYMOUS)) == len(SEED_LAYERS)


def test_access_levels_decide_who_sees_a_layer(platform: Platform) -> None:
    zjj = add_department(platform)
    cgj = add_department(platform, "cgj", "城市管理局")
    platform.layers.create(SYSTEM, NewLayer("staff-lamps", "内部路灯", "010301", access="internal"))
    platform.layers.create(
        SYSTEM, NewLayer("permits", "规划许可", "050101", access="restricted", allowed_departments=[zjj.id])
    )
    add_user(platform, "zjj_user", "department_user", "zjj")
    add_user(platform, "cgj_user", "department_user", "cgj")
    zjj_actor = platform.access.actor_for_token(platform.access.login("zjj_user", "user-pass-123")[0])
    cgj_actor = platform.access.actor_for_token(platform.access.login("cgj_user", "user-pass-123")[0])
    names = {lyr.name for lyr in platform.layers.list(ANONYMOUS)}
    assert "staff-lamps" not in names and "permits" not in names
    assert {"staff-lamps", "permits"} <= {lyr.name for lyr in platform.layers.list(zjj_actor)}
    cgj_names = {lyr.name for lyr in platform.layers.list(cgj_actor)}
    assert "staff-lamps" in cgj_names and "permits" not in cgj_names
    with pytest.raises(NotFoundError):
        platform.layers.get(cgj_actor, "permits")
    with pytest.raises(NotFoundError):
        platform.layers.get(ANONYMOUS, "staff-lamps")
    assert cgj.id != zjj.id


def test_department_admins_manage_their_own_layers_only(platform: Platform) -> None:
    add_department(platform)
    other = add_department(platform, "cgj", "城市管理局")
    add_user(platform, "zjj_admin", "department_admin", "zjj")
    add_user(platform, "zjj_user", "department_user", "zjj")
    admin = platform.access.actor_for_token(platform.access.login("zjj_admin", "user-pass-123")[0])
    user = platform.access.actor_for_token(platform.access.login("zjj_user", "user-pass-123")[0])
    own = platform.layers.create(admin, NewLayer("zjj-buildings", "住建楼栋", "050101", access="internal"))
    assert own.department_id == admin.department_id
    with pytest.raises(PermissionDeniedError):
        platform.layers.create(admin, NewLayer("cgj-lamps", "城管路灯", "010301", department_id=other.id))
    with pytest.raises(PermissionDeniedError):
        platform.layers.create(user, NewLayer("mine", "我的", "010301"))
    with pytest.raises(PermissionDeniedError):
        platform.layers.update(admin, "buildings", LayerChanges(title="x"))  # a platform layer
    changed = platform.layers.update(admin, "zjj-buildings", LayerChanges(style={"type": "fill"}, access="public"))
    assert changed.style == {"type": "fill"} and changed.access == "public"


def test_bad_layers_are_refused_with_reasons(platform: Platform) -> None:
    with pytest.raises(InvalidInputError) as err:
        platform.layers.create(SYSTEM, NewLayer("Bad Name", "", "050101"))
    assert {i.field for i in err.value.issues} == {"name", "title"}
    with pytest.raises(InvalidInputError):
        platform.layers.create(SYSTEM, NewLayer("nowhere", "无", "999999"))
    with pytest.raises(InvalidInputError):
        platform.layers.create(SYSTEM, NewLayer("styled", "样式", "050101", style={"paint": {}, "script": "x"}))
    with pytest.raises(InvalidInputError):
        platform.layers.create(
            SYSTEM, NewLayer("secret", "秘密", "050101", access="restricted", allowed_departments=[99])
        )
    with pytest.raises(ConflictError):
        platform.layers.create(SYSTEM, NewLayer("buildings", "重复", "050101"))


def test_features_filter_by_bbox_time_and_properties_and_see_changes_at_once(platform: Platform) -> None:
    lyr = platform.layers.get(ANONYMOUS, "buildings")
    a = add_building(platform, "1号楼", floors=6)
    b = add_building(platform, "2号楼", dx=0.01, floors=11, use="住宅")
    add_lamp(platform)  # another class: never in this layer

    def names(**kw: object) -> list[str]:
        return [o.name for o in platform.layers.features(lyr, ANONYMOUS, FeatureQuery(**kw)).items]  # type: ignore[arg-type]

    assert names() == ["1号楼", "2号楼"]
    assert names(bbox=BBox(112.145, 32.0, 112.16, 32.02)) == ["2号楼"]
    assert names(properties={"floors": "11"}) == ["2号楼"]
    assert names(properties={"use": "住宅", "name": "2号楼"}) == ["2号楼"]
    now = datetime.now(UTC)
    assert names(datetime=TimeInterval(None, now - timedelta(days=1))) == []
    assert names(datetime=TimeInterval(now - timedelta(days=1), None)) == ["1号楼", "2号楼"]
    with pytest.raises(InvalidInputError):
        names(properties={"colour": "red"})
    page = platform.layers.features(lyr, ANONYMOUS, FeatureQuery(limit=1))
    assert page.has_more and page.matched == 2 and page.matched_exact
    platform.objects.update(SYSTEM, a.id, 1, ObjectChanges(name="1号楼(改)"))
    platform.objects.retire(SYSTEM, b.id, 1)
    assert names() == ["1号楼(改)"]
    with pytest.raises(NotFoundError):
        platform.layers.feature(lyr, ANONYMOUS, b.id)


def test_layers_api(api: Api, platform: Platform) -> None:
    r = api.get("/api/layers")
    assert r.status_code == 200 and len(r.json()["items"]) == len(SEED_LAYERS)
    assert api.get("/api/layers/buildings").json()["class_code"] == "050101"
    assert_problem(api.get("/api/layers/nothing"), 404)
    body = {"name": "lamps-night", "title": "夜间路灯", "class_code": "010301", "access": "internal"}
    assert_problem(api.post("/api/layers", json=body), 401)
    api.login("admin", ADMIN_PASSWORD)
    r = api.post("/api/layers", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["access"] == "internal"
    r = api.patch("/api/layers/lamps-night", json={"style": {"type": "circle", "paint": {"circle-radius": 3}}})
    assert r.status_code == 200 and r.json()["style"]["paint"]["circle-radius"] == 3
    assert_problem(api.patch("/api/layers/lamps-night", json={"access": "secret"}), 400, "access")
    assert_problem(api.post("/api/layers", json=body), 409)
    api.anonymous()
    assert_problem(api.get("/api/layers/lamps-night"), 404)


def test_cli_lists_and_adds_layers(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("citybase.cli.layers.console", common.console)
    run(cli, "init")
    assert "buildings" in run(cli, "layers", "list")
    out = run(cli, "layers", "add", "night-lamps", "--class", "010301", "--title", "夜间路灯", "--access", "internal")
    assert "/ogc/collections/night-lamps/items" in out
    assert "night-lamps" in run(cli, "layers", "list")
    assert "exists already" in run(cli, "layers", "add", "night-lamps", "--class", "010301", "--title", "x", code=1)
