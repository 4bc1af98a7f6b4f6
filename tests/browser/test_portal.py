"""The portal in a real headless Chromium, against a real uvicorn server on a throwaway SQLite city.

Chromium comes from Debian (``/usr/bin/chromium``); Playwright only drives it, it never downloads a browser.
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from shapely.geometry import LineString, MultiPolygon, Polygon, box

from citybase.domains.access import SYSTEM
from citybase.domains.objects import CityObject, NewObject
from citybase.kernel.settings import load_settings
from citybase.platform import Platform
from citybase.web import create_app
from tests.helpers import ADMIN_PASSWORD, ORIGIN, add_building, add_department, point_at

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync",
                 # WebGL on the CPU: Chromium no longer falls back to SwiftShader without being told to.
                 "--enable-unsafe-swiftshader", "--use-angle=swiftshader"]
SCREENSHOT = Path("/tmp/portal.png")
X0, Y0 = ORIGIN


# --- a small city: boundaries, river, park, roads, a compound of buildings and street furniture ------------
@dataclass
class City:
    objects: dict[str, CityObject] = field(default_factory=dict)

    def add(self, platform: Platform, class_code: str, name: str, geometry: Any, department_id: int | None = None,
            **attributes: Any) -> CityObject:
        obj = platform.objects.create(SYSTEM, NewObject(class_code=class_code, name=name, geometry=geometry,
                                                        attributes=attributes, department_id=department_id))
        self.objects[name] = obj
        return obj


def _wavy(x0: float, x1: float, y: float, amplitude: float, steps: int = 12) -> list[tuple[float, float]]:
    return [(x0 + (x1 - x0) * i / steps, y + amplitude * (-1) ** i) for i in range(steps + 1)]


def build_city(platform: Platform) -> City:
    city = City()
    dept = add_department(platform)
    river_south = _wavy(112.0, 112.3, 32.036, 0.002)
    river_north = [(x, y + 0.008) for x, y in reversed(river_south)]
    city.add(platform, "090101", "汉江", Polygon(river_south + river_north), water_type="河流")
    city.add(platform, "070101", "襄城区", MultiPolygon([Polygon(
        [(112.02, 31.93), (112.22, 31.94), (112.25, 31.99), *reversed(river_south[1:-1]), (112.01, 31.99)])]),
        division_code="420602")
    city.add(platform, "070101", "樊城区", MultiPolygon([Polygon(
        [(112.03, 32.12), (112.03, 32.06), *[(x, y + 0.008) for x, y in river_south[1:-1]], (112.26, 32.07),
         (112.22, 32.13)])]), division_code="420606")
    city.add(platform, "070102", "古城街道", box(112.118, 31.992, 112.166, 32.033), division_code="420602002")
    city.add(platform, "070103", "檀溪社区", box(112.133, 32.004, 112.1485, 32.0165), division_code="420602002008")
    city.add(platform, "040201", "檀溪公园", box(X0 + 0.0055, Y0 + 0.0003, X0 + 0.0085, Y0 + 0.0032), green_type="公园")
    city.add(platform, "050301", "檀溪花园小区", box(X0 - 0.0002, Y0 - 0.0002, X0 + 0.0045, Y0 + 0.0033),
             property_manager="襄阳物业")
    for name, line, road_class in [
        ("檀溪路", [(112.118, Y0 - 0.0009), (112.166, Y0 - 0.0009)], "主干路"),
        ("南湖路", [(X0 - 0.001, 31.994), (X0 - 0.001, 32.033)], "次干路"),
        ("花园路", [(X0 + 0.005, Y0 - 0.0009), (X0 + 0.005, Y0 + 0.006)], "支路"),
        ("沿江大道", [(112.02, 32.0325), (112.26, 32.0325)], "快速路"),
    ]:
        city.add(platform, "020101", name, LineString(line), road_class=road_class, lanes=4)
    for i in range(4):
        for j in range(4):
            floors = 6 + 4 * ((i + j) % 4)
            obj = add_building(platform, f"檀溪花园{i * 4 + j + 1}栋", dx=0.0002 + i * 0.0011, dy=0.0002 + j * 0.0008,
                               floors=floors, department_id=dept.id, height_m=floors * 3.0, use="住宅",
                               year_built=2008)
            city.objects[obj.name] = obj
    city.objects["市民服务中心"] = add_building(platform, "市民服务中心", dx=0.0062, dy=-0.0005, floors=5,
                                              department_id=dept.id, height_m=22.0, use="公共服务")
    for k in range(6):
        city.add(platform, "010301", f"檀溪路路灯{k + 1}", point_at(k * 0.0009, -0.0006), dept.id,
                 lamp_type="LED", power_w=120)
        city.add(platform, "040101", f"南湖路行道树{k + 1}", point_at(-0.0007, k * 0.0006), species="香樟")
    city.add(platform, "010102", "檀溪路消火栓", point_at(0.0023, -0.0012), pressure_mpa=0.3, condition="完好")
    city.add(platform, "020301", "檀溪路公交站", point_at(0.0035, -0.0013), routes="14路;512路", shelter=True)
    city.add(platform, "060101", "檀溪路口监控", point_at(-0.0012, -0.0012), camera_type="球机")
    city.add(platform, "010201", "雨水井盖", point_at(0.0015, -0.0009), material="铸铁")
    city.add(platform, "050201", "檀溪路12号", point_at(0.0001, 0.0001), road="檀溪路", number="12号")
    city.add(platform, "060201", "水位计", point_at(0.004, -0.0016), sensor_type="水位", protocol="MQTT")
    return city


# --- server and browser ---------------------------------------------------------------------------------
@dataclass
class Site:
    origin: str
    platform: Platform
    city: City


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    data_dir = tmp_path_factory.mktemp("portal") / "data"
    platform = Platform(load_settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir}.db", job_workers=0,
                                      log_json=False, metering_flush_seconds=0.5))
    platform.init(admin_password=ADMIN_PASSWORD)
    city = build_city(platform)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(platform), host="127.0.0.1", port=port, log_level="warning",
                                           ws="none", lifespan="on"))
    thread = threading.Thread(target=server.run, name="portal-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", platform, city)
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.access(CHROMIUM, os.X_OK):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: CI must run the browser tests (apt-get install chromium)")
        pytest.skip(f"browser tests need {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@dataclass
class Portal:
    page: Page
    origin: str
    requests: list[str]
    problems: list[str]

    def open(self, path: str = "/portal/") -> Portal:
        self.page.goto(self.origin + path)
        self.idle()
        return self

    def idle(self) -> None:
        """Wait until the portal has no data request pending and the map has drawn."""
        self.page.wait_for_function("window.__citybase !== undefined")
        self.page.evaluate("window.__citybase.idle()")

    def view(self, lon: float, lat: float, zoom: float) -> None:
        self.page.evaluate("([c, z]) => window.__citybase.map.jumpTo({center: c, zoom: z})", [[lon, lat], zoom])
        self.idle()

    def pixel_of(self, geometry: Any) -> tuple[float, float]:
        """Where a geometry's representative point is drawn, in page pixels (the map fills the window)."""
        p = geometry.representative_point()
        xy = self.page.evaluate("(c) => { const p = window.__citybase.map.project(c); return [p.x, p.y]; }",
                                [p.x, p.y])
        return xy[0], xy[1]


