"""A registry-driven reading of an address: the fast path of matching, before the CRF parser.

Most addresses a department sends are written with the registry's own names. Reading them needs no
tagger: the text is scanned left to right for the longest known name (of any level from province to
compound, current or alias), and what follows the last name is read as numbers with unit words
(12号, 3号楼/栋/幢, 2单元/门, 5层, 502室/户, or 3-2-502). Phone numbers and contact words are dropped.
When anything is left that is neither (two or more unknown Han characters: perhaps a misspelt name),
the scan gives up and the matcher falls back to the CRF parser, which also handles typos through
the fuzzy name look-up.
"""

from __future__ import annotations

import re
from functools import lru_cache

from citybase.domains.addresses.match_index import DEPTH, MatchIndex
from citybase.domains.addresses.normalise import CONTACT_WORDS, PHONE, canonical, fold, numerals_to_digits

_NAME_LEVELS = ("province", "city", "district", "town", "community", "road", "compound")
_NUM = r"[0-9A-Za-z]+(?:[-之][0-9]+)?"
_PART = re.compile(rf"第?({_NUM})(号楼|号栋|号幢|栋|幢|座|号|单元|门|层|楼|室|户|房)")
_DASHED = re.compile(r"([0-9A-Za-z]+)-([0-9]+)-([0-9]+)$")
_BARE = re.compile(r"([0-9]+)$")
_UNIT_LEVEL = {
    "号楼": "building",
    "号栋": "building",
    "号幢": "building",
    "栋": "building",
    "幢": "building",
    "座": "building",
    "单元": "unit",
    "门": "unit",
    "层": "floor",
    "楼": "floor",
    "室": "room",
    "户": "room",
    "房": "room",
}
_KIND = {"door_number": "roadno", "building": "houseno", "unit": "cellno", "floor": "floorno", "room": "roomno"}
_RUN = re.compile(r"[0-9A-Za-z零〇○一二两三四五六七八九十百千第之号楼栋幢座单元门层室户房-]+")
_POLITE = re.compile(r"[\u4e00-\u9fff]{1,2}(?:先生|女士|小姐)")
# a 2-3 character name set apart right before or after a phone number (marked \0 by then)
_PERSON = re.compile(r"(?:(?<=\s)|^)([\u4e00-\u9fff]{2,3})\s*(?=\0)|(?<=\0)\s*([\u4e00-\u9fff]{2,3})(?=\s|$)")
# a misspelt road: Han characters (no division or number word) ending in a road word, a number after
_ROADLIKE = re.compile(r"(?:(?![省市区县镇乡村号路街巷])[\u4e00-\u9fff]){1,8}?(?:路|街|大道|巷)")
_NUMBER_START = re.compile(r"第?[0-9零〇○一二两三四五六七八九十]")
_NOISE = re.compile(r"[\s,，.。;；:：/、()（）\[\]【】_#\"'“”]+")


def _names(index: MatchIndex) -> tuple[dict[str, tuple[str, ...]], dict[str, tuple[int, ...]]]:
    """Every name and alias → the levels it names, and every first two characters of a name → the
    lengths of the names that start with them, longest first (so the scan tries only lengths that
    can match); cached on the index."""
    cached: tuple[dict[str, tuple[str, ...]], dict[str, tuple[int, ...]]] | None = index.scan_cache
    if cached is not None:
        return cached
    table: dict[str, list[str]] = {}
    for lvl in _NAME_LEVELS:
        names = index.names[lvl]
        for name in (*names.display, *names.by_alias):
            if len(name) >= 2 and lvl not in table.setdefault(name, []):
                table[name].append(lvl)
    sizes: dict[str, set[int]] = {}
    for name in table:
        sizes.setdefault(name[:2], set()).add(len(name))
    out = ({k: tuple(v) for k, v in table.items()}, {k: tuple(sorted(v, reverse=True)) for k, v in sizes.items()})
    index.scan_cache = out
    return out


# the same few number words recur in every batch (12号, 3栋, 502室): normalise each once
_canonical = lru_cache(maxsize=50_000)(canonical)
_to_digits = lru_cache(maxsize=50_000)(numerals_to_digits)


