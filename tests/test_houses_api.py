"""The houses and organisations API: card, stale versions (409), permissions (a viewer cannot write),
bad USCC (400 naming field and reason), the phone page's scan, photo and bind, cross-checks. Both databases."""

from __future__ import annotations

from citybase.demo.houses import make_uscc
from citybase.platform import Platform
from tests.address_tree_helpers import small_tree
from tests.helpers import Api, add_department, add_user

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_house_api_card_update_and_conflicts(platform: Platform, admin_api: Api) -> None:
    t = small_tree(platform)
    r = admin_api.post("/api/houses", json={"address_node_id": t.building, "use": "residential"})
    assert r.status_code == 201, r.text
    house_id = r.json()["id"]
    r = admin_api.post("/api/houses", json={"address_node_id": t.room, "use": "bogus"})
    assert r.status_code == 400 and r.json()["issues"][0]["field"] == "use"
    r = admin_api.patch(f"/api/houses/{house_id}", json={"version": 1, "rental_status": "出租"})
    assert r.status_code == 200 and r.json()["version"] == 2
    r = admin_api.patch(f"/api/houses/{house_id}", json={"version": 1, "rental_status": "空置"})
    assert r.status_code == 409 and r.json()["issues"][0]["field"] == "version"
    r = admin_api.patch(f"/api/houses/{house_id}", json={"rental_status": "空置"})
    assert r.status_code == 400 and r.json()["issues"][0]["field"] == "version"
    r = admin_api.post(
        f"/api/houses/{house_id}/inspections", json={"inspected_on": "2024-03-02", "grade": "D", "inspector": "李工"}
    )
    assert r.status_code == 201, r.text
    card = admin_api.get(f"/api/houses/by-address/{t.building}").json()
    assert card["house"]["safety_grade"] == "D" and len(card["history"]) == 3 and card["inspections"]
    assert admin_api.get(f"/api/houses/{house_id}").json()["address"]["node_id"] == t.building
    assert admin_api.get("/api/houses/by-address/999999").status_code == 404


def test_viewer_reads_but_cannot_write(platform: Platform, admin_api: Api) -> None:
    t = small_tree(platform)
    add_department(platform)
    add_user(platform, "viewer1", "viewer", "zjj")
    house_id = admin_api.post("/api/houses", json={"address_node_id": t.building, "use": "commercial"}).json()["id"]
    org = admin_api.post(
        "/api/orgs",
        json={
            "uscc": make_uscc(5),
            "name": "襄阳五金店",
            "type": "self_employed",
            "legal_rep": "王小明",
            "registered_address": "襄阳",
        },
    ).json()
    admin_api.login("viewer1", "user-pass-123")
    assert admin_api.get(f"/api/houses/{house_id}").status_code == 200
    assert admin_api.patch(f"/api/houses/{house_id}", json={"version": 1, "use": "mixed"}).status_code == 403
    assert admin_api.post("/api/houses", json={"address_node_id": t.room, "use": "mixed"}).status_code == 403
    r = admin_api.post(
        "/api/orgs", json={"uscc": make_uscc(6), "name": "x", "type": "enterprise", "registered_address": "襄阳"}
    )
    assert r.status_code == 403
    assert admin_api.post("/api/orgs/bind", json={"uscc": make_uscc(5), "address_node_id": t.room}).status_code == 403
    assert admin_api.post(f"/api/orgs/{org['id']}/legal-rep", json={"purpose": "看看"}).status_code == 403
    got = admin_api.get(f"/api/orgs/{org['id']}").json()
    assert got["legal_rep"] == "王**"
    admin_api.anonymous()
    assert admin_api.get(f"/api/houses/{house_id}").status_code == 401
    assert admin_api.get("/api/orgs", params={"q": "五金"}).status_code == 401


def test_org_api_two_scans_five_steps(platform: Platform, admin_api: Api) -> None:
    t = small_tree(platform)
    admin_api.post("/api/houses", json={"address_node_id": t.building, "use": "commercial"})
    plate_code = platform.addresses.node(t.plate).display_code
    # (1) the door-plate QR holds a URL with the display code
    scan = admin_api.get("/api/houses/scan", params={"q": f"https://xy.example.cn/a/{plate_code}"}).json()
    assert scan["node_id"] == t.plate and [b["node_id"] for b in scan["buildings"]] == [t.building]
    assert scan["buildings"][0]["house"]["use"] == "commercial"
    assert admin_api.get("/api/houses/scan", params={"q": plate_code}).json()["node_id"] == t.plate
    assert admin_api.get("/api/houses/scan", params={"q": "nonsense-code"}).status_code == 404
    # (2) the shopfront photo
    r = admin_api.post("/api/orgs/photos", files={"photo": ("shop.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 201, r.text
    photo = r.json()["photo_path"]
    assert (platform.settings.data_dir / "photos" / photo).is_file()
    r = admin_api.post("/api/orgs/photos", files={"photo": ("x.jpg", b"not an image", "image/jpeg")})
    assert r.status_code == 400
    # (5) bind by USCC: a bad one names the field
    bad = make_uscc(8)[:17] + ("1" if make_uscc(8)[17] != "1" else "2")
    r = admin_api.post("/api/orgs", json={"uscc": bad, "name": "坏", "type": "enterprise", "registered_address": "x"})
    assert r.status_code == 400 and r.json()["issues"][0]["field"] == "uscc"
    r = admin_api.post(
        "/api/orgs",
        json={
            "uscc": make_uscc(8),
            "name": "檀溪茶社",
            "type": "self_employed",
            "registered_address": "湖北省襄阳市襄城区真武山街道长虹路57号檀溪花园3栋",
        },
    )
    assert r.status_code == 201, r.text
    r = admin_api.post(
        "/api/orgs", json={"uscc": make_uscc(8), "name": "again", "type": "enterprise", "registered_address": "x"}
    )
    assert r.status_code == 409
    r = admin_api.post(
        "/api/orgs/bind", json={"uscc": make_uscc(8), "address_node_id": t.building, "photo_path": photo}
    )
    assert r.status_code == 200, r.text
    assert any(s["photo_path"] == photo for s in r.json()["sites"])
    r = admin_api.post(
        "/api/orgs/bind", json={"uscc": make_uscc(8), "address_node_id": t.building, "photo_path": "../../etc/passwd"}
    )
    assert r.status_code == 400
    assert admin_api.get("/api/orgs", params={"q": "檀溪茶"}).json()["items"][0]["uscc"] == make_uscc(8)
    assert admin_api.get(f"/api/orgs/by-uscc/{make_uscc(8)}").json()["name"] == "檀溪茶社"
    report = admin_api.get("/api/orgs/cross-checks", params={"max_registrations": 5}).json()
    assert report["counts"] == {"nonexistent": 0, "not_commercial": 0, "crowded": 0}
    r = admin_api.post("/api/orgs/import", files={"file": ("o.csv", b"uscc,name\n", "text/csv")})
    assert r.status_code == 400
