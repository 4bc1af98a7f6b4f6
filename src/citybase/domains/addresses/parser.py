"""Parse a free-text Chinese address into elements (the NAACL 2019 element set) and tree levels.

``parse(text)`` folds the text (:func:`.normalise.fold`, same length, so spans are offsets into the
input), tags its tokens with the CRF of :mod:`.model`, then applies rules the corpus seldom shows:
phone numbers and contact words become ``redundant``, a name beside them ``person``; a repeated
higher level (浙江省杭州市…浙江省杭州市) keeps the first as the element. Each element gets a normalised
value (:func:`.normalise.canonical`, of the folded text; short division names completed from the gazetteer) and the
standard-address tree level it fills. Missing province/city are inferred from a district named
uniquely nationwide (``inferred`` lists them).
"""

from __future__ import annotations

import gc
import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

import numpy as np

from citybase.domains.addresses import inference, model, tokens
from citybase.domains.addresses.gazetteer import gazetteer
from citybase.domains.addresses.normalise import (
    CONTACT_WORDS,
    EDGE,
    NUMBER_KINDS,
    PHONE,
    canonical_folded,
    check,
    fold,
    ident,
)
from citybase.domains.addresses.tree import LEVELS as TREE_LEVELS

ELEMENTS = model.LABELS
LEVEL_OF: dict[str, str] = {
    "prov": "province",
    "city": "city",
    "district": "district",
    "town": "town",
    "community": "community",
    "road": "road",
    "roadno": "door_number",
    "poi": "compound",
    "houseno": "building",
    "cellno": "unit",
    "floorno": "floor",
    "roomno": "room",
}
# used only when the main element is absent: 支路 as road, its number as door number, sub-POI as compound
FALLBACK_LEVEL = {"subroad": "road", "subroadno": "door_number", "subpoi": "compound", "devzone": "town"}
_DIVISION = ("prov", "city", "district", "town", "community")


class Element(NamedTuple):
    """One element: ``label`` from the corpus set, ``text[start:end]`` of the input, a normalised value.

    Immutable like the dataclasses here, but a named tuple: a batch makes millions of them and a tuple
    is built about three times faster than a frozen dataclass.
    """

    label: str
    text: str
    start: int
    end: int
    value: str
    level: str | None = None  # the tree level this element fills, if any

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "value": self.value,
            "level": self.level,
        }


@dataclass(frozen=True, slots=True)
class ParsedAddress:
    text: str
    elements: tuple[Element, ...]
    levels: dict[str, str] = field(default_factory=dict)  # tree level → normalised value
    inferred: tuple[str, ...] = ()  # tree levels filled from the gazetteer, not from the text

    def get(self, label: str) -> Element | None:
        """The first element with this label."""
        return next((e for e in self.elements if e.label == label), None)

    def all(self, label: str) -> tuple[Element, ...]:
        return tuple(e for e in self.elements if e.label == label)

    @property
    def standard(self) -> str:
        """The tree levels joined in order: the normalised full address."""
        return "".join(self.levels[k] for k in TREE_LEVELS if k in self.levels)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "elements": [e.as_dict() for e in self.elements],
            "levels": dict(self.levels),
            "inferred": list(self.inferred),
            "standard": self.standard,
        }


def parse(text: str) -> ParsedAddress:
    """Split one address; :class:`~citybase.kernel.errors.InvalidInputError` (field ``text``) for bad input."""
    text = check(text)
    got = _parse_checked([text])[0]
    if isinstance(got, Exception):  # pragma: no cover - the rules do not raise on checked input
        raise got
    return got


def parse_many(texts: list[str]) -> list[ParsedAddress | Exception]:
    """Parse a batch (one numpy pass over all of it: much faster per address than :func:`parse`).

    A bad row gives its error in place and never stops the batch; the results equal ``parse`` of each.
    """
    out: list[ParsedAddress | Exception] = list(texts)  # type: ignore[arg-type]  # every slot is replaced
    todo: list[int] = []
    checked: list[str] = []
    for i, t in enumerate(texts):
        try:
            checked.append(check(t))
            todo.append(i)
        except Exception as exc:
            out[i] = exc
    # the batch makes many small acyclic objects (elements, tuples): the cycle collector would walk them
    # over and over while they are being built (about a tenth of the time); it runs again right after
    enabled = gc.isenabled()
    gc.disable()
    try:
        results = _parse_checked(checked)
    finally:
        if enabled:
            gc.enable()
    for i, got in zip(todo, results, strict=True):
        out[i] = got
    return out


