"""The HTTP API in-process: auth, administration, objects, problem JSON, metering, system endpoints."""

from __future__ import annotations

from typing import Any

from citybase.platform import Platform
from tests.helpers import ADMIN_PASSWORD, Api, add_building, add_department, add_user

BUILDING: dict[str, Any] = {
    "class_code": "050101",
    "name": "檀溪小区3号楼",
    "geometry": {
        "type": "Polygon",
        "coordinates": [[[112.14, 32.01], [112.1403, 32.01], [112.1403, 32.0102], [112.14, 32.0102], [112.14, 32.01]]],
    },
    "attributes": {"floors": 11, "height_m": 33.0, "use": "住宅"},
}


def assert_problem(r: Any, status: int, field: str | None = None, reason: str | None = None) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = r.json()
    assert {"type", "title", "status", "detail", "instance"} <= set(body)
    if field is not None:
        assert any(i["field"] == field and (reason is None or reason in i["reason"]) for i in body["issues"]), body
    return body


def test_login_me_and_logout(api: Api) -> None:
    assert api.get("/api/auth/me").json()["kind"] == "anonymous"
    r = api.post("/api/auth/login", json={"username": "admin", "password": "wrong-password"})
    assert_problem(r, 401)
    api.login("admin", ADMIN_PASSWORD)
    me = api.get("/api/auth/me").json()
    assert me["role"] == "platform_admin" and "objects.write_any" in me["permissions"]
    assert api.post("/api/auth/logout").status_code == 204
    assert_problem(api.get("/api/auth/me"), 401)


def test_object_crud_with_etags_and_history(admin_api: Api) -> None:
    r = admin_api.post("/api/objects", json=BUILDING)
    assert r.status_code == 201, r.text
    obj = r.json()
    assert r.headers["etag"] == '"1"' and r.headers["location"] == f"/api/objects/{obj['id']}"
    assert obj["code"] is None and obj["state"] == "active" and obj["attributes"]["floors"] == 11
    url = f"/api/objects/{obj['id']}"
    assert_problem(admin_api.patch(url, json={"name": "x"}), 400, "version")
    r = admin_api.patch(url, json={"attributes": {"floors": 12}}, headers={"If-Match": '"1"'})
    assert r.status_code == 200 and r.json()["version"] == 2
    assert_problem(admin_api.patch(url, json={"version": 1, "name": "y"}), 409)
    r = admin_api.delete(url, headers={"If-Match": '"2"'})
    assert r.json()["state"] == "retired"
    versions = admin_api.get(f"{url}/history").json()["versions"]
    assert [v["change"] for v in versions] == ["create", "update", "retire"]
    first = versions[0]["recorded_at"]
    assert admin_api.get(url, params={"as_of": first}).json()["attributes"]["floors"] == 11


def test_search_pages_with_next_links_and_geojson(admin_api: Api, platform: Platform) -> None:
    for i in range(5):
        add_building(platform, f"楼{i}", dx=i * 0.001)
    r = admin_api.get("/api/objects", params={"class": "050101", "limit": 2, "count": "true"})
    body = r.json()
    assert len(body["items"]) == 2 and body["total"] == 5 and "offset=2" in body["links"]["next"]
    page2 = admin_api.get(body["links"]["next"].replace("http://citybase.test", "")).json()
    assert [o["name"] for o in page2["items"]] == ["楼2", "楼3"]
    fc = admin_api.get("/api/objects", params={"bbox": "112.139,32.009,112.1415,32.011", "f": "geojson"}).json()
    assert fc["type"] == "FeatureCollection" and {f["properties"]["name"] for f in fc["features"]} == {"楼0", "楼1"}
    assert fc["features"][0]["geometry"]["type"] == "Polygon"
    assert admin_api.get("/api/objects", params={"attr.floors": "6", "class": "050101"}).json()["items"]


def test_bad_requests_get_problem_json_naming_the_field(admin_api: Api) -> None:
    assert_problem(admin_api.get("/api/objects", params={"colour": "red"}), 400, "colour")
    assert_problem(admin_api.get("/api/objects", params={"bbox": "1,2,3"}), 400, "bbox")
    assert_problem(admin_api.get("/api/objects", params={"limit": "0"}), 400, "limit")
    assert_problem(admin_api.get("/api/objects", params={"as_of": "yesterday"}), 400, "as_of")
    assert_problem(admin_api.get("/api/objects/999999"), 404)
    r = admin_api.post("/api/objects", content=b'{"class_code": "05', headers={"content-type": "application/json"})
    assert_problem(r, 400, reason="malformed JSON")
    r = admin_api.post(
        "/api/objects", content='{"name": "楼"}'.encode("gbk"), headers={"content-type": "application/json"}
    )
    assert_problem(r, 400)
    bad = {**BUILDING, "attributes": {"floors": 0}, "geometry": {"type": "Point", "coordinates": [32.01, 112.14]}}
    assert_problem(admin_api.post("/api/objects", json=bad), 400, "geometry", "(lat, lon)")
    assert_problem(
        admin_api.post("/api/objects", json={**BUILDING, "attributes": {"floors": 0}}),
        400,
        "attributes.floors",
        "minimum",
    )
    assert_problem(admin_api.post("/api/objects", json={**BUILDING, "class_code": "123456"}), 400, "class_code")
    assert admin_api.get("/api/objects", params={"class": "050101"}).json()["items"] == []


