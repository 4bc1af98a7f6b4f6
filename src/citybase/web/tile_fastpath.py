"""An ASGI fast path for cached tiles: GET tile URLs answered from the memory cache without FastAPI.

A map view asks for dozens of tiles at once, and most are cache hits; through FastAPI (router,
dependencies, ``Request``, exception and GZip middleware) a hit costs ~0.5 ms of CPU, most of it not
the tile. This middleware sits inside :class:`~citybase.web.middleware.RequestMiddleware` (so request
ids, Prometheus metrics, per-caller metering and access logs are exactly as for every route) and in
front of the GZip middleware. It answers a request itself only when all of these hold:

- ``GET`` of ``/api/tiles/{tileset}/{z}/{x}/{y}.mvt`` or ``/ogc/collections/{id}/tiles/{tms}/{m}/{row}/{col}``
  with no query string, where the tileset is ``basemap`` or a class code (a class's tiles have no
  access rules beyond the caller's; published layers have theirs, read from the database);
- the caller is anonymous and anonymous reading is on (a key or token needs the database to resolve);
- the tile is in the memory cache (``TileService.cached``: no database, no disk; it also answers None
  when the change log of other processes is due for a read).

Everything else falls through to the app unchanged. The response is the normal route's, byte for byte:
ETag / ``If-None-Match`` → 304, 204 for an empty tile, the same headers, and gzip (with ``Vary``) as
the GZip middleware would do it — the gzipped body is kept per ETag so a tile is compressed once.
"""

from __future__ import annotations

import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

from citybase.domains.access import ANONYMOUS
from citybase.domains.tiles import TILE_MATRIX_SETS
from citybase.standards.mvt import MIME_TYPE
from citybase.web.routes.tiles import CACHE_CONTROL, etag_matches

GZIP_MINIMUM = 1024  # as the app's GZipMiddleware(minimum_size=1024)
GZIP_LEVEL = 9  # Starlette's default compresslevel
GZIP_THREAD_MINIMUM = 128 * 1024  # compress larger bodies off the event loop, like Starlette
GZIP_CACHE_BYTES = 32 << 20


@dataclass(frozen=True, slots=True)
class RouteRef:
    """What the request middleware reads from ``scope["route"]``: the route's path template."""

    path: str


API_ROUTE = RouteRef("/api/tiles/{tileset}/{z}/{x}/{y}.mvt")
OGC_ROUTE = RouteRef("/ogc/collections/{collection_id}/tiles/{tms_id}/{tile_matrix}/{tile_row}/{tile_col}")
_CACHE_CONTROL = CACHE_CONTROL.encode()
_MIME = MIME_TYPE.encode()


def _int(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _class_or_basemap(name: str) -> bool:
    return name == "basemap" or (len(name) == 6 and name.isascii() and name.isdigit())


def parse_tile_path(path: str) -> tuple[RouteRef, str, int, int, int, str] | None:
    """``(route, tileset, z, x, y, tms)`` of a class or basemap tile URL, else None."""
    parts = path.split("/")
    if len(parts) == 7 and parts[1] == "api" and parts[2] == "tiles" and parts[6].endswith(".mvt"):
        name, z, x, y = parts[3], _int(parts[4]), _int(parts[5]), _int(parts[6][:-4])
        if z is None or x is None or y is None or not _class_or_basemap(name):
            return None
        return API_ROUTE, name, z, x, y, "WebMercatorQuad"
    if len(parts) == 9 and parts[1] == "ogc" and parts[2] == "collections" and parts[4] == "tiles":
        name, tms = parts[3], parts[5]
        z, row, col = _int(parts[6]), _int(parts[7]), _int(parts[8])
        if z is None or row is None or col is None or tms not in TILE_MATRIX_SETS:
            return None
        if not (len(name) == 6 and name.isascii() and name.isdigit()):  # a class code (basemap is no collection)
            return None
        return OGC_ROUTE, name, z, col, row, tms
    return None


class GzipCache:
    """Gzipped tile bodies by ETag (an ETag names the bytes), bounded in bytes, oldest dropped first."""

    def __init__(self, max_bytes: int = GZIP_CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            body = self._items.get(etag)
            if body is not None:
                self._items.move_to_end(etag)
            return body

    def put(self, etag: str, body: bytes) -> None:
        with self._lock:
            if etag in self._items or len(body) > self.max_bytes:
                return
            self._items[etag] = body
            self._bytes += len(body)
            while self._bytes > self.max_bytes:
                _, old = self._items.popitem(last=False)
                self._bytes -= len(old)


def gzip_body(data: bytes) -> bytes:
    """The same bytes as Starlette's GZipResponder (zlib's gzip stream carries no timestamp)."""
    c = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    return c.compress(data) + c.flush()


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _has_credential(scope: Scope) -> bool:
    for key, value in scope["headers"]:
        if key == b"x-api-key" and value:  # even blank: the route then answers 401, as for any bad key
            return True
        if key == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return True
    return False


class TileFastPath:
    """ASGI middleware: cached class and basemap tiles for anonymous callers, without FastAPI."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzipped = GzipCache()
        self.served = 0  # answered here (tests and the benchmark read it)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope["query_string"]:
            parsed = parse_tile_path(scope["path"])
            if parsed is not None and await self._serve(scope, send, *parsed):
                return
        await self.app(scope, receive, send)

    async def _serve(
        self, scope: Scope, send: Send, route: RouteRef, name: str, z: int, x: int, y: int, tms: str
    ) -> bool:
        platform: Any = scope["app"].state.platform
        if _has_credential(scope) or not platform.settings.anonymous_read:
            return False
        tile = platform.tiles.cached(name, z, x, y, tms)
        if tile is None:
            return False
        state = scope.setdefault("state", {})
        state["actor"] = ANONYMOUS  # as ``current_actor`` would: the middleware meters per caller
        scope["route"] = route
        etag = tile.etag.encode()
        headers: list[tuple[bytes, bytes]] = [(b"etag", etag), (b"cache-control", _CACHE_CONTROL)]
        inm = _header(scope, b"if-none-match")
        if inm is not None and etag_matches(inm.decode("latin-1"), tile.etag):
            status, body = 304, b""
        elif not tile.data:
            status, body = 204, b""
        else:
            status, body = 200, tile.data
            if len(body) >= GZIP_MINIMUM and b"gzip" in (_header(scope, b"accept-encoding") or b""):
                body = await self._gzipped(tile.etag, body)
                headers += [
                    (b"content-length", str(len(body)).encode()),
                    (b"content-type", _MIME),
                    (b"vary", b"Accept-Encoding"),
                    (b"content-encoding", b"gzip"),
                ]
            else:
                headers += [(b"content-length", str(len(body)).encode()), (b"content-type", _MIME)]
                if len(body) >= GZIP_MINIMUM:
                    headers.append((b"vary", b"Accept-Encoding"))
        self.served += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    async def _gzipped(self, etag: str, data: bytes) -> bytes:
        body = self.gzipped.get(etag)
        if body is None:
            if len(data) >= GZIP_THREAD_MINIMUM:
                body = await anyio.to_thread.run_sync(gzip_body, data)
            else:
                body = gzip_body(data)
            self.gzipped.put(etag, body)
        return body
