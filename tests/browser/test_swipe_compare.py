"""Swipe-compare of two layer versions in the portal (headless Chromium): two versions imported through the
API, the compare opened from the layer tree, the divider dragged, each map showing its version's features."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.browser.test_portal import Portal, Site, browser, portal, site
from tests.helpers import ADMIN_PASSWORD, ORIGIN
from tests.imports_helpers import footprints, write_file

__all__ = ["browser", "portal", "site"]  # fixtures

LAYER = "swipe-test"
MAPPING = {"编号": "key", "名称": "name", "层数": "floors"}


def buildings(path: Path, rows: list[tuple[str, str, int, int]]) -> Path:
    shapes = footprints(5)
    return write_file(
        path,
        [shapes[i] for *_, i in rows],
        {"编号": [r[0] for r in rows], "名称": [r[1] for r in rows], "层数": [r[2] for r in rows]},
    )


def import_via_api(site: Site, client: httpx.Client, path: Path, **form: str) -> int:
    r = client.post("/api/imports", data={"layer": LAYER, **form}, files={"file": (path.name, path.read_bytes())})
    assert r.status_code == 202, r.text
    site.platform.jobs.run_pending()
    done = client.get(f"/api/imports/{r.json()['id']}").json()
    assert done["state"] == "succeeded", done
    return int(done["layer_version"])


def drawn(portal: Portal, side: str) -> list[str]:
    """Names of the features the compare map of a side has drawn from its version's tiles."""
    names: list[str] = portal.page.evaluate(
        "(s) => window.__citybase.swipe.maps[s].queryRenderedFeatures({layers: [`version-${s}`]})"
        ".map((f) => f.properties.name)",
        side,
    )
    return sorted(set(names))


def wait_drawn(portal: Portal) -> None:
    portal.page.wait_for_function(
        "() => { const s = window.__citybase.swipe; return s.isOpen && ['a', 'b'].every((k) => s.maps[k].loaded()"
        " && s.maps[k].getLayer(`version-${k}`)); }"
    )
    portal.page.evaluate(
        "() => Promise.all(Object.values(window.__citybase.swipe.maps).map((m) => new Promise((r) =>"
        " m.loaded() && !m.isMoving() ? r() : m.once('idle', r))))"
    )


def test_swipe_compare_shows_two_versions_side_by_side(portal: Portal, site: Site, tmp_path: Path) -> None:
    with httpx.Client(base_url=site.origin, timeout=30) as client:
        token = client.post("/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}).json()["token"]
        client.headers["Authorization"] = f"Bearer {token}"
        v1 = buildings(tmp_path / "v1.gpkg", [("A", "甲楼", 5, 0), ("B", "乙楼", 6, 1), ("C", "丙楼", 7, 2)])
        mapping = json.dumps(MAPPING, ensure_ascii=False)
        assert import_via_api(site, client, v1, class_code="050101", mapping=mapping, title="对比测试") == 1
        v2 = buildings(tmp_path / "v2.gpkg", [("A", "甲楼", 9, 0), ("B", "乙楼", 6, 1), ("D", "丁楼", 3, 3)])
        assert import_via_api(site, client, v2) == 2

    portal.open()
    page = portal.page
    page.evaluate("([u, p]) => import('./api.js').then((m) => m.api.login(u, p))", ["admin", ADMIN_PASSWORD])
    item = page.locator(f"label[data-compare={LAYER}]")
    expect(item).to_be_visible()  # a dataset layer with two versions offers the compare
    expect(page.locator("label[for=lyr-box-buildings] .compare-button")).to_have_count(0)  # a class layer does not
    item.locator(".compare-button").click()
    expect(page.locator("#swipe")).to_be_visible()
    expect(page.locator("#swipe-a")).to_have_value("1")
    expect(page.locator("#swipe-b")).to_have_value("2")
    expect(page.locator("#swipe-summary")).to_have_text("新增 1 · 变更 1 · 移出 1 · 未变 1")
    assert not page.locator(f"#lyr-box-{LAYER}").is_checked()  # the button did not toggle the layer

    # Over the footprints (0.001° apart from ORIGIN) at a zoom where the building tiles are drawn.
    centre = [ORIGIN[0] + 0.002, ORIGIN[1] + 0.0001]
    page.evaluate("(c) => window.__citybase.swipe.maps.a.jumpTo({center: c, zoom: 17})", centre)
    wait_drawn(portal)
    views: list[Any] = page.evaluate(
        "() => ['a', 'b'].map((k) => { const m = window.__citybase.swipe.maps[k]; "
        "return [m.getCenter().lng, m.getCenter().lat, m.getZoom()]; })"
    )
    assert views[0] == views[1]  # the maps move together
    assert drawn(portal, "a") == ["丙楼", "乙楼", "甲楼"]  # version 1 on the left
    assert drawn(portal, "b") == ["丁楼", "乙楼", "甲楼"]  # version 2 on the right
    requested = [u for u in portal.requests if f"/collections/{LAYER}/tiles/" in u]
    assert any(u.endswith("?version=1") for u in requested) and any(u.endswith("?version=2") for u in requested)

    # Drag the divider from the middle to a quarter of the width: the right map is clipped there.
    box = page.locator("#swipe").bounding_box()
    handle = page.locator(".swipe-divider").bounding_box()
    assert box is not None and handle is not None
    assert abs(handle["x"] + handle["width"] / 2 - (box["x"] + box["width"] / 2)) < 3
    page.mouse.move(handle["x"] + handle["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.25, box["y"] + box["height"] / 2, steps=8)
    page.mouse.up()
    position = page.evaluate("window.__citybase.swipe.position")
    assert abs(position - 0.25) < 0.01
    clip = page.locator(".swipe-right").evaluate("(el) => el.style.clipPath")
    left = re.fullmatch(r"inset\(0px 0px 0px ([\d.]+)px\)", clip)
    assert left is not None and abs(float(left.group(1)) - box["width"] * 0.25) < 3, clip
    moved = page.locator(".swipe-divider").bounding_box()
    assert moved is not None and abs(moved["x"] + moved["width"] / 2 - (box["x"] + box["width"] * 0.25)) < 3

    page.screenshot(path=str(tmp_path / "swipe-compare.png"))  # for a look when it fails (pytest keeps tmp_path)

    # Another pair of versions: the right map redraws, the summary follows.
    page.locator("#swipe-b").select_option("1")
    expect(page.locator("#swipe-summary")).to_have_text("新增 0 · 变更 0 · 移出 0 · 未变 3")
    wait_drawn(portal)
    page.wait_for_function("() => window.__citybase.swipe.maps.b.getSource('version').tiles[0].endsWith('version=1')")
    wait_drawn(portal)
    assert drawn(portal, "b") == ["丙楼", "乙楼", "甲楼"]

    page.locator("#swipe-close").click()
    expect(page.locator("#swipe")).to_have_count(0)
    assert not portal.problems, portal.problems
