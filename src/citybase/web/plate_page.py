"""The public address page behind a door-plate QR code (``/a/{display_code}``), rendered on the server.

Server-rendered so it shows on any phone without running the portal's scripts; Chinese first with the
English beside it. Only ``PublicAddress`` fields reach the page: there is no code path from people or
organisations to this module. The report form is posted as JSON by ``/portal/plate.js`` (CSP forbids
inline scripts).
"""

from __future__ import annotations

import math
from html import escape
from urllib.parse import quote

from citybase.domains.registry import ADDRESS_LEVEL_NAMES, PublicAddress, PublicChild

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
REPORT_KINDS = (
    ("new_shop", "新开店铺", "New shop"),
    ("moved_out", "搬离", "Moved out"),
    ("wrong_plate", "门牌错误", "Wrong plate"),
    ("other", "其他", "Other"),
)
MAP_W, MAP_H = 320, 180


def _bi(zh: str, en: str) -> str:
    return f'{escape(zh)} <span class="en" lang="en">{escape(en)}</span>'


def _level(level: str) -> str:
    zh, en = ADDRESS_LEVEL_NAMES.get(level, (level, level))
    return _bi(zh, en)


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        '<link rel="stylesheet" href="/portal/plate.css"><link rel="icon" href="/portal/favicon.svg">'
        f'</head><body class="plate-page">{body}'
        '<footer>城市数字公共基础设施 · 标准地址 <span class="en" lang="en">Standard address</span></footer>'
        '<script src="/portal/plate.js" defer></script></body></html>'
    )


def _nice(metres: float) -> int:
    """A round scale-bar length not longer than ``metres``."""
    if metres < 1:
        return 1
    base = 10 ** math.floor(math.log10(metres))
    return int(max(m for m in (base, 2 * base, 5 * base) if m <= metres))


def mini_map(lon: float, lat: float, children: tuple[PublicChild, ...]) -> str:
    """A static SVG sketch: the address at the centre, its children around it, a scale bar. No tiles."""
    kx = 111_320 * math.cos(math.radians(lat))

    def local(x: float, y: float) -> tuple[float, float]:
        return (x - lon) * kx, (y - lat) * 110_574

    pts = [(c.name, *local(c.lon, c.lat)) for c in children if c.lon is not None and c.lat is not None]
    extent = max([60.0] + [max(abs(x), abs(y)) * 1.25 for _, x, y in pts])  # metres from centre to edge
    scale = (MAP_H / 2 - 12) / extent  # px per metre

    def px(x: float, y: float) -> tuple[float, float]:
        return MAP_W / 2 + x * scale, MAP_H / 2 - y * scale

    parts = [f'<rect width="{MAP_W}" height="{MAP_H}" fill="#eef3f8"/>']
    for i in range(1, 4):
        r = extent * i / 3 * scale
        parts.append(f'<circle cx="{MAP_W / 2}" cy="{MAP_H / 2}" r="{r:.1f}" fill="none" stroke="#c9d6e3"/>')
    for name, x, y in pts[:40]:
        cx, cy = px(x, y)
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="#4a7bc8"><title>{escape(name)}</title></circle>')
    parts.append(f'<circle cx="{MAP_W / 2}" cy="{MAP_H / 2}" r="6" fill="#d9342b" stroke="#fff" stroke-width="2"/>')
    bar = _nice(extent / 2)
    parts.append(
        f'<path d="M10 {MAP_H - 12}h{bar * scale:.1f}" stroke="#333" stroke-width="2"/>'
        f'<text x="10" y="{MAP_H - 17}" font-size="11" fill="#333">{bar} m</text>'
        f'<text x="{MAP_W - 14}" y="18" font-size="12" fill="#333" text-anchor="middle">N</text>'
        f'<path d="M{MAP_W - 14} 22l-4 10h8z" fill="#333"/>'
    )
    return (
        f'<svg class="mini-map" viewBox="0 0 {MAP_W} {MAP_H}" role="img" '
        f'aria-label="位置示意图 location sketch">{"".join(parts)}</svg>'
    )


