"""Parse a free-text Chinese address into elements (the NAACL 2019 element set) and tree levels.

``parse(text)`` folds the text (:func:`.normalise.fold`, same length, so spans are offsets into the
input), tags its tokens with the CRF of :mod:`.model`, then applies rules the corpus seldom shows:
phone numbers and contact words become ``redundant``, a name beside them ``person``; a repeated
higher level (浙江省杭州市…浙江省杭州市) keeps the first as the element. Each element gets a normalised
value (:func:`.normalise.canonical`; short division names completed from the gazetteer) and the
standard-address tree level it fills. Missing province/city are inferred from a district named
uniquely nationwide (``inferred`` lists them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from citybase.domains.addresses import model
from citybase.domains.addresses.gazetteer import gazetteer
from citybase.domains.addresses.normalise import CONTACT_WORDS, PHONE, canonical, check, fold, ident

ELEMENTS = model.LABELS
TREE_LEVELS = ("province", "city", "district", "town", "community", "road", "door_number", "compound",
               "building", "unit", "floor", "room")
LEVEL_OF: dict[str, str] = {
    "prov": "province", "city": "city", "district": "district", "town": "town", "community": "community",
    "road": "road", "roadno": "door_number", "poi": "compound", "houseno": "building", "cellno": "unit",
    "floorno": "floor", "roomno": "room",
}
# used only when the main element is absent: 支路 as road, its number as door number, sub-POI as compound
FALLBACK_LEVEL = {"subroad": "road", "subroadno": "door_number", "subpoi": "compound", "devzone": "town"}
_DIVISION = ("prov", "city", "district", "town", "community")


@dataclass(frozen=True, slots=True)
class Element:
    """One element: ``label`` from the corpus set, ``text[start:end]`` of the input, a normalised value."""

    label: str
    text: str
    start: int
    end: int
    value: str
    level: str | None = None  # the tree level this element fills, if any

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "start": self.start, "end": self.end,
                "value": self.value, "level": self.level}


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
        return {"text": self.text, "elements": [e.as_dict() for e in self.elements],
                "levels": dict(self.levels), "inferred": list(self.inferred), "standard": self.standard}


def parse(text: str) -> ParsedAddress:
    """Split one address; :class:`~citybase.kernel.errors.InvalidInputError` (field ``text``) for bad input."""
    text = check(text)
    folded = fold(text)
    tokens = model.tokenize(folded)
    return _finish(text, folded, tokens, model.tag(folded, tokens))


def parse_many(texts: list[str]) -> list[ParsedAddress | Exception]:
    """Parse a batch (one numpy pass over all of it: much faster per address than :func:`parse`).

    A bad row gives its error in place and never stops the batch; the results equal ``parse`` of each.
    """
    out: list[ParsedAddress | Exception] = list(texts)  # type: ignore[arg-type]  # every slot is replaced
    todo: list[tuple[int, str, str, list[model.Token]]] = []
    for i, t in enumerate(texts):
        try:
            t = check(t)
            folded = fold(t)
            todo.append((i, t, folded, model.tokenize(folded)))
        except Exception as exc:
            out[i] = exc
    tags = model.tag_many([(folded, tokens) for _, _, folded, tokens in todo])
    for (i, t, folded, tokens), tg in zip(todo, tags, strict=True):
        try:
            out[i] = _finish(t, folded, tokens, tg)
        except Exception as exc:  # pragma: no cover - the rules do not raise on checked input
            out[i] = exc
    return out


def _finish(text: str, folded: str, tokens: list[model.Token], tags: list[str]) -> ParsedAddress:
    """The rules after the tagger (phones, names, unit words) and the elements and levels."""
    _phones(folded, tokens, tags)
    return _build(text, folded, _relabel(folded, _spans(tokens, tags)))


# ---------------------------------------------------------------- rules

_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
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
    after_sep = j >= len(tokens) or tokens[j][2] in _SEP or tokens[j][0] != tokens[j - 1][1] \
        or PHONE.match(folded, tokens[j][0]) is not None
    word = folded[tokens[k][0] - 1:tokens[k][1]] if k else ""
    if after_sep and _is_name([tokens[i][2] for i in run]) and (CONTACT_WORDS.search(word) or
                                                                  tags[run[0]] not in ("B-poi", "B-road")):
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
_UNIT_RULES = ((re.compile(f"^第?{_NUM}(?:室|户)$"), "roomno"), (re.compile(f"^第?{_NUM}单元$"), "cellno"),
               (re.compile(f"^第?{_NUM}层$"), "floorno"), (re.compile(f"^第?{_NUM}(?:栋|幢|号楼)$"), "houseno"))
_NUMBERED = frozenset({"roomno", "cellno", "floorno", "houseno", "roadno", "subroadno", "poi", "subpoi", "person",
                       "otherinfo"})


_PART = re.compile(f"第?{_NUM}(号楼|栋|幢|座|单元|层|室|户)")
_PART_LABEL = {"号楼": "houseno", "栋": "houseno", "幢": "houseno", "座": "houseno", "单元": "cellno",
               "层": "floorno", "室": "roomno", "户": "roomno"}


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
    """A span that is only numbers and unit words (五〇二室, 二单元, 十二层五〇二室) gets those units' labels."""
    out = []
    for s, e, lab in spans:
        if lab in _NUMBERED and lab not in ("roadno", "subroadno"):
            parts = _split(folded, s, e)
            if parts:
                out.extend(parts)
                continue
            piece = folded[s:e].replace(" ", "")
            if lab not in ("houseno", "cellno", "floorno", "roomno"):
                for rx, new in _UNIT_RULES:
                    if rx.match(piece):
                        lab = new
                        break
        out.append((s, e, lab))
    return out


def _build(text: str, folded: str, spans: list[tuple[int, int, str]]) -> ParsedAddress:
    gaz = gazetteer()
    elements: list[Element] = []
    levels: dict[str, str] = {}
    fallback: dict[str, str] = {}
    for s, e, lab in spans:
        value = canonical(lab, folded[s:e])
        if lab in ("prov", "city", "district"):
            value = gaz.complete(lab, value)
        level = LEVEL_OF.get(lab)
        if level is not None and level in levels:
            level = None  # a repeated level (浙江省杭州市…浙江省杭州市): the first one counts
        if level is not None:
            levels[level] = value
        elif lab in FALLBACK_LEVEL and FALLBACK_LEVEL[lab] not in fallback:
            fallback[FALLBACK_LEVEL[lab]] = value
        elements.append(Element(lab, text[s:e], s, e, value, level))
    for lvl, value in fallback.items():
        if lvl not in levels:
            levels[lvl] = value
    inferred: list[str] = []
    for lab, lvl in (("district", "district"), ("city", "city")):
        if lvl in levels:
            chain = gaz.parents_of(lab, levels[lvl])
            for above, name in zip(("province", "city"), chain, strict=False):
                if above not in levels:
                    levels[above] = name
                    inferred.append(above)
            break
    ordered = {k: levels[k] for k in TREE_LEVELS if k in levels}
    return ParsedAddress(text, tuple(elements), ordered, tuple(inferred))


__all__ = ["ELEMENTS", "LEVEL_OF", "TREE_LEVELS", "Element", "ParsedAddress", "ident", "parse", "parse_many"]
