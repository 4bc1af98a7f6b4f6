"""QR door plates: the plate URL, SVG and PDF sheets (QR matrix, pages, text), the public address page."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET
import zlib

import segno

from citybase.domains.access import SYSTEM
from citybase.domains.registry import plate_sheet, plate_sheet_svg, plate_url
from citybase.platform import Platform
from tests.address_tree_helpers import SmallTree, small_tree
from tests.helpers import Api, add_building

SVG_NS = "{http://www.w3.org/2000/svg}"
BASE = "http://127.0.0.1:8000"


def road_with_plates(platform: Platform, numbers: tuple[int, ...] = (2, 10, 1, 3, 11, 12, 13, 14, 15)) -> SmallTree:
    tree = small_tree(platform)
    for n in numbers:
        platform.addresses.create(SYSTEM, tree.road, "door_number", f"{n}号", lon=112.14 + n * 1e-4, lat=32.01)
    return tree


def qr_modules(d: str, size: int) -> list[list[bool]]:
    """Rebuild the module matrix from the plate's SVG path (one ``M x y h w v1 h-w z`` per dark run)."""
    matrix = [[False] * size for _ in range(size)]
    for x, y, w in re.findall(r"M(\d+) (\d+)h(\d+)v1h-\d+z", d):
        for i in range(int(w)):
            matrix[int(y)][int(x) + i] = True
    return matrix


def segno_matrix(url: str) -> list[list[bool]]:
    return [[bool(v) for v in row] for row in segno.make(url, error="m", micro=False, boost_error=False).matrix]


def plates_in(svg: str) -> dict[str, list[list[bool]]]:
    root = ET.fromstring(svg)
    out = {}
    for g in root.iter(f"{SVG_NS}g"):
        code = g.get("data-display-code")
        if code is None:
            continue
        path = next(p for p in g.iter(f"{SVG_NS}path") if p.get("data-qr-modules"))
        out[code] = qr_modules(path.get("d", ""), int(path.get("data-qr-modules", "0")))
    return out


def test_svg_sheet_qr_encodes_the_public_url_of_each_plate(platform: Platform) -> None:
    tree = road_with_plates(platform)
    sheet = plate_sheet(platform.addresses, BASE, tree.road)
    assert [p.number for p in sheet.plates] == [f"{n}号" for n in (1, 2, 3, 10, 11, 12, 13, 14, 15, 57)]
    assert sheet.pages == 2
    found = plates_in(plate_sheet_svg(sheet))
    assert len(found) == 10
    for plate in sheet.plates:
        assert plate.url == f"{BASE}/a/{plate.display_code}"
        assert found[plate.display_code] == segno_matrix(plate.url)
    # the check can fail: another plate's URL gives another matrix
    first, second = sheet.plates[0], sheet.plates[1]
    assert found[first.display_code] != segno_matrix(second.url)
    assert plate_url(BASE + "/", "A B/1") == f"{BASE}/a/A%20B%2F1"


