"""Plain server-rendered HTML pages of the OGC API (no scripts, no external assets)."""

from __future__ import annotations

import json
from html import escape
from typing import Any

from fastapi.responses import HTMLResponse

_STYLE = (
    "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem;color:#222}"
    "table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "pre{background:#f6f6f6;padding:.5rem;overflow:auto}nav a{margin-right:1rem}"
)


def page(title: str, body: str, root: str) -> HTMLResponse:
    html = (
        f'<!DOCTYPE html><html lang="zh"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body>"
        f'<nav><a href="{escape(root)}/?f=html">Home</a><a href="{escape(root)}/collections?f=html">Collections</a>'
        f'<a href="{escape(root)}/conformance?f=html">Conformance</a></nav>'
        f"<h1>{escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(html)


def links_list(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(lk["href"])}">{escape(lk.get("title") or lk["href"])}</a> '
        f"<small>({escape(lk['rel'])}, {escape(lk.get('type', ''))})</small></li>"
        for lk in links
    )
    return f"<ul>{items}</ul>"


def table(headers: list[str], rows: list[list[str]]) -> str:
    """Cells are HTML already (callers escape them)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def a(href: str, text: str) -> str:
    return f'<a href="{escape(href)}">{escape(text)}</a>'


def json_block(value: Any) -> str:
    return f"<pre>{escape(json.dumps(value, ensure_ascii=False, indent=2))}</pre>"