def _children(a: PublicAddress) -> str:
    if not a.children:
        return ""
    items = "".join(
        f'<li><a href="/a/{quote(c.display_code, safe="")}">{escape(c.name)}</a> '
        f'<span class="muted">{_level(c.level)}</span></li>'
        for c in a.children
    )
    more = ""
    if a.children_total > len(a.children):
        n = len(a.children)
        more = f'<p class="muted">{_bi(f"仅显示前 {n} 项", f"first {n} shown")}</p>'
    return f'<section><h2>{_bi("下级地址", "Addresses within")}</h2><ul class="children">{items}</ul>{more}</section>'


def _location(a: PublicAddress) -> str:
    if a.lon is None or a.lat is None:
        return f'<p class="muted">{_bi("暂无坐标", "No coordinates recorded")}</p>'
    approx = ""
    if a.approximate:
        approx = (
            f'<p class="muted" id="approximate">{_bi("大致位置（上级地址）", "Approximate: the parent address")}</p>'
        )
    return (
        f"{mini_map(a.lon, a.lat, a.children)}"
        f'<p class="coords">CGCS2000 <span id="lon">{a.lon:.6f}</span>, <span id="lat">{a.lat:.6f}</span></p>'
        f"{approx}"
    )


def _form(a: PublicAddress) -> str:
    options = "".join(f'<option value="{k}">{escape(zh)} {escape(en)}</option>' for k, zh, en in REPORT_KINDS)
    return (
        f'<section id="report"><h2>{_bi("报告变更", "Report a change")}</h2>'
        f'<form id="report-form" data-code="{escape(a.display_code)}" novalidate>'
        f'<label for="report-kind">{_bi("类型", "Kind")}</label>'
        f'<select id="report-kind" name="kind">{options}</select>'
        f'<label for="report-description">{_bi("情况说明", "Description")}</label>'
        '<textarea id="report-description" name="description" maxlength="500" rows="4" required '
        'placeholder="例如：一楼新开了一家便利店 (e.g. a new shop on the ground floor)"></textarea>'
        f'<label for="report-phone">{_bi("联系电话（选填，仅工作人员可见）", "Phone (optional, staff only)")}</label>'
        '<input id="report-phone" name="phone" type="tel" inputmode="tel" maxlength="20" autocomplete="off">'
        f'<button type="submit" id="report-submit">{_bi("提交", "Submit")}</button>'
        '<p id="report-result" role="status" aria-live="polite"></p>'
        f'<p class="muted">{_bi("匿名提交，由网格员核实后更新", "Anonymous; a grid worker checks it first")}</p>'
        "</form></section>"
    )


def address_page(a: PublicAddress) -> str:
    retired = ""
    if a.state != "active":
        retired = f'<p class="retired" id="retired">{_bi("此地址已注销", "This address has been retired")}</p>'
    code_row = ""
    if a.object_code:
        code_row = (
            f"<tr><th>{_bi('统一识别代码', 'Object code')}</th>"
            f'<td class="mono" id="object-code">{escape(a.object_code)}</td></tr>'
        )
    community = f"<tr><th>{_bi('所属社区', 'Community')}</th><td>{escape(a.community)}</td></tr>" if a.community else ""
    body = (
        f'<header><p class="kicker">{_bi("标准地址", "Standard address")}</p>'
        f'<h1 id="full-address">{escape(a.full_address)}</h1></header>{retired}'
        '<section><table class="facts">'
        f"<tr><th>{_bi('层级', 'Level')}</th><td>{_level(a.level)}</td></tr>"
        f'<tr><th>{_bi("地址编码", "Display code")}</th><td class="mono" id="display-code">'
        f"{escape(a.display_code)}</td></tr>{code_row}{community}</table></section>"
        f"<section><h2>{_bi('位置', 'Location')}</h2>{_location(a)}</section>"
        f"{_children(a)}{_form(a)}"
    )
    return _page(f"{a.full_address} · 标准地址", body)


def not_found_page(code: str) -> str:
    body = (
        f'<header><p class="kicker">{_bi("标准地址", "Standard address")}</p>'
        f'<h1 id="not-found">{_bi("未找到该地址", "Address not found")}</h1></header>'
        f'<p>{_bi("编码", "Code")} <span class="mono">{escape(code[:40])}</span> '
        f"{_bi('不是已登记的门楼牌编码。', 'is not a registered door-plate code.')}</p>"
    )
    return _page("未找到地址 Address not found", body)