def _parse_checked(texts: list[str]) -> list[ParsedAddress | Exception]:
    """Parse checked texts: fold, tag the whole batch, then the rules per address."""
    if not texts:
        return []
    if len(texts) == 1:  # one address (parse): Python where numpy's per-call cost would dominate
        return [_parse_one(texts[0])]
    joined = fold(tokens.SEP.join(texts))  # fold maps one character to one: the same as folding each
    folded, at = [], 0
    for t in texts:
        folded.append(joined[at : at + len(t)])
        at += len(t) + 1
    batch, y = inference.tag_ids(folded, joined)
    labels, lab, inside = _label_tables()
    tag_lab, tag_in = lab[y], inside[y]
    n = len(y)
    cont = np.zeros(n, bool)  # token continues the span of the previous one
    cont[1:] = tag_in[1:] & (batch.addr[1:] == batch.addr[:-1]) & (tag_lab[1:] == tag_lab[:-1])
    first = np.flatnonzero(~cont)
    last = np.append(first[1:], n) - 1
    span_addr = batch.addr[first]
    offset = batch.base[span_addr]
    starts = (batch.start[first] - offset).tolist()
    ends = (batch.end[last] - offset).tolist()
    span_lab = [ELEMENTS[k] for k in tag_lab[first].tolist()]
    bounds = np.searchsorted(span_addr, np.arange(len(texts) + 1)).tolist()
    phones = _phone_candidates(joined, batch.base)
    out: list[ParsedAddress | Exception] = []
    for a, text in enumerate(texts):
        try:
            f = folded[a]
            if a in phones:
                toks = batch.tokens(a)
                tags = [labels[k] for k in y[batch.first[a] : batch.first[a] + batch.count[a]].tolist()]
                _phones(f, toks, tags)
                spans = _spans(toks, tags)
            else:
                lo, hi = bounds[a], bounds[a + 1]
                spans = list(zip(starts[lo:hi], ends[lo:hi], span_lab[lo:hi], strict=True))
            out.append(_build(text, f, _relabel(f, spans)))
        except Exception as exc:  # pragma: no cover - the rules do not raise on checked input
            out.append(exc)
    return out


def _parse_one(text: str) -> ParsedAddress | Exception:
    try:
        folded = fold(text)
        toks = model.tokenize(folded)
        labels = _label_tables()[0]
        tags = [labels[k] for k in inference.tag_one(folded, toks)]
        _phones(folded, toks, tags)
        return _build(text, folded, _relabel(folded, _spans(toks, tags)))
    except Exception as exc:  # pragma: no cover - the rules do not raise on checked input
        return exc


@cache
def _label_tables() -> tuple[tuple[str, ...], np.ndarray, np.ndarray]:
    """The model's tags, and per tag its element (index into ELEMENTS) and whether it is an I- tag."""
    labels = inference.compiled().labels
    lab = np.array([ELEMENTS.index(t.partition("-")[2]) for t in labels], np.int64)
    return labels, lab, np.array([t.startswith("I-") for t in labels])


def _phone_candidates(joined: str, base: np.ndarray) -> set[int]:
    """Addresses touched by a phone number or contact word (found in the joined text: a superset)."""
    hits = [m.span() for m in PHONE.finditer(joined)] + [m.span() for m in CONTACT_WORDS.finditer(joined)]
    if not hits:
        return set()
    se = np.array(hits, np.int64)
    lo = np.searchsorted(base, se[:, 0], side="right") - 1
    hi = np.searchsorted(base, se[:, 1] - 1, side="right") - 1
    return {a for x, y in zip(lo.tolist(), hi.tolist(), strict=True) for a in range(x, y + 1)}


# ---------------------------------------------------------------- rules

_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_SEP = frozenset(" ,，;；:：/、()（）[]【】-_")


def _phones(folded: str, tokens: list[model.Token], tags: list[str]) -> None:
    """Tag phone numbers and contact words ``redundant`` and a name right beside them ``person``."""
    hits = [m.span() for m in PHONE.finditer(folded)] + [m.span() for m in CONTACT_WORDS.finditer(folded)]
    if not hits:
        return
    starts = {s: k for k, (s, _, _) in enumerate(tokens)}
    for s, e in sorted(hits):
        ks = [k for k, t in enumerate(tokens) if s <= t[0] and t[1] <= e]
        if not ks or (tokens[ks[0]][0] != s and s not in starts):
            continue
        for n, k in enumerate(ks):
            tags[k] = ("B-" if n == 0 else "I-") + "redundant"
        _name_before(folded, tokens, tags, ks[0])
        _name_after(folded, tokens, tags, ks[-1])


