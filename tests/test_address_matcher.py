"""The address matcher on an in-memory registry (database-free): typos, wrong levels, aliases, absent addresses."""

from __future__ import annotations

import pytest

from citybase.domains.addresses import CONFIDENT, MatchResult, parse
from citybase.domains.addresses.match_index import MatchIndex, name_key
from citybase.domains.addresses.matcher import match_levels
from citybase.domains.addresses.suggest import suggest
from tests.address_fixtures import Rec, tree


@pytest.fixture(scope="module")
def index() -> MatchIndex:
    return MatchIndex(tree())


def match(index: MatchIndex, text: str) -> MatchResult:
    parsed = parse(text)
    return match_levels(index, {k: v for k, v in parsed.levels.items() if k not in parsed.inferred})


def path(result: MatchResult) -> dict[str, str]:
    assert result.best is not None
    return result.best.path


def test_exact_full_address_matches_the_room(index: MatchIndex) -> None:
    r = match(index, "湖北省襄阳市樊城区人民路12号2栋1单元502室")
    assert r.status == "matched" and r.level == "room" and r.score == 1.0
    assert path(r)["room"] == "502室" and path(r)["building"] == "2栋" and path(r)["door_number"] == "12号"
    assert r.explanation == ""


def test_normalised_numbers_names_and_contacts(index: MatchIndex) -> None:
    r = match(index, "樊城区人民路１２号二栋一单元五〇二室 张伟 13812345678")
    assert r.status == "matched" and r.level == "room" and path(r)["room"] == "502室"
    assert match(index, "阳光花园3号楼").level == "building"
    assert path(match(index, "阳光花园三幢"))["building"] == "3栋"


def test_typo_in_road_name(index: MatchIndex) -> None:
    r = match(index, "人名路12号2栋1单元502室")
    assert r.level == "room" and path(r)["road"] == "人民路"
    assert r.score >= CONFIDENT and r.score < 1.0
    assert "typo" in r.explanation and "人名路" in r.explanation


def test_wrong_district_but_unique_road_and_number(index: MatchIndex) -> None:
    r = match(index, "襄州区人民路14号1栋")
    assert r.status == "matched" and r.level == "building"
    assert path(r)["district"] == "樊城区" and path(r)["door_number"] == "14号"
    assert r.score < 1.0 and "襄州区" in r.explanation and "differs" in r.explanation


def test_missing_higher_levels(index: MatchIndex) -> None:
    r = match(index, "檀溪路88号2栋")
    assert r.status == "matched" and r.score == 1.0 and path(r)["district"] == "襄城区"


def test_old_name_is_an_alias(index: MatchIndex) -> None:
    r = match(index, "红旗路12号")
    assert r.status == "matched" and r.level == "door_number" and path(r)["road"] == "人民路"
    assert "alias" in r.explanation


def test_address_not_in_registry_is_never_confident(index: MatchIndex) -> None:
    r = match(index, "樊城区人民路99号3栋")
    assert r.status == "partial" and r.level == "road" and r.score < 0.6
    assert "99号" in r.explanation
    deeper = match(index, "人民路12号9栋")  # the door plate exists, the building does not
    assert deeper.status == "partial" and deeper.level == "door_number" and deeper.score < CONFIDENT
    nowhere = match(index, "北京市朝阳区建国路1号")
    assert nowhere.status == "unmatched" and nowhere.best is None and nowhere.score == 0.0


def test_near_duplicates_are_ambiguous_until_disambiguated(index: MatchIndex) -> None:
    r = match(index, "长征路7号")  # in 樊城区 and in 襄城区
    assert r.status == "ambiguous" and r.score < CONFIDENT and "ambiguous" in r.explanation
    assert {c.path["district"] for c in r.candidates[:2]} == {"樊城区", "襄城区"}
    r2 = match(index, "襄城区长征路7号")
    assert r2.status == "matched" and path(r2)["district"] == "襄城区"