def test_roles_decide_who_may_administer(api: Api, platform: Platform) -> None:
    add_department(platform, "zjj", "住建局")
    add_department(platform, "gaj", "公安局")
    add_user(platform, "zjj_admin", "department_admin", "zjj")
    add_user(platform, "viewer1", "viewer", "zjj")
    assert_problem(api.post("/api/admin/departments", json={"code": "x1", "name": "X"}), 401)
    api.login("viewer1", "user-pass-123")
    assert_problem(api.post("/api/objects", json=BUILDING), 403)
    assert_problem(api.get("/api/admin/users"), 403)
    api.login("zjj_admin", "user-pass-123")
    assert_problem(api.post("/api/admin/departments", json={"code": "x1", "name": "X"}), 403)
    r = api.post(
        "/api/admin/users",
        json={"username": "u2", "password": "long-enough", "role": "department_user", "department": "zjj"},
    )
    assert r.status_code == 201
    r = api.post(
        "/api/admin/users",
        json={"username": "u3", "password": "long-enough", "role": "department_user", "department": "gaj"},
    )
    assert_problem(r, 403)
    r = api.post(
        "/api/admin/users",
        json={"username": "u4", "password": "long-enough", "role": "platform_admin", "department": "zjj"},
    )
    assert_problem(r, 403)
    assert {u["username"] for u in api.get("/api/admin/users").json()["items"]} == {"zjj_admin", "viewer1", "u2"}
    assert_problem(api.post("/api/admin/users", json={"username": "u5", "password": "short", "role": "boss"}), 400)


def test_api_keys_are_shown_once_hashed_and_revocable(admin_api: Api, platform: Platform) -> None:
    add_department(platform, "zjj", "住建局")
    r = admin_api.post("/api/admin/api-keys", json={"department": "zjj", "name": "楼盘表系统"})
    assert r.status_code == 201
    key = r.json()
    secret = key["secret"]
    listed = admin_api.get("/api/admin/api-keys").json()["items"]
    assert listed and all("secret" not in k for k in listed)
    from sqlalchemy import select

    from citybase.store.schema import api_key

    with platform.store.read() as conn:
        stored = conn.execute(select(api_key.c.key_hash)).scalar_one()
    assert secret not in stored and len(stored) == 64
    admin_headers = dict(admin_api.headers)
    admin_api.as_key(secret)
    assert admin_api.get("/api/auth/me").json()["kind"] == "api_key"
    assert admin_api.post("/api/objects", json=BUILDING).status_code == 201
    admin_api.headers = admin_headers
    admin_api.delete(f"/api/admin/api-keys/{key['id']}")
    assert_problem(admin_api.as_key(secret).get("/api/auth/me"), 401)
    assert_problem(admin_api.as_key(secret[:-2] + "xx").get("/api/auth/me"), 401)


def test_every_call_is_metered_per_key_department_and_route(admin_api: Api, platform: Platform) -> None:
    dept = add_department(platform, "zjj", "住建局")
    secret = admin_api.post("/api/admin/api-keys", json={"department": "zjj", "name": "k"}).json()["secret"]
    admin_headers = dict(admin_api.headers)
    admin_api.as_key(secret)
    for _ in range(3):
        admin_api.get("/api/objects", params={"class": "050101"})
    admin_api.get("/api/objects/424242")
    admin_api.headers = admin_headers
    rows = admin_api.get("/api/metering/daily", params={"department_id": dept.id}).json()["items"]
    by_route = {(r["route"], r["method"]): r for r in rows}
    assert by_route[("/api/objects", "GET")]["calls"] == 3
    assert by_route[("/api/objects/{object_id}", "GET")]["calls"] == 1
    assert all(r["api_key_id"] is not None and r["mean_ms"] > 0 for r in rows)
    totals = admin_api.get("/api/metering/departments").json()["items"]
    assert {"department_id": dept.id, "calls": 4} in totals


def test_system_endpoints(api: Api) -> None:
    assert api.get("/health").json()["status"] == "ok"
    ready = api.get("/ready").json()
    assert ready["status"] == "ready" and ready["schema"] == ready["expected_schema"]
    r = api.get("/api/classes")
    assert r.headers["x-request-id"] and any(c["code"] == "050101" for c in r.json()["items"])
    assert r.headers.get("content-encoding") == "gzip"
    assert "citybase_http_requests_total" in api.get("/metrics").text
    spec = api.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/objects/{object_id}/history" in spec["paths"]
    assert api.get("/api/docs").status_code == 200
    assert api.get("/portal/").status_code == 200
