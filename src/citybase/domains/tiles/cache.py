"""The tile cache: a memory LRU (bounded in bytes) in front of files under ``data_dir/tiles/``.

Keys are ``(tileset, token, z, x, y)``; the token names the data generation of the tileset's classes,
so bumping a generation makes every older tile unreachable at once (old directories are removed in
the background). Single tiles are dropped with :meth:`TileCache.drop`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
from collections import OrderedDict
from pathlib import Path

log = logging.getLogger(__name__)
Key = tuple[str, str, int, int, int]


def etag_of(data: bytes) -> str:
    """A strong ETag: a hash of the tile bytes."""
    return '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'


class TileCache:
    def __init__(self, root: Path | None, max_bytes: int = 128 << 20) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._mem: OrderedDict[Key, tuple[bytes, str]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _path(self, key: Key) -> Path | None:
        if self.root is None:
            return None
        tileset, token, z, x, y = key
        return self.root / tileset / token / str(z) / str(x) / f"{y}.mvt"

    def peek(self, key: Key) -> tuple[bytes, str] | None:
        """The tile if it is in memory (no disk read: safe on an event loop), counted as a hit; else None."""
        with self._lock:
            hit = self._mem.get(key)
            if hit is not None:
                self._mem.move_to_end(key)
                self.hits += 1
            return hit

    def get(self, key: Key) -> tuple[bytes, str] | None:
        with self._lock:
            hit = self._mem.get(key)
            if hit is not None:
                self._mem.move_to_end(key)
                self.hits += 1
                return hit
        path = self._path(key)
        if path is not None:
            try:
                data = path.read_bytes()
            except OSError:
                pass
            else:
                entry = (data, etag_of(data))
                self._remember(key, entry)
                self.hits += 1
                return entry
        self.misses += 1
        return None

    def put(self, key: Key, data: bytes) -> tuple[bytes, str]:
        entry = (data, etag_of(data))
        self._remember(key, entry)
        path = self._path(key)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_name(f"{path.name}.{threading.get_ident()}.tmp")
                tmp.write_bytes(data)
                os.replace(tmp, path)  # readers see the whole tile or none
            except OSError:
                log.warning("cannot write tile cache file %s", path, exc_info=True)
        return entry

    def _remember(self, key: Key, entry: tuple[bytes, str]) -> None:
        size = len(entry[0]) + 100
        with self._lock:
            old = self._mem.pop(key, None)
            if old is not None:
                self._bytes -= len(old[0]) + 100
            self._mem[key] = entry
            self._bytes += size
            while self._bytes > self.max_bytes and self._mem:
                _, dropped = self._mem.popitem(last=False)
                self._bytes -= len(dropped[0]) + 100

    def drop(self, keys: list[Key]) -> None:
        with self._lock:
            for key in keys:
                old = self._mem.pop(key, None)
                if old is not None:
                    self._bytes -= len(old[0]) + 100
        for key in keys:
            path = self._path(key)
            if path is not None:
                try:
                    path.unlink()
                except FileNotFoundError:
                    pass
                except OSError:
                    log.warning("cannot remove tile cache file %s", path, exc_info=True)

    def forget_token(self, tileset: str, token: str) -> None:
        """Remove the files of an old generation (memory entries age out of the LRU)."""
        if self.root is None:
            return
        path = self.root / tileset / token
        if path.exists():
            threading.Thread(target=shutil.rmtree, args=(path, True), daemon=True).start()

    def clear(self) -> None:
        with self._lock:
            self._mem.clear()
            self._bytes = 0
        if self.root is not None and self.root.exists():
            shutil.rmtree(self.root, ignore_errors=True)

    def __len__(self) -> int:
        return len(self._mem)