def test_shallow_query_matches_the_shallow_node(index: MatchIndex) -> None:
    assert match(index, "人民路12号").level == "door_number"
    assert match(index, "樊城区汉江街道").level == "town"


def test_name_keys() -> None:
    assert name_key("building", "三号楼") == name_key("building", "3栋") == "3栋"
    assert name_key("unit", "二门") == "2单元"
    assert name_key("room", "五〇二户") == "502室"
    assert name_key("district", "樊城区") == name_key("district", "樊城") == "樊城"
    assert name_key("road", "人民路") == "人民路"


def test_index_memory_and_empty_registry() -> None:
    idx = MatchIndex(tree())
    assert len(idx) == len(tree()) and 0 < idx.memory_bytes() < 10_000_000
    empty = MatchIndex([])
    assert match_levels(empty, {"road": "人民路"}).status == "unmatched"


def test_rebuilt_index_sees_a_rename() -> None:
    recs = tree()
    renamed = [
        Rec(
            r.id,
            r.source_id,
            r.level,
            {**r.parts, "road": "幸福路"} if r.parts.get("road") == "檀溪路" else r.parts,
            r.aliases,
            lon=r.lon,
            lat=r.lat,
        )
        for r in recs
    ]
    assert match_levels(MatchIndex(renamed), {"road": "幸福路", "door_number": "88号"}).status == "matched"


def test_suggest_walks_down_the_tree(index: MatchIndex) -> None:
    assert suggest(index, "人民", limit=5)[0].level == "road"
    doors = suggest(index, "人民路1", limit=5)
    assert [s.text[-3:] for s in doors[:2]] == ["12号", "14号"]
    buildings = suggest(index, "樊城区人民路12号2")
    assert buildings and all(s.text.endswith("12号2栋") for s in buildings)
    assert suggest(index, "檀溪路八十八号")[0].text.endswith("檀溪路88号")
    assert suggest(index, "不存在的名字") == []


def test_scan_reads_registry_names_without_the_parser(index: MatchIndex) -> None:
    from citybase.domains.addresses.scan import scan

    assert scan(index, "湖北省襄阳市樊城区人民路12号2栋1单元502室") == {
        "province": "湖北省",
        "city": "襄阳市",
        "district": "樊城区",
        "road": "人民路",
        "door_number": "12号",
        "building": "2栋",
        "unit": "1单元",
        "room": "502室",
    }
    assert scan(index, "人民路12号2-1-502 13812345678") == {
        "road": "人民路",
        "door_number": "12号",
        "building": "2栋",
        "unit": "1单元",
        "room": "502室",
    }
    assert scan(index, "红旗路十二号") == {"road": "红旗路", "door_number": "12号"}
    assert scan(index, "人民路12号阳光花园3号楼")["compound"] == "阳光花园"
    assert scan(index, "人名路12号") is None  # a misspelt name: left to the parser and the fuzzy look-up
    assert scan(index, "樊城区人民路12号附近") is None


def test_match_text_falls_back_to_the_parser(index: MatchIndex) -> None:
    from citybase.domains.addresses.matching import match_text
    from citybase.kernel.errors import InvalidInputError

    assert match_text(index, "人民路12号2-1-502").level == "room"
    typo = match_text(index, "人名路12号2栋 张伟 13812345678")
    assert typo.status == "matched" and typo.level == "building" and "typo" in typo.explanation
    assert match_text(index, "长征路7号").status == "ambiguous"
    with pytest.raises(InvalidInputError):
        match_text(index, "   ")
    with pytest.raises(InvalidInputError):
        match_text(index, "路" * 501)