def _numbers(rest: str, levels: dict[str, str]) -> bool:
    """Read the numbered parts of ``rest`` into ``levels``; False when something is left unread."""
    rest = _to_digits(rest)
    pos = 0
    while pos < len(rest):
        m = _PART.match(rest, pos)
        if m is None:
            break
        unit = m.group(2)
        if unit == "号":
            level = "door_number" if "door_number" not in levels and "building" not in levels else "room"
        elif unit == "楼" and "building" not in levels:
            level = "building"
        else:
            level = _UNIT_LEVEL[unit]
        if level in levels:
            return False
        levels[level] = _canonical(_KIND[level], m.group(0))
        pos = m.end()
    tail = rest[pos:]
    if not tail:
        return True
    m = _DASHED.fullmatch(tail)
    if m is not None and "building" not in levels:
        levels["building"] = m.group(1) + "栋"
        levels["unit"] = m.group(2) + "单元"
        levels["room"] = m.group(3) + "室"
        return True
    m = _BARE.fullmatch(tail)
    if m is not None and "room" not in levels and ("building" in levels or "unit" in levels):
        levels["room"] = m.group(1) + "室"
        return True
    return False


def scan(index: MatchIndex, text: str) -> dict[str, str] | None:
    """Tree level → value read with the registry's names, or None when the text needs the parser."""
    return _read(index, text, guess=False)[0]


def scan_guessing(index: MatchIndex, text: str) -> tuple[dict[str, str] | None, bool]:
    """:func:`scan`, but an unknown word shaped like a road name (``长东路`` in ``襄城区长东路101号``:
    Han characters ending in 路/街/大道/巷, no division word, a number right after) where the road
    belongs is taken as the road, for the fuzzy look-up to settle. The flag says a road was guessed:
    such a reading is only as good as a confident match made with it (``matching.match_text``)."""
    return _read(index, text, guess=True)


def _guess_road(folded: str, start: int, end: int | None, levels: dict[str, str]) -> str | None:
    if "road" in levels or "compound" in levels or any(DEPTH[lv] > DEPTH["road"] for lv in levels):
        return None
    m = _ROADLIKE.match(folded, start) if end is None else _ROADLIKE.fullmatch(folded, start, end)
    if m is None or not _NUMBER_START.match(folded, m.end()):
        return None
    return m.group()


def _read(index: MatchIndex, text: str, *, guess: bool) -> tuple[dict[str, str] | None, bool]:
    names, sizes = _names(index)
    guessed = False
    folded = fold(text)
    if PHONE.search(folded) or CONTACT_WORDS.search(folded):
        # a contact (张先生 13812345678, 收件人: 王伟): phones, contact words and short names set apart go
        folded = CONTACT_WORDS.sub(" ", PHONE.sub("\0", folded))
        folded = _PERSON.sub(lambda m: m.group() if (m.group(1) or m.group(2)) in names else "\0", folded).replace(
            "\0", " "
        )
    folded = _NOISE.sub("", _POLITE.sub(" ", folded))
    levels: dict[str, str] = {}
    last_depth, skipped = -1, 0
    pos, n = 0, len(folded)
    while pos < n:
        hit = None
        for size in sizes.get(folded[pos : pos + 2], ()):
            if size > n - pos:
                continue
            found = names.get(folded[pos : pos + size])
            if found is not None:
                level = next((lv for lv in found if DEPTH[lv] > last_depth and lv not in levels), None)
                if level is not None:
                    hit = (size, level)
                    break
        if hit is not None:
            size, level = hit
            levels[level] = folded[pos : pos + size]
            last_depth = DEPTH[level]
            pos += size
            continue
        road = None
        if guess and not guessed and _is_han(folded[pos]) and levels:
            road = _guess_road(folded, pos, None, levels)  # 襄城区|长东路|101号
        elif guess and not guessed and not levels and skipped >= 2 and _NUMBER_START.match(folded, pos):
            road = _guess_road(folded, pos - skipped, pos, levels)  # 长东路|101号
            pos -= skipped
        if road is not None:
            levels["road"], last_depth, guessed = road, DEPTH["road"], True
            pos += len(road)
            continue
        run = _RUN.match(folded, pos)
        if levels and run is not None:
            if not _numbers(run.group(), levels):
                return None, guessed
            last_depth = max(last_depth, *(DEPTH[lv] for lv in levels))
            pos = run.end()
            continue
        if levels or not _is_han(folded[pos]) or skipped >= 6:
            return None, guessed  # an unknown word between names (a typo?), or something odd: leave it to the parser
        pos += 1  # unknown text before the first name (a province or city the registry omits)
        skipped += 1
    if not any(lv in levels for lv in ("road", "compound", "community", "town", "district")):
        return None, guessed
    return levels, guessed


def _is_han(c: str) -> bool:
    return "\u4e00" <= c <= "\u9fff"