def _is_name(chars: list[str]) -> bool:
    return 2 <= len(chars) <= 3 and chars[0] in _SURNAMES and all("\u4e00" <= c <= "\u9fff" for c in chars)


def _name_before(folded: str, tokens: list[model.Token], tags: list[str], k: int) -> None:
    j = k - 1
    while j >= 0 and tokens[j][2] in _SEP:
        j -= 1
    run: list[int] = []
    while j >= 0 and len(run) < 4 and tokens[j][2] not in _SEP and not tags[j].endswith("redundant"):
        if j + 1 < len(tokens) and tokens[j + 1][0] != tokens[j][1] and run:
            break  # a space ends the name
        run.insert(0, j)
        j -= 1
        if j >= 0 and tokens[j][1] != tokens[j + 1][0]:
            break
    before_sep = j < 0 or tokens[j][2] in _SEP or tokens[j][1] != tokens[j + 1][0]
    if before_sep and _is_name([tokens[i][2] for i in run]):
        for n, i in enumerate(run):
            tags[i] = ("B-" if n == 0 else "I-") + "person"


def _name_after(folded: str, tokens: list[model.Token], tags: list[str], k: int) -> None:
    j = k + 1
    while j < len(tokens) and tokens[j][2] in _SEP:
        j += 1
    run: list[int] = []
    while j < len(tokens) and len(run) < 4 and tokens[j][2] not in _SEP:
        if run and tokens[j][0] != tokens[j - 1][1]:
            break
        run.append(j)
        j += 1
    after_sep = (
        j >= len(tokens)
        or tokens[j][2] in _SEP
        or tokens[j][0] != tokens[j - 1][1]
        or PHONE.match(folded, tokens[j][0]) is not None
    )
    word = folded[tokens[k][0] - 1 : tokens[k][1]] if k else ""
    if (
        after_sep
        and _is_name([tokens[i][2] for i in run])
        and (CONTACT_WORDS.search(word) or tags[run[0]] not in ("B-poi", "B-road"))
    ):
        for n, i in enumerate(run):
            tags[i] = ("B-" if n == 0 else "I-") + "person"


