"""The address matcher service: parse, match, geocode, reverse and suggest over the registry.

It holds one :class:`.match_index.MatchIndex` of the whole registry in memory, built on first use
from ``AddressService.iter_records`` and rebuilt when the registry's change counter moves (checked at
most once every ``check_seconds``, so a batch does not ask the database per row).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from citybase.domains.access import Actor, Permission
from citybase.domains.addresses.match_index import MatchIndex, RecordLike
from citybase.domains.addresses.matcher import Candidate, MatchResult, match_levels
from citybase.domains.addresses.normalise import check
from citybase.domains.addresses.parser import ParsedAddress, parse, parse_many
from citybase.domains.addresses.scan import scan_guessing
from citybase.domains.addresses.suggest import Suggestion, suggest
from citybase.kernel.errors import ConfigurationError, InvalidInputError, Issue, NotFoundError

_RANK = {"matched": 3, "ambiguous": 2, "partial": 1, "unmatched": 0}


def match_text(index: MatchIndex, text: str, *, limit: int = 5) -> MatchResult:
    """Match free text: the registry scan first (fast), the CRF parser when the scan cannot read it or
    does not give a confident match; the better answer wins. Bad input: :class:`InvalidInputError`.

    A scan that had to guess a misspelt road (``scan_guessing``) is kept only when it gives a confident
    match; otherwise the answer is the parser's, exactly as if the scan had not read the text."""
    done, first = _scanned(index, text, limit)
    if done is not None:
        return done
    return _settle(index, first, parse(text), limit)


def match_texts(index: MatchIndex, texts: Sequence[str], *, limit: int = 5) -> list[MatchResult | Exception]:
    """:func:`match_text` of each text, the same answers; the texts the scan cannot settle are parsed
    together in one batch (``parse_many``: one numpy pass). A bad text gives its error in place."""
    out: list[MatchResult | Exception | None] = []
    pending: list[tuple[int, MatchResult | None]] = []
    for i, text in enumerate(texts):
        try:
            done, first = _scanned(index, text, limit)
        except Exception as exc:
            out.append(exc)
            continue
        out.append(done)
        if done is None:
            pending.append((i, first))
    parsed = parse_many([texts[i] for i, _ in pending]) if pending else []
    for (i, first), p in zip(pending, parsed, strict=True):
        try:
            out[i] = p if isinstance(p, Exception) else _settle(index, first, p, limit)
        except Exception as exc:  # pragma: no cover - matching does not raise on checked input
            out[i] = exc
    return [r for r in out if r is not None]


def _scanned(index: MatchIndex, text: str, limit: int) -> tuple[MatchResult | None, MatchResult | None]:
    """The answer when the scan settles ``text`` (first), else the scan's answer to weigh against the
    parser's (second; None when the scan could not read the text)."""
    check(text)
    quick, guessed = scan_guessing(index, text)
    first = match_levels(index, quick, limit=limit) if quick is not None else None
    if first is not None and guessed:
        return (first, None) if first.status == "matched" else (None, None)
    if first is not None and (first.status != "unmatched" or not quick):
        return first, None  # the scan read every word with the registry's names: the parser cannot read more
    return None, first


def _settle(index: MatchIndex, first: MatchResult | None, parsed: ParsedAddress, limit: int) -> MatchResult:
    second = match_levels(index, {k: v for k, v in parsed.levels.items() if k not in parsed.inferred}, limit=limit)
    if first is None or (_RANK[second.status], second.score) > (_RANK[first.status], first.score):
        return second
    return first


def _not_text(value: object) -> Exception:
    """The error of a batch row that is not text (``check`` names field and reason)."""
    try:
        check(value)
    except Exception as exc:
        return exc
    return InvalidInputError("address must be text", issues=[Issue("text", "not a string")])  # pragma: no cover


class FullRecord(RecordLike, Protocol):
    @property
    def source_id(self) -> str | None: ...
    @property
    def full_address(self) -> str: ...
    @property
    def community(self) -> str | None: ...
    @property
    def grid(self) -> str | None: ...


class Registry(Protocol):
    """The part of ``AddressService`` (the address tree) the matcher uses."""

    def iter_records(self, *, levels: Sequence[str] | None = None, batch: int = 10_000) -> Iterator[Any]: ...
    def record(self, node_id: int) -> Any: ...
    def records(self, ids: Sequence[int]) -> dict[int, Any]: ...
    def nearest(
        self, lon: float, lat: float, *, k: int = 5, levels: Sequence[str] = ("door_number", "building")
    ) -> list[tuple[Any, float]]: ...
    def changed_since(self, revision: int) -> int: ...


@dataclass(frozen=True, slots=True)
class Matched:
    """One input and its match, with the registry record of the best node (when there is one)."""

    text: str
    result: MatchResult
    record: FullRecord | None

    @property
    def matched_id(self) -> str | None:
        if self.record is None:
            return None
        return self.record.source_id or str(self.record.id)


@dataclass(frozen=True, slots=True)
class Nearby:
    record: FullRecord
    distance_m: float