@pytest.fixture
def portal(browser: Browser, site: Site) -> Iterator[Portal]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    portal = Portal(page, site.origin, [], [])
    page.on("request", lambda r: portal.requests.append(r.url))
    page.on("console", lambda m: portal.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: portal.problems.append(f"page error: {e}"))
    yield portal
    context.close()


def _local(url: str, origin: str) -> bool:
    # A blob: URL (MapLibre's worker) carries the page's origin; data: URLs are inline, never fetched.
    return url.startswith("data:") or url.removeprefix("blob:").startswith(origin + "/")


# --- tests -----------------------------------------------------------------------------------------------
def test_the_page_loads_everything_from_its_own_server_without_errors(portal: Portal, site: Site) -> None:
    portal.open()
    page = portal.page
    expect(page.locator("h1")).to_have_text("城市数字公共基础设施基础平台")
    assert page.title() == "城市数字公共基础设施基础平台"
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    canvas = page.locator("#map canvas.maplibregl-canvas")
    expect(canvas).to_be_visible()
    assert canvas.bounding_box()["width"] == 1280  # type: ignore[index]
    style = page.evaluate("window.__citybase.map.getStyle()")
    assert "glyphs" not in style and "sprite" not in style
    sources = style["sources"]
    assert sources["basemap"]["type"] == "vector"
    assert sources["basemap"]["tiles"] == [f"{site.origin}/api/tiles/basemap/{{z}}/{{x}}/{{y}}.mvt"]
    others = [s for name, s in sources.items() if name != "basemap"]
    assert all(s["type"] == "geojson" and not isinstance(s["data"], str) for s in others)
    page.wait_for_timeout(300)  # late console messages
    assert portal.problems == []
    foreign = [u for u in portal.requests if not _local(u, site.origin)]
    assert foreign == [], f"requests that leave the server: {foreign}"
    assert any("/vendor/maplibre-gl/maplibre-gl.js" in u for u in portal.requests)


