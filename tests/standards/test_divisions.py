"""Division registry: GB/T 2260 (MCA 2025), GB/T 10114 (NBS 2023), change history 1981-2026.

Expected values come from shared/data/README.md (Xiangyang sections) and the change events it quotes.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from stdnum import numdb

from citybase.kernel.errors import InvalidInputError
from citybase.standards import divisions as dv

XIANGYANG_COUNTIES = {
    "420602": "襄城区", "420606": "樊城区", "420607": "襄州区", "420624": "南漳县", "420625": "谷城县",
    "420626": "保康县", "420682": "老河口市", "420683": "枣阳市", "420684": "宜城市",
}


# ---------------------------------------------------------------- code forms and GB/T 2260


def test_pad_and_short_forms() -> None:
    assert dv.pad12("420602") == "420602000000"
    assert dv.pad12("420602001") == "420602001000"
    assert dv.short_code("420602000000") == "420602"
    assert dv.short_code("420602001000") == "420602001"
    assert dv.short_code("420602001008") == "420602001008"
    assert dv.short_code("420600") == "420600"


@pytest.mark.parametrize("code", ["110000", "420000", "420600", "420602", "429004", "110101", "441900"])
def test_current_2260_codes(code: str) -> None:
    assert dv.is_valid_2260(code)


@pytest.mark.parametrize("code", ["420603", "420621", "110100", "429000", "130171", "42060", "4206020",
                                  "999999", "420602001"])
def test_not_current_2260_codes(code: str) -> None:
    assert not dv.is_valid_2260(code)


def test_mca_counts_match_the_source_readme() -> None:
    provinces = dv.children("110000")  # Beijing's districts hang directly under the province in MCA
    assert all(d.level == 3 and d.parent_code == "110000" for d in provinces)
    hubei = dv.children("420000")
    assert {d.code for d in hubei} >= {"420100", "420600", "429004", "429021"}
    assert sum(1 for d in hubei if d.level == 3) == 4  # 仙桃, 潜江, 天门, 神农架
    assert len(dv._mca_upper().rows) == 3211
    assert len(dv._mca_towns().rows) == 38723
    assert len(dv._nbs_towns().rows) == 41352
    assert len(dv._nbs_villages().rows) == 27057


def test_division_fields() -> None:
    d = dv.get("420602")
    assert d == dv.Division("420602", "襄城区", 3, "420600", "MCA", True)
    assert d is not None and d.code12 == "420602000000"
    assert dv.get("420600") == dv.Division("420600", "襄阳市", 2, "420000", "MCA")
    assert dv.get("420000") == dv.Division("420000", "湖北省", 1, None, "MCA")


def test_xiangyang_counties_agree_in_both_systems() -> None:
    mca = {d.code: d.name for d in dv.children("420600")}
    nbs = {d.code: d.name for d in dv.children("420600", source="NBS")}
    assert mca == nbs == XIANGYANG_COUNTIES


def test_xiangyang_township_and_village_counts() -> None:
    towns_nbs = [t for c in XIANGYANG_COUNTIES for t in dv.children(c, "NBS")]
    towns_mca = [t for c in XIANGYANG_COUNTIES for t in dv.children(c)]
    assert (len(towns_nbs), len(towns_mca)) == (130, 108)  # 22 NBS-only statistical units
    villages = [v for t in towns_nbs for v in dv.children(t.code, "NBS")]
    assert len(villages) == 2817
    per_county = {c: sum(1 for v in villages if v.code.startswith(c)) for c in XIANGYANG_COUNTIES}
    assert per_county["420683"] == 561 and per_county["420602"] == 176
    assert all(v.level == 5 and v.source == "NBS" for v in villages)


def test_mca_publishes_no_villages() -> None:
    assert dv.children("420602001") == ()
    assert len(dv.children("420602001", "NBS")) > 0


# ---------------------------------------------------------------- NBS vs MCA (README "NBS 2023 vs MCA 2025")


@pytest.mark.parametrize(
    ("code", "mca", "nbs"),
    [
        ("420602001", "古城街道", "真武山街道"),  # swapped
        ("420602002", "真武山街道", "古城街道"),
        ("420607101", "龙王镇", "石桥镇"),  # shifted by one
        ("420625104", "茨河镇", "五山镇"),
        ("420684102", "刘猴镇", "郑集镇"),  # shifted by two
        ("420683102", "杨垱镇", "杨当镇"),  # same town, different writing
        ("420625102", "盛\U00021413镇", "盛康镇"),  # 𡐓 is outside the BMP
    ],
)
def test_same_code_different_township(code: str, mca: str, nbs: str) -> None:
    m, n = dv.get(code, "MCA"), dv.get(code, "NBS")
    assert m is not None and n is not None
    assert (m.name, m.source, n.name, n.source) == (mca, "MCA", nbs, "NBS")
    assert dv.get(code) == m  # MCA is preferred without a source


def test_non_bmp_name_survives_end_to_end() -> None:
    d = dv.get("420625102")
    assert d is not None and d.name == "盛𡐓镇"
    # U+21413 (the data README says U+2140B, but the published strings hold U+21413)
    assert len(d.name) == 3 and ord(d.name[1]) == 0x21413
    assert len(d.name.encode("utf-8")) == 10 and len(d.name.encode("utf-16-le")) == 8
    village = dv.get("420602006207")
    assert village is not None and village.name == "莫𡐓村委会" and village.parent_code == "420602006"


@pytest.mark.parametrize(
    ("nbs_code", "nbs_name", "mca_code", "mca_name"),
    [
        ("420606070", "高新区紫贞街道", "420606010", "紫贞街道"),
        ("420606071", "高新区七里河街道", "420606009", "七里河街道"),
        ("420606170", "高新区团山镇", "420606102", "团山镇"),
        ("420606171", "高新区米庄镇", "420607113", "米庄镇"),  # moves district too
    ],
)
def test_high_tech_zone_units(nbs_code: str, nbs_name: str, mca_code: str, mca_name: str) -> None:
    n, m = dv.get(nbs_code, "NBS"), dv.get(mca_code, "MCA")
    assert n is not None and n.name == nbs_name
    assert m is not None and m.name == mca_name
    assert dv.get(nbs_code, "MCA") is None


@pytest.mark.parametrize("code", ["420606400", "420607500", "420625500", "420684400", "420683501"])
def test_nbs_only_pseudo_townships(code: str) -> None:
    assert dv.get(code, "NBS") is not None
    assert dv.get(code, "MCA") is None


def test_get_accepts_padded_codes_and_rejects_junk() -> None:
    assert dv.get("420602000000") == dv.get("420602")
    assert dv.get("420602001000", "NBS") == dv.get("420602001", "NBS")
    assert dv.get("999999") is None
    assert dv.get("420602999", "NBS") is None
    with pytest.raises(InvalidInputError, match="expected 6 or 9 or 12"):
        dv.get("42060")
    with pytest.raises(InvalidInputError, match=r"positions \[4\] are not digits"):
        dv.get("420A02")


def test_historical_code_is_returned_as_invalid() -> None:
    old = dv.get("420603")
    assert old == dv.Division("420603", "樊东区", 3, "420600", "NBS", valid=False)
    assert dv.get("420603", "MCA") is None


# ---------------------------------------------------------------- GB/T 10114


@pytest.mark.parametrize(
    ("code", "level", "town_kind", "village_kind", "name"),
    [
        ("420602001008", 5, "街道", "居民委员会", "檀溪社区居委会"),
        ("420602006207", 5, "街道", "村民委员会", "莫𡐓村委会"),
        ("420602001000", 4, "街道", None, "真武山街道"),
        ("420625102000", 4, "镇", None, "盛康镇"),
        ("420602000000", 3, None, None, "襄城区"),
        ("420600000000", 2, None, None, "襄阳市"),
        ("420000000000", 1, None, None, "湖北省"),
        ("420103400498", 5, "政企合一单位", "特殊统计单位", "开发区虚拟社区"),
    ],
)
def test_validate_10114_valid(code: str, level: int, town_kind: str | None, village_kind: str | None,
                              name: str) -> None:
    r = dv.validate_10114(code)
    assert (r.code, r.level, r.township_kind, r.village_kind) == (code, level, town_kind, village_kind)
    assert r.division is not None and r.division.name == name
    assert r.warnings == ()


def test_validate_10114_township_outside_hubei_and_unchecked_village() -> None:
    r = dv.validate_10114("110101001000")
    assert r.division is not None and r.division.name == "东华门街道"
    r = dv.validate_10114("110101001001")
    assert r.division is None and "Hubei (42) only" in r.warnings[0]


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("42060200100", "has 11 digits, expected 12"),
        ("4206020010x8", r"positions \[11\]"),
        ("420602000008", "a village needs a township"),
        ("420602600000", "outside 001-599"),
        ("420602001600", "village part 600 is outside 001-599"),
        ("420012000000", "digits 5-6 must be 00"),
        ("420602099000", "township 420602099 is not in the NBS 2023-06-30 township list"),
        ("420602001999", "outside 001-599"),
        ("420602001300", "not in the NBS 2023-06-30 village list of Hubei"),
        ("999999000000", "county part 999999 is in neither"),
        ("420603001000", "420603 \\(樊东区\\) is now 420606 樊城区"),
        ("420606010000", "MCA uses 420606010 for 紫贞街道"),
    ],
)
def test_validate_10114_invalid(code: str, reason: str) -> None:
    with pytest.raises(InvalidInputError, match=reason) as exc:
        dv.validate_10114(code)
    assert exc.value.issues[0].field == "division_code"


def test_every_xiangyang_village_is_a_valid_10114_code() -> None:
    villages = [v for c in XIANGYANG_COUNTIES for t in dv.children(c, "NBS")
                for v in dv.children(t.code, "NBS")]
    for v in villages:
        assert dv.validate_10114(v.code).division == v


# ---------------------------------------------------------------- history: resolve and was_valid_in


def test_resolve_current_code_is_itself() -> None:
    r = dv.resolve("420602")
    assert r.status == "current" and r.successor == dv.get("420602") and r.chain == ()


def test_resolve_follows_a_chain_across_three_code_changes() -> None:
    # 枣阳: 襄阳地区 422522 → 襄樊市 420622 (1983) → 县级市 429003 (1988) → 420683 (1995)
    r = dv.resolve("422522")
    assert r.status == "changed"
    assert r.successor is not None and (r.successor.code, r.successor.name) == ("420683", "枣阳市")
    assert [(e.year, e.old_code, e.new_code) for e in r.chain] == [
        (1983, "422522", "420622"), (1988, "420622", "429003"), (1995, "429003", "420683")]
    assert "420683 枣阳市" in r.note


@pytest.mark.parametrize(
    ("old", "new", "why"),
    [
        ("420603", "420606", "1995 更名"),  # 樊东区 → 樊城区
        ("420604", "420606", "1995 撤销"),  # 樊西区 merged into 樊城区
        ("420621", "420607", "2010 更名"),  # 襄阳县 → 襄阳区 (2001) → 襄州区 (2010, same code)
        ("429002", "420682", "1995 同名改码"),  # 老河口市
        ("420623", "420684", "1994 撤县设市"),  # 宜城县 → 429017 → 420684
    ],
)
def test_resolve_xiangyang_history(old: str, new: str, why: str) -> None:
    r = dv.resolve(old)
    assert r.successor is not None and r.successor.code == new
    assert why in r.note


def test_resolve_abolished_without_successor() -> None:
    r = dv.resolve("420611")  # 襄樊市郊区, abolished 1995
    assert r.status == "abolished" and r.successors == ()
    assert "no current successor" in r.note and "420611" in r.note


def test_resolve_reused_code_is_ambiguous_until_a_year_is_given() -> None:
    # 332421 was 洞头县 until 1981, then 兰溪县 1982-1985 (codes were renumbered before 1984).
    r = dv.resolve("332421")
    assert r.status == "ambiguous" and r.successor is None
    assert {d.name for d in r.successors} == {"洞头区", "兰溪市"}
    assert "pass since=" in r.note
    assert dv.resolve("332421", since=1983).successor == dv.get("330781")  # 兰溪市
    assert dv.resolve("332421", since=1980).successor == dv.get("330305")  # 洞头区


def test_resolve_follows_a_code_reshuffle_by_name() -> None:
    # 1982 码位改派: 142121 went from 大同县 to 阳高县; 大同县 took 142132, later 140227, merged 2018.
    assert dv.resolve("142121", since=1981).successor == dv.get("140215")  # 云州区
    assert dv.resolve("142121", since=1990).successor == dv.get("140221")  # 阳高县


def test_resolve_unknown_and_nbs_only_codes() -> None:
    assert dv.resolve("999999").status == "unknown"
    r = dv.resolve("130171")
    assert r.status == "unknown" and "NBS" in r.note
    with pytest.raises(InvalidInputError, match="county-or-above"):
        dv.resolve("420602001")


def test_resolve_accepts_padded_code() -> None:
    assert dv.resolve("422522000000").successor == dv.get("420683")


def test_history_lists_events_oldest_first() -> None:
    events = dv.history("420607")
    assert [(e.year, e.type) for e in events] == [(2001, "撤县设区"), (2010, "更名")]
    assert str(events[1]) == "2010 更名: 420607 襄阳区 -> 420607 襄州区"


@pytest.mark.parametrize(
    ("code", "year", "expected"),
    [
        ("420603", 1983, False), ("420603", 1984, True), ("420603", 1995, True), ("420603", 1996, False),
        ("420606", 1994, False), ("420606", 1995, True), ("420606", 2026, True),
        ("420621", 2001, True), ("420621", 2002, False),
        ("420607", 2000, False), ("420607", 2001, True), ("420607", 2010, True),
        ("420602", 1990, True), ("110101", 1980, True),
        ("999999", 2000, False),
    ],
)
def test_was_valid_in(code: str, year: int, expected: bool) -> None:
    assert dv.was_valid_in(code, year) is expected


def test_was_valid_in_refuses_years_before_the_history() -> None:
    with pytest.raises(InvalidInputError, match="starts in 1980"):
        dv.was_valid_in("420602", 1970)


def _stdnum_ranges(code: str) -> list[tuple[int | None, int | None]]:
    """python-stdnum's validity ranges of a code, adjacent ranges (renames) merged."""
    info = {k: v for _p, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    out: list[tuple[int | None, int | None]] = []
    for item in info.get("county", "").split(","):
        a, b = item[1:].split("]")[0].split("-")
        lo, hi = int(a) if a else None, int(b) if b else None
        if out and out[-1][1] is not None and lo is not None and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


@pytest.mark.parametrize("code", ["420602", "420603", "420604", "420606", "420607", "420621", "420622",
                                  "420623", "110103"])
def test_validity_agrees_with_stdnum(code: str) -> None:
    assert list(dv.validity(code)) == _stdnum_ranges(code)


def test_cross_province_backfilled_merge_is_ignored() -> None:
    # The source links Chengdu's abolished 东城区 (510102, 1990) to Beijing's 110101 by name.
    assert dv.resolve("510102").successors == ()
    assert dv.was_valid_in("110101", 1985)


@given(st.sampled_from(sorted(dv._mca_upper().rows)))
def test_every_current_code_resolves_to_itself(code: str) -> None:
    assert dv.resolve(code).successors == (dv.get(code),)
    assert dv.was_valid_in(code, 2025)


@given(st.sampled_from(sorted(set(dv._history().by_old) - set(dv._mca_upper().rows))))
def test_resolved_successors_are_always_current(code: str) -> None:
    r = dv.resolve(code)
    assert all(d.valid and dv.is_valid_2260(d.code) for d in r.successors)
    assert r.status in ("changed", "ambiguous", "abolished")
    assert r.note