def test_scan_guesses_a_misspelt_road_and_keeps_it_only_when_confident(index: MatchIndex) -> None:
    from citybase.domains.addresses.matching import match_text
    from citybase.domains.addresses.scan import scan_guessing

    assert scan_guessing(index, "樊城区人名路12号2栋") == (
        {"district": "樊城区", "road": "人名路", "door_number": "12号", "building": "2栋"},
        True,
    )
    assert scan_guessing(index, "人名路十二号") == ({"road": "人名路", "door_number": "12号"}, True)
    assert scan_guessing(index, "人民路12号") == ({"road": "人民路", "door_number": "12号"}, False)
    # a division word or no number after it: not taken for a road
    assert scan_guessing(index, "樊城区某某区人名路12号")[0] is None
    assert scan_guessing(index, "樊城区人名路附近")[0] is None
    r = match_text(index, "樊城区人名路12号2栋")
    assert r.status == "matched" and path(r)["road"] == "人民路" and "typo" in r.explanation
    # a guess that does not give a confident match is dropped: the parser's answer stands
    absent = match_text(index, "樊城区人名路999号")
    assert absent.status != "matched" and absent.score < CONFIDENT


def test_batch_gives_the_answers_of_single_matches(index: MatchIndex) -> None:
    from citybase.domains.addresses.matching import match_text, match_texts
    from citybase.kernel.errors import InvalidInputError

    texts = [
        "湖北省襄阳市樊城区人民路12号2栋1单元502室",
        "人名路12号2栋 张伟 13812345678",
        "长征路7号",
        "樊城区人民路12号附近",
        "   ",
        "不存在的路1号",
        "阳光花园三幢",
    ]
    batch = match_texts(index, texts, limit=3)
    assert len(batch) == len(texts)
    for text, got in zip(texts, batch, strict=True):
        try:
            want = match_text(index, text, limit=3)
        except InvalidInputError as exc:
            assert isinstance(got, InvalidInputError) and got.issues == exc.issues
            continue
        assert got == want
    assert isinstance(batch[4], InvalidInputError)


def test_children_sorted_by_level_and_name_are_the_children(index: MatchIndex) -> None:
    for row in range(len(index)):
        lo, hi = index.kid_range(row)
        kids = sorted(int(k) for k in index.children(row))
        assert sorted(index.kids_keyed(lo, hi, 0, 1 << 62)) == kids
        for k in kids:
            d = index.row_depth(k)
            key = index.kid_key(d, index.row_names(k)[d])
            assert k in index.kids_keyed(lo, hi, key, key + 1)


def test_name_lookups_are_cached_until_the_names_change() -> None:
    from citybase.domains.addresses.match_index import LevelNames

    names = LevelNames()
    names.add("road", "人民路")
    first = names.lookup("人名路")
    assert [h.via for h in first] == ["fuzzy"] and names.lookup("人名路") is first
    names.add("road", "人名路")
    assert [(h.via, h.similarity) for h in names.lookup("人名路")] == [("exact", 1.0)]


def test_many_candidates_are_scored_as_few(index: MatchIndex) -> None:
    from citybase.domains.addresses import matcher

    rows = list(range(len(index)))
    for text in ("人民路12号2栋1单元502室", "人名路2栋", "樊城区阳光花园3号楼", "长征路7号"):
        parsed = parse(text)
        keys, _, sims = matcher._hits(index, {k: v for k, v in parsed.levels.items() if k not in parsed.inferred})
        plain = matcher._scores(index, rows, keys, sims, many=len(rows))
        vector = matcher._scores(index, rows, keys, sims, many=0)
        assert plain == vector and max(plain[0]) > 0
        assert plain[2] == [index.row_names(r) for r in rows]


def test_name_hits_are_cached_per_value_until_the_caches_are_cleared(index: MatchIndex) -> None:
    from citybase.domains.addresses import matcher

    first = matcher._lookup(index, "road", "人名路")
    assert first[0] == "人名路" and [h.via for h in first[1]] == ["fuzzy"]
    assert first[2] == {h.name_id: h.similarity for h in first[1]}
    assert matcher._lookup(index, "road", "人名路") is first
    before = match(index, "人名路12号2栋")
    index.clear_caches()
    assert matcher._lookup(index, "road", "人名路") is not first
    assert match(index, "人名路12号2栋") == before