def test_layers_come_from_basemap_vector_tiles(portal: Portal) -> None:
    portal.open()
    tile = re.compile(r"/api/tiles/basemap/(\d+)/(\d+)/(\d+)\.mvt$")
    at_start = [m for u in portal.requests if (m := tile.search(u))]
    assert at_start, "the map draws the basemap tiles"
    assert all(int(m[1]) < 14 for m in at_start), "city zoom: no building-zoom tiles"
    assert not any("/api/objects?" in u and "class=050101" in u for u in portal.requests), "no per-viewport GeoJSON"
    labels = [u for u in portal.requests if "/api/objects?" in u]
    assert all("class=070101" in u and "bbox" not in u for u in labels), "only the district labels, once"
    expect(portal.page.locator("#layer-050101-note")).to_have_text("放大后显示")
    portal.view(X0 + 0.002, Y0 + 0.0015, 16)
    zoomed = [m for u in portal.requests if (m := tile.search(u)) and int(m[1]) == 16]
    assert zoomed, "zooming in loads z16 tiles"
    assert not any("/api/objects?" in u and "class=050101" in u for u in portal.requests)
    expect(portal.page.locator("#layer-050101-note")).to_have_text("")
    drawn = portal.page.evaluate("window.__citybase.map.queryRenderedFeatures({layers: ['050101']}).length")
    assert drawn >= 16


def test_the_layer_panel_lists_classes_with_counts_and_toggles_layers(portal: Portal) -> None:
    portal.open()
    page = portal.page
    building = page.locator("label[for=layer-050101]")
    expect(building).to_contain_text("建筑物")
    expect(building).to_contain_text("17 个")
    for name in ("区县", "乡镇街道", "社区村", "水域", "绿地", "道路", "小区", "路灯", "消防栓", "公交站", "视频监控"):
        expect(page.locator(".layer-list")).to_contain_text(name)
    page.locator("#layer-020101").uncheck()
    assert page.evaluate("window.__citybase.map.getLayoutProperty('020101', 'visibility')") == "none"
    page.locator("#layer-020101").check()
    assert page.evaluate("window.__citybase.map.getLayoutProperty('020101', 'visibility')") == "visible"


def test_the_english_toggle_switches_labels_and_is_remembered(portal: Portal) -> None:
    portal.open()
    page = portal.page
    page.get_by_role("button", name="Switch to English").click()
    expect(page.locator("h1")).to_have_text("City Digital Public Infrastructure Platform")
    expect(page.locator("#layers-title")).to_have_text("Layers")
    expect(page.locator("label[for=layer-050101]")).to_contain_text("Building")
    expect(page.locator("#login-button")).to_have_text("Log in")
    page.reload()
    portal.idle()
    expect(page.locator("h1")).to_have_text("City Digital Public Infrastructure Platform")
    assert page.evaluate("document.documentElement.lang") == "en"
    page.get_by_role("button", name="切换到中文").click()
    expect(page.locator("#layers-title")).to_have_text("图层")


def test_clicking_a_building_opens_its_card_with_attributes_and_history(portal: Portal, site: Site) -> None:
    portal.open()
    target = site.city.objects["檀溪花园6栋"]
    centre = target.geometry.centroid  # type: ignore[union-attr]
    portal.view(centre.x, centre.y, 17.5)
    portal.page.mouse.click(*portal.pixel_of(target.geometry))
    card = portal.page.locator("#card")
    expect(card.locator("h2")).to_have_text("檀溪花园6栋")
    expect(card).to_contain_text("建筑物")
    expect(card).to_contain_text("未赋码")
    expect(card).to_contain_text("住房和城乡建设局")
    expect(card).to_contain_text("现行")
    floors = card.locator("table.attributes tr", has_text="地上层数")
    expect(floors.locator("td")).to_have_text(str(target.attributes["floors"]))
    expect(card.locator("table.attributes")).to_contain_text("高度(m)")
    card.get_by_role("button", name="历史版本").click()
    expect(card.locator("#history-list li")).to_have_count(1)
    expect(card.locator("#history-list")).to_contain_text("v1 创建")
    assert portal.page.evaluate("window.__citybase.map.queryRenderedFeatures({layers: ['selection-fill']}).length")
    card.get_by_role("button", name="关闭").click()
    expect(card).to_be_hidden()
    assert portal.problems == []


def test_login_with_the_admin_shows_the_user_and_logout_forgets_it(portal: Portal, site: Site) -> None:
    admin = site.platform.access.user("admin")
    portal.open()
    page = portal.page
    page.get_by_role("button", name="登录").click()
    dialog = page.locator("#login-dialog")
    dialog.get_by_label("用户名").fill("admin")
    dialog.get_by_label("密码").fill("not-the-password")
    dialog.get_by_role("button", name="登录").click()
    expect(dialog.locator("#login-error")).to_contain_text("wrong username or password")
    dialog.get_by_label("密码").fill(ADMIN_PASSWORD)
    dialog.get_by_role("button", name="登录").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#user-name")).to_have_text(admin.display_name)
    expect(page.locator("#user-name")).to_have_attribute("title", "admin")
    assert page.evaluate("localStorage.getItem('citybase.token')")
    page.reload()
    portal.idle()
    expect(page.locator("#user-name")).to_have_text(admin.display_name)
    page.get_by_role("button", name="退出").click()
    expect(page.get_by_role("button", name="登录")).to_be_visible()
    assert page.evaluate("localStorage.getItem('citybase.token')") is None