def _spans(tokens: list[model.Token], tags: list[str]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    cur: list[Any] | None = None
    for (s, e, _), t in zip(tokens, tags, strict=True):
        p, _, lab = t.partition("-")
        if p == "I" and cur is not None and cur[2] == lab:
            cur[1] = e
            continue
        if cur is not None:
            out.append((cur[0], cur[1], cur[2]))
        cur = [s, e, lab] if p in ("B", "I") else None
    if cur is not None:
        out.append((cur[0], cur[1], cur[2]))
    return out


_NUM = "[0-9A-Za-z零〇○一二两三四五六七八九十百千-]+"
_UNIT_RULES = (
    (re.compile(f"^第?{_NUM}(?:室|户)$"), "roomno"),
    (re.compile(f"^第?{_NUM}单元$"), "cellno"),
    (re.compile(f"^第?{_NUM}层$"), "floorno"),
    (re.compile(f"^第?{_NUM}(?:栋|幢|号楼)$"), "houseno"),
)
_NUMBERED = frozenset(
    {"roomno", "cellno", "floorno", "houseno", "roadno", "subroadno", "poi", "subpoi", "person", "otherinfo"}
)


_PART = re.compile(f"第?{_NUM}(号楼|栋|幢|座|单元|层|室|户)")
_UNIT_ENDS = frozenset("楼栋幢座元层室户")  # the last characters of _PART's and _UNIT_RULES' unit words
_PART_LABEL = {
    "号楼": "houseno",
    "栋": "houseno",
    "幢": "houseno",
    "座": "houseno",
    "单元": "cellno",
    "层": "floorno",
    "室": "roomno",
    "户": "roomno",
}


def _split(folded: str, s: int, e: int) -> list[tuple[int, int, str]] | None:
    """``十二层五〇二室`` as one span → floorno + roomno; None unless the span is ≥ 2 such parts exactly."""
    parts, pos = [], s
    while pos < e:
        m = _PART.match(folded, pos, e)
        if m is None:
            return None
        parts.append((m.start(), m.end(), _PART_LABEL[m.group(1)]))
        pos = m.end()
    return parts if len(parts) >= 2 else None


def _relabel(folded: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """A span that is only numbers and unit words (五〇二室, 二单元, 十二层五〇二室) gets those units' labels.

    Returns ``spans`` itself when nothing changes (most addresses), else a new list.
    """
    out: list[tuple[int, int, str]] | None = None
    for k, (s, e, lab) in enumerate(spans):
        # every rule below needs the span to end in a unit word (spans never end in a space)
        new = _unit_spans(folded, s, e, lab) if folded[e - 1] in _UNIT_ENDS and lab in _RELABELLED else None
        if new is not None and out is None:
            out = spans[:k]
        if out is not None:
            out.extend(new or ((s, e, lab),))
    return spans if out is None else out


_RELABELLED = _NUMBERED - {"roadno", "subroadno"}


def _unit_spans(folded: str, s: int, e: int, lab: str) -> list[tuple[int, int, str]] | None:
    """The spans one span of ``lab`` becomes by the unit-word rules, or None when it stays as it is."""
    parts = _split(folded, s, e)
    if parts:
        return parts
    if lab not in ("houseno", "cellno", "floorno", "roomno"):
        piece = folded[s:e].replace(" ", "")
        for rx, new in _UNIT_RULES:
            if rx.match(piece):
                return [(s, e, new)] if new != lab else None
    return None


# label + "|" + folded text → value: element texts repeat a lot. A string key, not a tuple: the
# cycle collector never has to look at a string, and a cold batch adds about three keys per address.
_VALUES: dict[str, str] = {}
_COMPLETED = frozenset(("prov", "city", "district"))
_PLAIN = frozenset(ELEMENTS) - _COMPLETED - NUMBER_KINDS  # value = the text, cleaned (canonical_folded)
_RANK = {level: i for i, level in enumerate(TREE_LEVELS)}


def _new_value(lab: str, piece: str) -> str:
    value = canonical_folded(lab, piece)
    if lab in _COMPLETED:
        value = gazetteer().complete(lab, value)
    if len(_VALUES) >= 100_000:
        _VALUES.clear()
    _VALUES[lab + "|" + piece] = value
    return value


_new_tuple = tuple.__new__  # Element(...) goes through a generated Python __new__: this is one C call


def _build(text: str, folded: str, spans: list[tuple[int, int, str]]) -> ParsedAddress:
    elements: list[Element] = []
    levels: dict[str, str] = {}
    fallback: dict[str, str] | None = None
    values, level_of = _VALUES, LEVEL_OF
    rank, ordered = -1, True
    for s, e, lab in spans:
        piece = folded[s:e]
        if lab in _PLAIN:  # the text without spaces and edge punctuation: cheaper than a cache look-up
            value = piece.replace(" ", "").strip(EDGE)
        else:
            value = values.get(lab + "|" + piece) or _new_value(lab, piece)
        level = level_of.get(lab)
        if level is not None:
            if level in levels:
                level = None  # a repeated level (浙江省杭州市…浙江省杭州市): the first one counts
            else:
                levels[level] = value
                ordered = ordered and _RANK[level] > rank
                rank = _RANK[level]
        elif lab in FALLBACK_LEVEL:
            fallback = fallback or {}
            fallback.setdefault(FALLBACK_LEVEL[lab], value)
        elements.append(_new_tuple(Element, (lab, text[s:e], s, e, value, level)))
    if fallback:
        for lvl, value in fallback.items():
            if lvl not in levels:
                levels[lvl] = value
                ordered = False
    inferred: tuple[str, ...] = ()
    for lab in ("district", "city"):
        if lab in levels:
            chain = gazetteer().parents_of(lab, levels[lab])
            for above, name in zip(("province", "city"), chain, strict=False):
                if above not in levels:
                    levels[above] = name
                    inferred += (above,)
                    ordered = False
            break
    if not ordered:  # tree order (most addresses already give their levels in it)
        levels = {k: levels[k] for k in TREE_LEVELS if k in levels}
    return ParsedAddress(text, tuple(elements), levels, inferred)


_WARM_TEXT = "湖北省襄阳市樊城区檀溪路12号阳光小区3栋2单元502室 联系人张三 13912345678"


def warm() -> None:
    """Load the model and gazetteer and compile the tagger's kernels now (the one-address and the batch
    paths), so that the first request does not wait for them: about 1 s from numba's cache, a few
    seconds on the first run of an installation. Servers call it before they accept requests."""
    parse(_WARM_TEXT)
    parse_many([_WARM_TEXT] * 20)  # more than inference._SMALL tokens: the batch path's kernels


__all__ = ["ELEMENTS", "LEVEL_OF", "TREE_LEVELS", "Element", "ParsedAddress", "ident", "parse", "parse_many", "warm"]
