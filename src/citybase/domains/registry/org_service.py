"""The organisation service: registration, binding, search, the cross-check report, shopfront photos and
CSV import (UTF-8 or GBK, one report line per bad row)."""

from __future__ import annotations

import csv
import io
import logging
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from citybase.domains.access import Actor, Permission
from citybase.domains.addresses import CONFIDENT, AddressMatcher, AddressService, Matched
from citybase.domains.registry.crosschecks import DEFAULT_MAX_REGISTRATIONS, cross_checks
from citybase.domains.registry.houses import require_reader
from citybase.domains.registry.orgs import FIELDS, Organisations
from citybase.domains.registry.personal import PersonalData
from citybase.kernel.errors import CityBaseError, InvalidInputError, Issue
from citybase.store import Store

log = logging.getLogger(__name__)
MAX_PHOTO = 10 * 1024 * 1024
_PHOTO_TYPES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"RIFF", ".webp"))
MAX_IMPORT_ROWS = 100_000


def decode_csv(data: bytes) -> str:
    """UTF-8 (with or without BOM) first, then GBK/GB 18030, which department exports often use."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInputError("unreadable file", issues=[Issue("file", "neither UTF-8 nor GBK text")])


class OrgService:
    def __init__(
        self, store: Store, addresses: AddressService, matcher: AddressMatcher, key_file: Path, photo_dir: Path
    ) -> None:
        self.store = store
        self.addresses = addresses
        self.matcher = matcher
        self.key_file = key_file
        self.photo_dir = photo_dir
        self._crypto: PersonalData | None = None
        self.core = Organisations(self.crypto, self.locate, photo_dir)

    def crypto(self) -> PersonalData:
        if self._crypto is None:
            self._crypto = PersonalData.from_file(self.key_file)
        return self._crypto

    # --- matching registered addresses ---------------------------------------------------------------
    @staticmethod
    def _confident(m: Matched | Exception) -> tuple[int | None, str, float]:
        if isinstance(m, Exception):
            return None, "invalid", 0.0
        r = m.result
        node = r.best.node_id if r.best is not None and r.status == "matched" and r.score >= CONFIDENT else None
        return node, r.status, r.score

    def locate(self, text: str) -> int | None:
        try:
            return self._confident(self.matcher.match(text))[0]
        except CityBaseError:
            return None
        except Exception:  # matching must not stop a registration; the cross-check flags the address later
            log.exception("matching the registered address %r failed", text[:100])
            return None

    def match_many(self, texts: Sequence[str]) -> list[tuple[int | None, str, float]]:
        return [self._confident(m) for m in self.matcher.match_many(list(texts))]

    # --- writes --------------------------------------------------------------------------------------
    def register(self, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            return self.core.register_in(conn, actor, payload)

    def update(self, actor: Actor, org_id: int, version: int, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            return self.core.update_in(conn, actor, org_id, version, payload)

    def bind(self, actor: Actor, payload: Mapping[str, Any]) -> dict[str, Any]:
        with self.store.write() as conn:
            return self.core.bind_in(conn, actor, payload)

    def apply_register_org(self, conn: Any, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        """The collection loop's "new organisation" (keys other than the fields are the task's context)."""
        return self.core.register_in(conn, actor, {k: v for k, v in payload.items() if k in FIELDS})

    def apply_bind_org(self, conn: Any, actor: Actor, payload: dict[str, Any]) -> dict[str, Any]:
        keys = ("uscc", "organisation_id", "address_node_id", "kind", "photo_path")
        return self.core.bind_in(conn, actor, {k: v for k, v in payload.items() if k in keys})

    def save_photo(self, actor: Actor, data: bytes) -> str:
        """Store a shopfront photo under data_dir/photos; returns the name a binding refers to."""
        if not (actor.can(Permission.COLLECT) or actor.can(Permission.WRITE_REGISTRY)):
            actor.require(Permission.COLLECT)
        if not data or len(data) > MAX_PHOTO:
            raise InvalidInputError("bad photo", issues=[Issue("photo", f"1 byte to {MAX_PHOTO // 2**20} MB required")])
        ext = next((e for magic, e in _PHOTO_TYPES if data.startswith(magic)), None)
        if ext is None or (ext == ".webp" and data[8:12] != b"WEBP"):
            raise InvalidInputError("bad photo", issues=[Issue("photo", "a JPEG, PNG or WebP image is required")])
        self.photo_dir.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex + ext
        (self.photo_dir / name).write_bytes(data)
        return name

    # --- reads ---------------------------------------------------------------------------------------
    def get(self, actor: Actor, org_id: int) -> dict[str, Any]:
        require_reader(actor)
        with self.store.read() as conn:
            return self.core.card_in(conn, org_id)

    def by_uscc(self, actor: Actor, uscc: str) -> dict[str, Any]:
        require_reader(actor)
        from citybase.domains.registry.orgs import check_uscc, org_row

        code, _ = check_uscc(None, uscc)
        with self.store.read() as conn:
            return self.core.card_in(conn, int(org_row(conn, uscc=code)["id"]))

    def search(self, actor: Actor, q: str, *, limit: int = 20) -> list[dict[str, Any]]:
        require_reader(actor)
        with self.store.read() as conn:
            return self.core.search_in(conn, q, limit=limit)

    def legal_rep(self, actor: Actor, org_id: int, purpose: str) -> str | None:
        with self.store.write() as conn:  # the audit entry is written with the read
            return self.core.legal_rep_in(conn, actor, org_id, purpose)

    def cross_checks(self, actor: Actor, *, max_registrations: int = DEFAULT_MAX_REGISTRATIONS) -> dict[str, Any]:
        require_reader(actor)
        with self.store.read() as conn:
            return cross_checks(
                conn,
                self.match_many,
                lambda n: self.addresses._records(conn, [n])[0].full_address,
                max_registrations=max_registrations,
            )

    # --- CSV import ----------------------------------------------------------------------------------
    def import_csv(self, actor: Actor, data: bytes) -> dict[str, Any]:
        """Register every row (columns uscc, name, type, legal_rep, registered_address, status); each row is
        its own transaction, a bad row is reported (row, field, reason) and does not stop the others."""
        text = decode_csv(data)
        reader = csv.DictReader(io.StringIO(text))
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("uscc", "name", "type", "registered_address") if c not in columns]
        if missing:
            raise InvalidInputError("missing columns", issues=[Issue(c, "column required") for c in missing])
        done, errors = 0, []
        for n, raw in enumerate(reader, start=2):  # row 1 is the header
            if n > MAX_IMPORT_ROWS + 1:
                errors.append({"row": n, "field": "file", "reason": f"more than {MAX_IMPORT_ROWS} rows; rest skipped"})
                break
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items() if k and k.strip() in FIELDS}
            row = {k: v for k, v in row.items() if v or k in ("uscc", "name", "type", "registered_address")}
            try:
                self.register(actor, row)
                done += 1
            except CityBaseError as exc:
                for issue in exc.issues or [Issue("row", exc.detail)]:
                    errors.append({"row": n, "field": issue.field, "reason": issue.reason})
        return {"registered": done, "failed": len({e["row"] for e in errors}), "errors": errors}