def test_search_finds_an_object_by_name_and_flies_to_it(portal: Portal, site: Site) -> None:
    portal.open()
    page = portal.page
    page.get_by_label("按名称搜索对象").fill("市民服务")
    page.get_by_role("button", name="搜索", exact=True).click()
    result = page.locator("#search-results button", has_text="市民服务中心")
    expect(result).to_contain_text("建筑物")
    result.click()
    expect(page.locator("#card h2")).to_have_text("市民服务中心")
    portal.idle()
    centre = page.evaluate("window.__citybase.map.getCenter().toArray()")
    target = site.city.objects["市民服务中心"].geometry.centroid  # type: ignore[union-attr]
    assert abs(centre[0] - target.x) < 0.001 and abs(centre[1] - target.y) < 0.001
    page.get_by_label("按名称搜索对象").fill("没有这个名字")
    page.get_by_role("button", name="搜索", exact=True).click()
    expect(page.locator("#search-results")).to_contain_text("没有找到匹配的对象")


def test_api_errors_are_shown_readably(portal: Portal) -> None:
    portal.open()
    portal.page.evaluate("() => { window.__citybase.selectObject(987654); }")
    toast = portal.page.locator("#toast")
    expect(toast).to_contain_text("未找到")
    expect(toast).to_contain_text("no object 987654")
    toast.get_by_role("button", name="知道了").click()
    expect(toast).to_be_hidden()


def test_jobs_show_their_progress_and_error_report(portal: Portal, site: Site, tmp_path: Path) -> None:
    import json

    from citybase.domains.objects import IMPORT_GEOJSON_JOB

    def lamps(name: str, lamp_type: str) -> str:
        feature = {"type": "Feature", "properties": {"name": name, "lamp_type": lamp_type},
                   "geometry": {"type": "Point", "coordinates": [X0 + 0.01, Y0 + 0.01]}}
        path = tmp_path / f"{name}.geojson"
        path.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8")
        return str(path)

    jobs = site.platform.jobs
    good = jobs.submit(SYSTEM, IMPORT_GEOJSON_JOB, {"path": lamps("任务路灯", "LED"), "class_code": "010301",
                                                    "role": "platform_admin"}).id
    bad = jobs.submit(SYSTEM, IMPORT_GEOJSON_JOB, {"path": lamps("坏路灯", "火把"), "class_code": "010301",
                                                   "role": "platform_admin"}).id
    jobs.run_pending()
    portal.open()
    page = portal.page
    expect(page.locator("#jobs-button")).to_be_hidden()  # anonymous callers see no jobs
    page.evaluate("([u, p]) => import('./api.js').then((m) => m.api.login(u, p))", ["admin", ADMIN_PASSWORD])
    page.locator("#jobs-button").click()
    panel = page.locator("#jobs-panel")
    expect(panel.locator(f"[data-job-id='{good}'] .job-state")).to_have_text("已完成")
    assert panel.locator(f"[data-job-id='{good}'] progress").get_attribute("value") == "100"
    expect(panel.locator(f"[data-job-id='{bad}'] .job-state")).to_have_text("失败")
    panel.locator(f"[data-job-id='{bad}'] summary").click()
    expect(panel.locator(f"[data-job-id='{bad}'] details")).to_contain_text("attributes.lamp_type")
    assert not portal.problems, portal.problems


def test_screenshot_of_the_city(portal: Portal, site: Site) -> None:
    """Not an assertion of looks: a picture to check by eye after changing the portal (/tmp/portal.png)."""
    portal.open()
    portal.page.screenshot(path=str(SCREENSHOT.with_name("portal-city.png")))
    portal.view(X0 + 0.0025, Y0 + 0.0012, 16.2)
    portal.page.evaluate("(id) => window.__citybase.selectObject(id)", site.city.objects["檀溪花园6栋"].id)
    expect(portal.page.locator("#card h2")).to_have_text("檀溪花园6栋")
    portal.idle()
    portal.page.screenshot(path=str(SCREENSHOT))
    portal.page.locator("#layer-3d").check()
    portal.page.wait_for_timeout(800)
    portal.idle()
    portal.page.screenshot(path=str(SCREENSHOT.with_name("portal-3d.png")))
    assert SCREENSHOT.stat().st_size > 20_000
