"""The map portal 一张图 in headless Chromium: layer tree, 2D/3D white models, card, search, measure,
polygon statistics, import page, phone width. Asserts on rendered map state, DOM values and API calls."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect
from pyproj import Geod
from shapely.geometry import Polygon

from citybase.domains.access import ANONYMOUS, SYSTEM
from citybase.domains.layers import NewLayer
from citybase.domains.objects import ObjectChanges, stats_in_area
from tests.browser.test_portal import X0, Y0, Portal, Site, browser, portal, site
from tests.helpers import ADMIN_PASSWORD

__all__ = ["browser", "portal", "site"]  # fixtures

GEOD = Geod(ellps="GRS80")
# Around the 16 buildings of 檀溪花园小区 (see build_city in test_portal.py).
COMPOUND_RING = [
    (X0 - 0.0001, Y0 + 0.0001),
    (X0 + 0.0042, Y0 + 0.0001),
    (X0 + 0.0042, Y0 + 0.0030),
    (X0 - 0.0001, Y0 + 0.0030),
]


def click_at(portal: Portal, lon: float, lat: float) -> None:
    xy = portal.page.evaluate("(c) => { const p = window.__citybase.map.project(c); return [p.x, p.y]; }", [lon, lat])
    portal.page.mouse.click(xy[0], xy[1])


def tool_points(portal: Portal) -> list[list[float]]:
    points: list[list[float]] = portal.page.evaluate("window.__citybase.tools.points")
    return points


def rendered(portal: Portal, layer: str) -> list[dict[str, Any]]:
    features: list[dict[str, Any]] = portal.page.evaluate(
        "(l) => window.__citybase.map.queryRenderedFeatures({layers: [l]}).map((f) => f.properties)", layer
    )
    return features


def rendered_eventually(portal: Portal, layer: str, at_least: int, timeout: float = 10.0) -> list[dict[str, Any]]:
    """The rendered features of ``layer`` once there are ``at_least`` (the map draws on its next frame,
    which a loaded machine may delay); the last reading when the time is up."""
    deadline = time.monotonic() + timeout
    features = rendered(portal, layer)
    while len(features) < at_least and time.monotonic() < deadline:
        portal.page.wait_for_timeout(100)
        features = rendered(portal, layer)
    return features


def login(portal: Portal) -> None:
    portal.page.evaluate("([u, p]) => import('./api.js').then((m) => m.api.login(u, p))", ["admin", ADMIN_PASSWORD])


# --- layer tree ------------------------------------------------------------------------------------------
def test_the_layer_tree_lists_readable_layers_by_group_and_filters(portal: Portal, site: Site) -> None:
    dept = site.platform.access.department("zjj")
    site.platform.layers.create(
        SYSTEM, NewLayer("staff-lamps", "内部路灯", "010301", access="internal", department_id=dept.id)
    )
    portal.open()
    page = portal.page
    tree = page.locator("#layer-tree")
    expect(tree.locator("label[for=lyr-box-buildings]")).to_contain_text("建筑物")
    group = tree.locator("fieldset", has=page.locator("label[for=lyr-box-buildings]"))
    expect(group.locator("legend")).to_have_text("房屋土地")
    expect(tree.locator("label[for=lyr-box-staff-lamps]")).to_have_count(0)  # internal: not for anonymous callers
    public = site.platform.layers.list(ANONYMOUS)
    assert tree.locator("input[data-layer]").count() == len(public)

    page.get_by_label("筛选图层").fill("路灯")
    expect(page.locator("label[for=lyr-box-street-lamps]")).to_be_visible()
    expect(page.locator("label[for=layer-010301]")).to_be_visible()  # the base layer matches too
    expect(page.locator("label[for=lyr-box-buildings]")).to_be_hidden()
    expect(page.locator("label[for=layer-050101]")).to_be_hidden()
    page.get_by_label("筛选图层").fill("没有这种图层")
    expect(page.locator("#layer-filter-empty")).to_be_visible()
    page.get_by_label("筛选图层").fill("")

    login(portal)  # the tree follows who is logged in
    expect(tree.locator("label[for=lyr-box-staff-lamps]")).to_contain_text("内部路灯")
    expect(tree.locator("label[for=lyr-box-staff-lamps]")).to_contain_text("内部")
    page.get_by_label("分组方式").select_option("department")
    legends = tree.locator("legend").all_inner_texts()
    assert "平台" in legends
    assert dept.name in legends
    assert portal.problems == []


def test_a_tree_layer_is_drawn_from_its_own_vector_tiles(portal: Portal, site: Site) -> None:
    portal.open()
    portal.view(X0 + 0.002, Y0 - 0.0006, 16.5)
    page = portal.page
    assert page.evaluate("window.__citybase.map.getSource('lyr-street-lamps')") is None
    page.locator("#lyr-box-street-lamps").check()
    portal.idle()
    tiles = [
        u for u in portal.requests if re.search(r"/ogc/collections/street-lamps/tiles/WebMercatorQuad/16/\d+/\d+$", u)
    ]
    assert tiles, "the layer's own OGC tiles are requested"
    lamps = rendered(portal, "lyr-street-lamps")
    assert {f["class_code"] for f in lamps} == {"010301"}
    assert {f["name"] for f in lamps} >= {f"檀溪路路灯{k}" for k in range(1, 4)}
    page.locator("#lyr-box-street-lamps").uncheck()
    assert page.evaluate("window.__citybase.map.getSource('lyr-street-lamps')") is None
    # A white-model layer follows the 2D/3D switch: flat fill in 2D, extrusion in 3D.
    page.locator("#lyr-box-buildings").check()
    assert page.evaluate("window.__citybase.map.getLayer('lyr-buildings').type") == "fill"
    page.locator("#mode-3d").click()
    portal.idle()
    assert page.evaluate("window.__citybase.map.getLayer('lyr-buildings').type") == "fill-extrusion"
    assert portal.problems == []


# --- 2D / 3D ---------------------------------------------------------------------------------------------
def test_3d_tilts_the_map_and_draws_buildings_as_white_models(portal: Portal, site: Site) -> None:
    portal.open()
    portal.view(X0 + 0.002, Y0 + 0.0015, 16.5)
    page = portal.page
    button = page.locator("#mode-3d")
    expect(button).to_have_text("三维")
    button.click()
    page.wait_for_timeout(700)
    portal.idle()
    expect(button).to_have_text("二维")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#layer-3d")).to_be_checked()  # the panel's switch follows
    assert page.evaluate("window.__citybase.map.getPitch()") > 40
    assert page.evaluate("window.__citybase.map.getLayoutProperty('050101-3d', 'visibility')") == "visible"
    assert page.evaluate("window.__citybase.map.getLayoutProperty('050101', 'visibility')") == "none"
    color = page.evaluate("window.__citybase.map.getPaintProperty('050101-3d', 'fill-extrusion-color')")
    assert color[-1] == "#f7f7f4"  # white, unless selected
    models = rendered(portal, "050101-3d")
    assert {f["name"] for f in models} >= {"檀溪花园1栋", "檀溪花园6栋"}
    heights = {f["name"]: f["height_m"] for f in models}
    assert heights["檀溪花园6栋"] == site.city.objects["檀溪花园6栋"].attributes["height_m"]
    button.click()
    page.wait_for_timeout(700)
    portal.idle()
    assert page.evaluate("window.__citybase.map.getPitch()") == 0
    assert page.evaluate("window.__citybase.map.getLayoutProperty('050101', 'visibility')") == "visible"
    assert rendered(portal, "050101")


# --- card ------------------------------------------------------------------------------------------------
def test_the_card_shows_code_class_attributes_and_history(portal: Portal, site: Site) -> None:
    obj = site.city.objects["檀溪花园3栋"]
    code = site.platform.codes.assign(SYSTEM, obj.id).code
    current = site.platform.objects.get(obj.id)
    site.platform.objects.update(
        SYSTEM, obj.id, current.version, ObjectChanges(attributes={**current.attributes, "use": "商住混合"})
    )
    portal.open()
    centre = obj.geometry.centroid  # type: ignore[union-attr]
    portal.view(centre.x, centre.y, 17.5)
    portal.page.mouse.click(*portal.pixel_of(obj.geometry))
    card = portal.page.locator("#card")
    expect(card.locator("h2")).to_have_text("檀溪花园3栋")
    expect(card).to_contain_text(code)
    expect(card).to_contain_text("建筑物 (050101)")
    expect(card.locator("table.attributes tr", has_text="商住混合")).to_have_count(1)
    assert any(u.endswith(f"/api/codes/{code}") for u in portal.requests), "the code card is read for the address"
    card.get_by_role("button", name="历史版本").click()
    items = card.locator("#history-list li")
    expect(items).to_have_count(len(site.platform.objects.history(obj.id)))
    expect(items.first).to_contain_text("修改")
    assert any(re.search(rf"/api/objects/{obj.id}/history$", u) for u in portal.requests)


# --- search ----------------------------------------------------------------------------------------------
def test_a_21_character_code_opens_its_object(portal: Portal, site: Site) -> None:
    obj = site.city.objects["市民服务中心"]
    code = site.platform.codes.assign(SYSTEM, obj.id).code
    assert len(code) == 21
    portal.open()
    page = portal.page
    page.get_by_label("按名称搜索对象").fill(code)
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#card h2")).to_have_text("市民服务中心")
    assert any(u.endswith(f"/api/codes/{code}") for u in portal.requests)
    assert not any("/api/objects?" in u and "q=" in u for u in portal.requests), "a code is not a name search"
    portal.idle()
    centre = page.evaluate("window.__citybase.map.getCenter().toArray()")
    target = obj.geometry.centroid  # type: ignore[union-attr]
    assert abs(centre[0] - target.x) < 0.001 and abs(centre[1] - target.y) < 0.001


def test_name_search_asks_the_address_service_and_degrades_quietly(portal: Portal, site: Site) -> None:
    portal.open()
    page = portal.page
    page.get_by_label("按名称搜索对象").fill("檀溪路")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#search-results button", has_text="檀溪路公交站")).to_be_visible()
    assert any("/api/objects?" in u and "q=" in u for u in portal.requests)
    assert any("/api/addresses/suggest?" in u for u in portal.requests)
    expect(page.locator("#toast")).to_be_hidden()
    unexpected = [p for p in portal.problems if "/api/addresses/" not in p and "404" not in p]
    assert unexpected == []


# --- measure ---------------------------------------------------------------------------------------------
def test_measure_distance_and_area_geodesically(portal: Portal) -> None:
    portal.open()
    portal.view(X0 + 0.002, Y0 + 0.0015, 16)
    page = portal.page
    page.locator("#tool-distance").click()
    panel = page.locator("#tool-panel").bounding_box()
    assert panel is not None and panel["x"] > 900, "the tool panel leaves the middle of the map free"
    expect(page.locator("#tool-panel h2")).to_have_text("测距")
    click_at(portal, X0, Y0)
    click_at(portal, X0 + 0.004, Y0)
    click_at(portal, X0 + 0.004, Y0 + 0.003)
    points = tool_points(portal)
    assert len(points) == 3
    expected = sum(GEOD.inv(*points[i], *points[i + 1])[2] for i in range(2))
    assert page.evaluate("window.__citybase.tools.value()") == pytest.approx(expected, abs=1e-4)
    expect(page.locator("#tool-value")).to_have_text(f"{expected:.1f} m")
    assert len(rendered_eventually(portal, "measure-points", 3)) == 3
    assert len(rendered_eventually(portal, "measure-line", 1)) >= 1
    page.keyboard.press("Backspace")
    assert len(tool_points(portal)) == 2
    page.keyboard.press("Escape")
    expect(page.locator("#tool-panel")).to_be_hidden()

    page.locator("#tool-area").click()
    for lon, lat in COMPOUND_RING:
        click_at(portal, lon, lat)
    page.keyboard.press("Enter")
    ring = tool_points(portal)
    area = abs(GEOD.polygon_area_perimeter([p[0] for p in ring], [p[1] for p in ring])[0])
    measured = page.evaluate("window.__citybase.tools.value()")
    assert len(ring) == 4
    assert abs(measured - area) / area < 1e-4  # the portal's equal-area method (docs/portal.md)
    assert 100_000 < area < 160_000  # ~406 m × 321 m
    expect(page.locator("#tool-value")).to_contain_text("公顷")
    expect(page.locator("#tool-value")).to_contain_text(f"{area / 10000:.2f} 公顷")
    assert len(rendered(portal, "measure-fill")) >= 1
    # A click on the map belongs to the tool, not to the object card.
    expect(page.locator("#card")).to_be_hidden()
    page.get_by_role("button", name="EN").click()
    expect(page.locator("#tool-value")).to_contain_text(" ha (")
    assert portal.problems == []


# --- polygon statistics ----------------------------------------------------------------------------------
def test_a_drawn_polygon_counts_the_objects_inside_by_class(portal: Portal, site: Site) -> None:
    portal.open()
    portal.view(X0 + 0.002, Y0 + 0.0015, 16.5)
    page = portal.page
    page.locator("#tool-stats").click()
    for lon, lat in COMPOUND_RING:
        click_at(portal, lon, lat)
    with page.expect_response(lambda r: r.url.endswith("/api/objects/stats")) as answer:
        page.locator("#tool-finish").click()
    assert answer.value.status == 200
    ring = tool_points(portal)
    expected = stats_in_area(site.platform.store, site.platform.classes, Polygon(ring))
    counts = {c.class_code: c.count for c in expected.classes}
    assert counts["050101"] == 16  # the compound's buildings
    table = page.locator("#stats-table")
    expect(table.locator("tbody tr")).to_have_count(len(expected.classes))
    expect(table.locator("tr[data-class='050101'] th")).to_have_text("建筑物")
    expect(table.locator("tr[data-class='050101'] td")).to_have_text("16")
    expect(page.locator("#stats-total")).to_have_text(str(expected.total))
    page.screenshot(path="/tmp/portal-stats.png")  # to check by eye, not asserted
    page.get_by_role("button", name="EN").click()
    expect(table.locator("tr[data-class='050101'] th")).to_have_text("Building")

    # A bow tie is no area: the server's problem is shown, naming the reason.
    page.evaluate(
        """(pts) => { const t = window.__citybase.tools; t.close(); t.start('stats');
                     for (const p of pts) t.add(p); return t.finish(); }""",
        [[X0, Y0], [X0 + 0.003, Y0 + 0.002], [X0 + 0.003, Y0], [X0, Y0 + 0.002]],
    )
    expect(page.locator("#toast")).to_contain_text("Self-intersection")
    expect(page.locator("#tool-panel .form-error")).to_contain_text("invalid geometry")


# --- import page -----------------------------------------------------------------------------------------
def test_the_import_page_uploads_and_shows_progress_and_the_report(portal: Portal, site: Site, tmp_path: Path) -> None:
    def lamp(name: str, lamp_type: str, dx: float) -> dict[str, Any]:
        return {
            "type": "Feature",
            "properties": {"name": name, "lamp_type": lamp_type},
            "geometry": {"type": "Point", "coordinates": [X0 + 0.02 + dx, Y0 + 0.02]},
        }

    upload = tmp_path / "导入路灯.geojson"
    upload.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    lamp("导入路灯1", "LED", 0),
                    lamp("导入路灯2", "火把", 0.001),
                    lamp("导入路灯3", "LED", 0.002),
                ],
            }
        ),
        encoding="utf-8",
    )
    page = portal.page
    page.goto(site.origin + "/portal/import.html")
    expect(page.locator("#import-class option[value='010301']")).to_have_count(1)  # classes loaded
    expect(page.locator("h1")).to_have_text("数据导入")
    expect(page.locator("#import-login")).to_be_visible()
    login(portal)
    expect(page.locator("#import-login")).to_be_hidden()
    page.locator("#import-file").set_input_files(str(upload))
    page.get_by_label("目标图层").fill("imported-lamps")
    page.get_by_label("类别").select_option("010301")
    page.get_by_label("坐标系").select_option("EPSG:4490")
    with page.expect_response(lambda r: r.url.endswith("/api/imports") and r.request.method == "POST") as answer:
        page.get_by_role("button", name="开始导入").click()
    assert answer.value.status == 202, answer.value.text()
    expect(page.locator("#import-status")).to_be_visible()
    site.platform.jobs.run_pending()  # the test server runs no job workers
    expect(page.locator("#import-state")).to_have_text("已完成", timeout=15_000)
    assert page.locator("#import-progress").get_attribute("value") == "100"
    expect(page.locator("#report-rows_read dd")).to_have_text("3")
    expect(page.locator("#report-loaded dd")).to_have_text("2")
    expect(page.locator("#report-rejected dd")).to_have_text("1")
    issue = page.locator("#report-issues tbody tr")
    expect(issue).to_have_count(1)
    expect(issue.locator("td").nth(0)).to_have_text("2")
    expect(issue).to_contain_text("lamp_type")
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("#report-loaded dt")).to_have_text("Loaded")
    assert portal.problems == []


# --- phone ----------------------------------------------------------------------------------------------
def test_the_portal_works_at_phone_width(browser: Browser, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN", has_touch=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    try:
        phone = Portal(page, site.origin, [], problems).open()
        expect(page.locator("#layer-list")).to_be_hidden()  # the map first
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        toolbar = page.locator("#toolbar").bounding_box()
        assert toolbar is not None and toolbar["x"] + toolbar["width"] <= 390
        page.locator("#tool-distance").tap()
        panel = page.locator("#tool-panel").bounding_box()
        assert panel is not None and panel["x"] >= 0 and panel["x"] + panel["width"] <= 390
        toolbar = page.locator("#toolbar").bounding_box()
        assert toolbar is not None and panel["y"] + panel["height"] <= toolbar["y"], "the panel leaves the toolbar free"
        phone.view(X0 + 0.002, Y0 + 0.0015, 16)
        for lon, lat in [(X0, Y0), (X0 + 0.002, Y0)]:
            xy = page.evaluate("(c) => { const p = window.__citybase.map.project(c); return [p.x, p.y]; }", [lon, lat])
            page.touchscreen.tap(xy[0], xy[1])
            page.wait_for_timeout(350)  # two taps apart, not a double tap
        assert len(page.evaluate("window.__citybase.tools.points")) == 2
        expect(page.locator("#tool-value")).to_contain_text(" m")
        page.screenshot(path="/tmp/portal-phone.png")  # to check by eye, not asserted
        page.locator("#layers-toggle").tap()
        expect(page.locator("#layer-list")).to_be_visible()
        assert problems == []
    finally:
        context.close()