def test_sheet_api_road_and_compound(platform: Platform, api: Api) -> None:
    tree = road_with_plates(platform, (5,))
    platform.addresses.create(SYSTEM, tree.compound, "building", "4栋", lon=112.1413, lat=32.0113)
    r = api.get(f"/api/plates/sheet.svg?parent={tree.road}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("image/svg+xml")
    road_plates = plates_in(r.text)
    assert len(road_plates) == 2  # 5号 and 57号: door plates only, not the buildings further down
    r = api.get(f"/api/plates/sheet.svg?parent={tree.compound}")
    four = platform.addresses.search("4栋", level="building")[0]
    assert set(plates_in(r.text)) == {platform.addresses.node(tree.building).display_code, four.display_code}
    assert "檀溪花园" in r.text


def test_sheet_bad_parent_is_a_clear_error(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    r = api.get(f"/api/plates/sheet.svg?parent={tree.building}")
    assert r.status_code == 400
    assert r.json()["issues"][0]["field"] == "parent"
    assert "building" in r.json()["issues"][0]["reason"]
    assert api.get("/api/plates/sheet.pdf?parent=999999").status_code == 404
    assert api.get("/api/plates/sheet.pdf?parent=abc").status_code == 400


def test_one_plate_svg(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    r = api.get(f"/api/plates/{tree.building}.svg")
    assert r.status_code == 200, r.text
    building = platform.addresses.node(tree.building)
    assert plates_in(r.text) == {building.display_code: segno_matrix(f"{BASE}/a/{building.display_code}")}
    assert "檀溪花园" in r.text and "3栋" in r.text  # the compound's name over the building's
    r = api.get(f"/api/plates/{tree.room}.svg")
    assert r.status_code == 400 and r.json()["issues"][0]["field"] == "node"


# --- the PDF, read without a PDF library: streams are ASCII85 + Flate, CJK text is UCS-2 ---------------
def pdf_streams(pdf: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"/Filter \[ /ASCII85Decode /FlateDecode \] /Length (\d+)\s*>>\s*stream\r?\n", pdf):
        raw = pdf[m.end() : m.end() + int(m.group(1))].replace(b"\n", b"").strip()
        out.append(zlib.decompress(base64.a85decode(raw.removesuffix(b"~>"))))
    return out


def _unescape(s: bytes) -> bytes:
    out, i = bytearray(), 0
    while i < len(s):
        if s[i : i + 1] == b"\\":
            octal = re.match(rb"[0-7]{1,3}", s[i + 1 : i + 4])
            if octal:
                out.append(int(octal.group(0), 8))
                i += 1 + len(octal.group(0))
                continue
            out += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(s[i + 1 : i + 2], s[i + 1 : i + 2])
            i += 2
            continue
        out += s[i : i + 1]
        i += 1
    return bytes(out)


def pdf_texts(pdf: bytes) -> list[str]:
    texts, font = [], b"F1"
    for stream in pdf_streams(pdf):
        for line in stream.split(b"\n"):
            tf = re.search(rb"/(F\d+) [\d.]+ Tf", line)
            if tf:
                font = tf.group(1)
            for m in re.finditer(rb"\(((?:\\.|[^\\)])*)\) Tj", line):
                raw = _unescape(m.group(1))
                texts.append(raw.decode("utf-16-be") if font == b"F2" else raw.decode("latin-1"))
    return texts


def test_pdf_sheet_parses_with_pages_and_text(platform: Platform, api: Api) -> None:
    tree = road_with_plates(platform)
    r = api.get(f"/api/plates/sheet.pdf?parent={tree.road}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    assert pdf.startswith(b"%PDF-1.") and pdf.rstrip().endswith(b"%%EOF")
    assert len(re.findall(rb"/Type /Page\b", pdf)) == 2  # 10 plates, 8 a page
    assert re.search(rb"/Count 2\b", pdf)
    assert b"/BaseFont /STSong-Light" in pdf and b"/FontFile" not in pdf  # CID font named, not embedded
    texts = pdf_texts(pdf)
    sheet = plate_sheet(platform.addresses, BASE, tree.road)
    for plate in sheet.plates:
        assert plate.display_code in texts
        assert plate.number in texts
    assert texts.count("长虹路") == 10


def test_cli_writes_svg_and_pdf(platform: Platform, tmp_path: object) -> None:
    """The CLI is the same library call; run it against the test platform's database."""
    from pathlib import Path

    from typer.testing import CliRunner

    from citybase.cli import common
    from citybase.cli.main import app

    tree = road_with_plates(platform, (7,))
    out = Path(str(tmp_path)) / "plates.svg"
    common.state._platform = platform
    try:
        result = CliRunner().invoke(app, ["plates", "sheet", str(tree.road), "--format", "svg", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "2 plates on 1 A4 pages" in " ".join(result.output.split())
        assert len(plates_in(out.read_text(encoding="utf-8"))) == 2
        pdf = out.with_suffix(".pdf")
        result = CliRunner().invoke(app, ["plates", "sheet", str(tree.road), "-f", "pdf", "-o", str(pdf)])
        assert result.exit_code == 0, result.output
        assert pdf.read_bytes().startswith(b"%PDF")
        result = CliRunner().invoke(app, ["plates", "sheet", str(tree.room), "-o", str(pdf)])
        assert result.exit_code == 1
        assert "parent" in result.output
    finally:
        common.state._platform = None


# --- the public page ---------------------------------------------------------------------------------
def test_public_page_shows_the_address_code_location_and_children(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    building = add_building(platform, "3栋")
    code = platform.codes.assign(SYSTEM, building.id).code
    node = platform.addresses.create(
        SYSTEM, tree.compound, "building", "5栋", lon=112.1414, lat=32.0114, object_id=building.id
    )
    r = api.anonymous().get(f"/a/{node.display_code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    html = r.text
    assert "湖北省襄阳市襄城区真武山街道檀溪社区长虹路57号檀溪花园5栋" in html
    assert node.display_code in html and code in html
    assert "楼栋" in html and "building" in html
    assert "112.141400" in html and "<svg" in html  # coordinates and the SVG sketch, no map tiles
    assert "<script>" not in html and "/portal/plate.js" in html
    plate = platform.addresses.node(tree.plate)
    html = api.get(f"/a/{plate.display_code}").text
    assert "檀溪花园" in html and f'/a/{platform.addresses.node(tree.compound).display_code}"' in html
    data = api.get(f"/api/public/addresses/{node.display_code}").json()
    assert data["object_code"] == code and data["url"].endswith(f"/a/{node.display_code}")
    assert data["approximate"] is False
    # the compound has no point of its own: the page shows its door plate's, marked approximate
    compound = api.get(f"/api/public/addresses/{platform.addresses.node(tree.compound).display_code}").json()
    assert (compound["lon"], compound["lat"], compound["approximate"]) == (112.141, 32.011, True)


def test_unknown_code_gives_a_404_page_and_retired_nodes_say_so(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    r = api.get("/a/NO-SUCH-CODE")
    assert r.status_code == 404
    assert "未找到该地址" in r.text and "NO-SUCH-CODE" in r.text
    assert api.get("/a/" + "9" * 200).status_code == 404
    assert api.get("/api/public/addresses/NO-SUCH-CODE").status_code == 404
    room = platform.addresses.node(tree.room)
    assert 'id="retired"' not in api.get(f"/a/{room.display_code}").text
    platform.addresses.retire(SYSTEM, tree.room)
    html = api.get(f"/a/{room.display_code}").text
    assert 'id="retired"' in html and "此地址已注销" in html
    assert "502室" in html


def test_public_page_needs_no_login_even_without_anonymous_read(platform: Platform, api: Api) -> None:
    tree = small_tree(platform)
    platform.settings.anonymous_read = False
    try:
        assert api.anonymous().get("/api/plates/sheet.svg?parent=1").status_code == 401
        assert api.anonymous().get(f"/a/{platform.addresses.node(tree.plate).display_code}").status_code == 200
    finally:
        platform.settings.anonymous_read = True