class AddressMatcher:
    def __init__(self, registry: Registry | None, *, check_seconds: float = 2.0) -> None:
        self.registry = registry
        self.check_seconds = check_seconds
        self._index: MatchIndex | None = None
        self._revision = -1
        self._checked = 0.0
        self._lock = threading.Lock()
        self._records: dict[int, Any] = {}

    # --- the index -------------------------------------------------------------------------------
    def _registry(self) -> Registry:
        if self.registry is None:
            raise ConfigurationError("the address registry is not available")
        return self.registry

    def index(self) -> MatchIndex:
        """The current index; rebuilt when the registry changed since it was built.

        While one caller rebuilds, the others keep answering from the previous index."""
        current = self._index
        if current is not None and time.monotonic() - self._checked < self.check_seconds:
            return current
        if not self._lock.acquire(blocking=current is None):
            assert current is not None
            return current
        try:
            registry = self._registry()
            revision = registry.changed_since(0)
            if self._index is None or revision != self._revision:
                self._index = MatchIndex(registry.iter_records())
                self._records.clear()
                self._revision = revision
            self._checked = time.monotonic()
            return self._index
        finally:
            self._lock.release()

    def refresh(self) -> MatchIndex:
        self._checked = 0.0
        return self.index()

    def record(self, node_id: int) -> FullRecord:
        found = self._records.get(node_id)
        if found is None:
            found = self._registry().record(node_id)
            if len(self._records) > 100_000:
                self._records.clear()
            self._records[node_id] = found
        return found

    def records(self, node_ids: Sequence[int]) -> dict[int, FullRecord]:
        """The records of ``node_ids``: the cached ones, the rest in one registry read (``records``).
        An id the registry no longer has is left out (its row gets :class:`NotFoundError`)."""
        out = {i: self._records[i] for i in node_ids if i in self._records}
        todo = [i for i in dict.fromkeys(node_ids) if i not in out]
        if todo:
            read = self._registry().records(todo)
            if len(self._records) + len(read) > 100_000:
                self._records.clear()
            self._records.update(read)
            out.update(read)
        return out

    # --- matching --------------------------------------------------------------------------------
    def match(self, text: str, *, limit: int = 5) -> Matched:
        """Parse ``text`` and match it; :class:`InvalidInputError` (field ``text``) for bad input."""
        result = match_text(self.index(), text, limit=limit)
        return Matched(text, result, self.record(result.best.node_id) if result.best else None)

    def match_many(self, texts: Sequence[object], *, limit: int = 1) -> list[Matched | Exception]:
        """One answer per input; a bad row gives its error in place and never stops the batch.

        The batch path of the API and the match jobs (:func:`match_texts`): one index for the whole
        batch (no revision check per row), a text that recurs in the batch (department files repeat
        addresses) is matched once, and the texts that need the parser are parsed together."""
        try:
            index = self.index()
        except Exception as exc:  # no registry: every row says so, as a single match would
            return [exc for _ in texts]
        unique = list(dict.fromkeys(t for t in texts if isinstance(t, str)))
        results = dict(zip(unique, match_texts(index, unique, limit=limit), strict=True))
        wanted = [r.best.node_id for r in results.values() if isinstance(r, MatchResult) and r.best is not None]
        try:
            records: dict[int, FullRecord] | Exception = self.records(wanted)
        except Exception as exc:  # the registry could not be read: every matched row says so
            records = exc
        out: list[Matched | Exception] = []
        for t in texts:
            if not isinstance(t, str):
                out.append(_not_text(t))
                continue
            result = results[t]
            if isinstance(result, Exception):
                out.append(result)
                continue
            if result.best is None:
                out.append(Matched(t, result, None))
            elif isinstance(records, Exception):
                out.append(records)
            elif result.best.node_id in records:
                out.append(Matched(t, result, records[result.best.node_id]))
            else:  # retired since the index was built
                out.append(NotFoundError(f"no address node {result.best.node_id}"))
        return out

    def geocode(self, text: str, *, limit: int = 5) -> list[tuple[Candidate, FullRecord]]:
        """The best candidates for ``text`` with their registry records, best first."""
        result = match_text(self.index(), text, limit=limit)
        found = self.records([c.node_id for c in result.candidates])
        return [(c, found[c.node_id]) for c in result.candidates if c.node_id in found]

    def reverse(
        self, lon: float, lat: float, *, k: int = 1, levels: Sequence[str] = ("door_number", "building")
    ) -> list[Nearby]:
        issues = []
        if not -180 <= lon <= 180:
            issues.append(Issue("lon", f"{lon} is not a longitude (-180..180)"))
        if not -90 <= lat <= 90:
            issues.append(Issue("lat", f"{lat} is not a latitude (-90..90)"))
        if not 1 <= k <= 50:
            issues.append(Issue("k", "between 1 and 50"))
        if issues:
            raise InvalidInputError("bad point", issues=issues)
        return [Nearby(r, d) for r, d in self._registry().nearest(lon, lat, k=k, levels=levels)]

    def suggest(self, q: str, *, limit: int = 10) -> list[Suggestion]:
        if not isinstance(q, str) or not q.strip():
            raise InvalidInputError("empty query", issues=[Issue("q", "empty")])
        if len(q) > 100:
            raise InvalidInputError("query too long", issues=[Issue("q", f"{len(q)} characters, at most 100")])
        return suggest(self.index(), q, limit=min(max(limit, 1), 50))

    @staticmethod
    def require_read(actor: Actor) -> None:
        actor.require(Permission.READ)
