"""The Chinese address parser: elements, tree levels, normalisation, bad input. Hand-written cases only."""

from __future__ import annotations

import io
import os
import random
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

from citybase.domains.addresses import (
    MAX_LENGTH,
    TREE_LEVELS,
    ParsedAddress,
    canonical,
    cn_to_int,
    crf,
    fold,
    inference,
    kernels,
    numerals_to_digits,
    parse,
    parse_many,
    tokens,
)
from citybase.domains.addresses import model as address_model
from citybase.domains.addresses.gazetteer import gazetteer
from citybase.kernel.errors import InvalidInputError

XY = "湖北省襄阳市樊城区人民路12号阳光小区3栋2单元502室"


def pairs(p: ParsedAddress) -> list[tuple[str, str]]:
    return [(e.label, e.text) for e in p.elements]


# ---------------------------------------------------------------- Xiangyang addresses


def test_full_xiangyang_address() -> None:
    p = parse(XY)
    assert pairs(p) == [("prov", "湖北省"), ("city", "襄阳市"), ("district", "樊城区"), ("road", "人民路"),
                        ("roadno", "12号"), ("poi", "阳光小区"), ("houseno", "3栋"), ("cellno", "2单元"),
                        ("roomno", "502室")]
    assert p.levels == {"province": "湖北省", "city": "襄阳市", "district": "樊城区", "road": "人民路",
                        "door_number": "12号", "compound": "阳光小区", "building": "3栋", "unit": "2单元",
                        "room": "502室"}
    assert p.inferred == ()
    assert list(p.levels) == [k for k in TREE_LEVELS if k in p.levels]
    assert p.standard == XY
    for e in p.elements:  # spans are offsets into the input
        assert XY[e.start:e.end] == e.text


def test_missing_province_and_city_are_inferred() -> None:
    p = parse("襄城区檀溪路")
    assert pairs(p) == [("district", "襄城区"), ("road", "檀溪路")]
    assert p.levels["province"] == "湖北省"
    assert p.levels["city"] == "襄阳市"
    assert set(p.inferred) == {"province", "city"}


def test_phone_number_and_name_mixed_in() -> None:
    p = parse("樊城区人民路12号阳光小区3栋2单元502室 张伟 13812345678")
    assert ("redundant", "13812345678") in pairs(p)
    assert ("person", "张伟") in pairs(p)
    assert p.levels["room"] == "502室"
    q = parse("收件人：李娜 电话：0710-3456789 襄阳市襄州区航空路8号")
    assert ("person", "李娜") in pairs(q)
    assert ("redundant", "0710-3456789") in pairs(q)
    assert q.levels["district"] == "襄州区"
    assert q.levels["road"] == "航空路"
    assert "door_number" in q.levels


def test_town_community_and_group() -> None:
    p = parse("湖北省襄阳市襄州区张家集镇八里岗村5组")
    labels = dict((e.label, e.text) for e in p.elements)
    assert labels["district"] == "襄州区"
    assert labels["town"] == "张家集镇"
    assert labels["community"] == "八里岗村"
    assert p.levels["town"] == "张家集镇"


def test_street_office_and_community() -> None:
    p = parse("襄阳市襄城区真武山街道檀溪社区檀溪路55号")
    labels = dict((e.label, e.text) for e in p.elements)
    assert labels["town"] == "真武山街道"
    assert labels["community"] == "檀溪社区"
    assert labels["road"] == "檀溪路"
    assert labels["roadno"] == "55号"


# ---------------------------------------------------------------- other element kinds


def test_floor_poi_person() -> None:
    p = parse("浙江省杭州市西湖区文三路90号东部软件园科技大厦5层某某科技有限公司")
    labels = dict((e.label, e.text) for e in p.elements)
    assert labels["road"] == "文三路"
    assert labels["roadno"] == "90号"
    assert labels["floorno"] == "5层"
    assert labels["person"].endswith("有限公司")
    assert p.levels["floor"] == "5层"


def test_devzone() -> None:
    p = parse("湖北省襄阳市高新技术产业开发区长虹路18号")
    labels = [e.label for e in p.elements]
    assert "devzone" in labels
    assert p.get("road") is not None and p.get("road").text == "长虹路"  # type: ignore[union-attr]


def test_dash_numbers_after_compound() -> None:
    p = parse("樊城区人民路阳光小区12-3-1001")
    labels = dict((e.label, e.value) for e in p.elements)
    assert labels["houseno"] == "12栋"
    assert labels["cellno"] == "3单元"
    assert labels["roomno"] == "1001室"
    assert ("redundant", "-") in pairs(p)


def test_assist_word() -> None:
    p = parse("襄阳市樊城区人民路沃尔玛超市门口")
    assert ("assist", "门口") in pairs(p)


def test_subroad() -> None:
    p = parse("杭州市余杭区文一西路与良睦路交叉口")
    assert p.get("road") is not None


def test_repeated_division_is_redundant() -> None:
    p = parse("浙江省杭州市余杭区杭州市余杭区五常街道文一西路969号")
    assert p.levels["city"] == "杭州市"
    assert p.levels["town"] == "五常街道"
    assert [e.label for e in p.elements].count("city") <= 1 or p.all("city")[1].level is None


# ---------------------------------------------------------------- normalisation


def test_chinese_numerals() -> None:
    assert cn_to_int("十二") == 12
    assert cn_to_int("二〇二") == 202
    assert cn_to_int("一百零五") == 105
    assert cn_to_int("十") == 10
    assert cn_to_int("两千") == 2000
    assert cn_to_int("路") is None
    assert numerals_to_digits("三号楼") == "3号楼"
    assert numerals_to_digits("十二层") == "12层"


@pytest.mark.parametrize(("kind", "text", "value"), [
    ("houseno", "三号楼", "3栋"), ("houseno", "3幢", "3栋"), ("houseno", "B座", "B栋"), ("houseno", "5栋", "5栋"),
    ("cellno", "二单元", "2单元"), ("cellno", "2门", "2单元"), ("floorno", "十二层", "12层"),
    ("floorno", "3楼", "3层"), ("roomno", "二〇二", "202室"), ("roomno", "502户", "502室"),
    ("roomno", "1203房", "1203室"), ("roadno", "１２号", "12号"), ("road", "江场三路", "江场三路"),
    ("floorno", "-1层", "B1层"), ("floorno", "－2楼", "B2层"), ("floorno", "B1层", "B1层"),
])
def test_canonical_values(kind: str, text: str, value: str) -> None:
    assert canonical(kind, text) == value


def test_numerals_in_parse_but_not_in_names() -> None:
    p = parse("樊城区人民路12号阳光小区三号楼二单元十二层五〇二室")
    assert p.levels["building"] == "3栋"
    assert p.levels["unit"] == "2单元"
    assert p.levels["floor"] == "12层"
    assert p.levels["room"] == "502室"
    q = parse("上海市静安区江场三路238号")
    assert q.levels["road"] == "江场三路"  # 三 in a road name stays


def test_full_width_and_traditional() -> None:
    assert fold("ＡＢ１２３－４") == "AB123-4"
    assert fold("襄陽市樊城區") == "襄阳市樊城区"
    assert len(fold("湖北省\u3000襄陽市")) == len("湖北省\u3000襄陽市")
    p = parse("湖北省襄陽市樊城區人民路１２號陽光小區３棟２單元５０２室")
    assert p.levels["city"] == "襄阳市"
    assert p.levels["district"] == "樊城区"
    assert p.levels["door_number"] == "12号"
    assert p.levels["building"] == "3栋"
    assert p.levels["room"] == "502室"
    assert p.get("city").text == "襄陽市"  # type: ignore[union-attr]  # spans keep the input


def test_whitespace_punctuation_and_controls() -> None:
    p = parse("  湖北省 襄阳市\t樊城区，人民路12号\x00阳光小区  ")
    assert p.levels["city"] == "襄阳市"
    assert p.levels["road"] == "人民路"
    assert p.levels["compound"] == "阳光小区"


def test_short_division_names_are_completed() -> None:
    assert gazetteer().complete("prov", "浙江") == "浙江省"
    p = parse("湖北襄阳樊城区人民路12号")
    assert p.levels.get("province") == "湖北省"
    assert p.levels.get("city") == "襄阳市"


def test_mixed_scripts() -> None:
    p = parse("襄阳市樊城区Wanda Plaza万达广场B座1203")
    assert p.levels["district"] == "樊城区"
    assert any(e.label in ("poi", "houseno", "roomno") for e in p.elements)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("bad", ["", "   ", "\x00\x01", "hello world", "!!!"])
def test_bad_input(bad: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse(bad)
    assert info.value.issues[0].field == "text"


def test_too_long_and_not_text() -> None:
    with pytest.raises(InvalidInputError) as info:
        parse("湖" * (MAX_LENGTH + 1))
    assert info.value.issues[0].field == "text"
    with pytest.raises(InvalidInputError):
        parse(None)  # type: ignore[arg-type]
    assert parse("路" * MAX_LENGTH).elements is not None


def test_batch_never_stops_on_a_bad_row() -> None:
    out = parse_many([XY, "", "襄城区檀溪路"])
    assert isinstance(out[0], ParsedAddress)
    assert isinstance(out[1], InvalidInputError)
    assert isinstance(out[2], ParsedAddress)


# ---------------------------------------------------------------- model and speed


def test_model_loads_offline_from_package_data() -> None:
    data = resources.files("citybase.domains.addresses").joinpath("data")
    assert data.joinpath(crf.NPZ_FILE).is_file()
    assert data.joinpath("gazetteer.tsv.gz").is_file()
    with resources.as_file(data.joinpath(crf.NPZ_FILE)) as path:
        assert path.stat().st_size < 2_000_000
    with resources.as_file(data.joinpath(address_model.MODEL_FILE)) as path:  # CRFsuite's, for the tests
        assert path.stat().st_size < 10_000_000  # the early-stopped model (100 iterations) is 5.2 MB
    assert set(crf.compiled().labels) >= {"B-road", "B-town", "B-poi"}


# ---------------------------------------------------------------- numpy inference = CRFsuite


def sample_addresses(n: int, seed: int = 7) -> list[str]:
    """Addresses assembled from hand-written parts (no corpus text), with noise: short names, full-width
    digits, spaces, phone numbers, repeats, Latin letters, Chinese numerals."""
    rng = random.Random(seed)
    heads = ["湖北省襄阳市", "湖北襄阳", "浙江省杭州市", "杭州", "上海市", "广东省深圳市", "", "襄阳市"]
    districts = ["樊城区", "襄城区", "襄州区", "余杭区", "西湖区", "静安区", "南山区", "高新区", ""]
    towns = ["张家集镇", "闲林街道", "真武山街道", "蒋村街道", ""]
    villages = ["八里岗村5组", "檀溪社区", "和睦村", ""]
    roads = ["人民路", "檀溪路", "文一西路", "江场三路", "深南大道", "航空路", "解放路辅路"]
    numbers = ["12号", "１２号", "238号", "8-2号", "一百零五号", "", "A12号"]
    pois = ["阳光小区", "万达广场", "西溪湿地公园", "Wanda Plaza", "华联商厦", "", "金色家园二期"]
    units = ["3栋2单元502室", "三号楼二单元十二层五〇二室", "B座1203", "5幢1单元", "2-1-301", "", "12楼"]
    tails = ["", "", " 张伟 13812345678", " 电话：0710-3456789", "（北门）", "附近"]
    out = []
    for _ in range(n):
        parts = [rng.choice(heads), rng.choice(districts), rng.choice(towns), rng.choice(villages),
                 rng.choice(roads), rng.choice(numbers), rng.choice(pois), rng.choice(units), rng.choice(tails)]
        if rng.random() < 0.1:
            parts.insert(3, parts[0])  # a repeated head
        if rng.random() < 0.2:
            parts = [p + " " if p and rng.random() < 0.3 else p for p in parts]
        out.append("".join(parts).strip() or "人民路")
    return out


def test_numpy_tags_equal_crfsuite() -> None:
    pytest.importorskip("pycrfsuite")
    texts = [*sample_addresses(400), XY, "襄城区檀溪路", "路" * 200, "1", "A1 B2 C3 号", "𠀀路12号 ²号"]
    folded = [fold(t) for t in texts]
    labels = crf.compiled().labels
    batch = address_model.tag_many(folded)  # the vectorised path (many tokens)
    for f, tags in zip(folded, batch, strict=True):
        reference = address_model.tag_crfsuite(f, address_model.tokenize(f))
        assert tags == reference, f
        assert address_model.tag_many([f])[0] == reference, f  # a batch of one
        assert [labels[k] for k in inference.tag_one(f, address_model.tokenize(f))] == reference, f  # parse()


def test_emissions_equal_the_string_features() -> None:
    """The integer features sum to the same scores as the model's attribute strings (both paths)."""
    m = crf.compiled()
    ref = resources.files("citybase.domains.addresses").joinpath("data", crf.NPZ_FILE)
    with np.load(io.BytesIO(ref.read_bytes())) as npz:
        row = {str(a): i for i, a in enumerate(npz["attrs"])}
    folded = [fold(t) for t in sample_addresses(60, seed=3)]
    many = inference.emissions(tokens.tokenize(folded), folded)  # > 256 tokens: the numpy path
    at = 0
    for f in folded:
        toks = address_model.tokenize(f)
        one = inference.emissions(tokens.tokenize([f]), [f])  # the small path
        single = inference.emissions_one(f, toks)  # one parse() call
        for i, feats in enumerate(address_model.features(f, toks)):
            want = sum((m.weights[row[a]] for a in feats if a in row), np.zeros(len(m.labels)))
            assert np.allclose(one[i], want, atol=1e-9), (f, i)
            assert np.allclose(single[i], want, atol=1e-9), (f, i)
            assert np.allclose(many[at + i], want, atol=1e-9), (f, i)
        at += len(toks)
    assert at == len(many)


def test_compiled_attribute_rows_equal_the_numpy_lookup() -> None:
    """kernels.attribute_rows (one probing pass) gives crf._rows' rows: present, absent and unseen keys."""
    m = crf.compiled()
    ntpl = m.mult.shape[1]
    rng = np.random.default_rng(1)
    keys = np.vstack([m.sorted_keys[rng.integers(0, len(m.sorted_keys), (50, 1))].repeat(ntpl, 1),
                      rng.integers(0, 2**40, (50, ntpl))])
    keys[:, m.dense_cols] %= len(m.dense_rows)
    want = crf._rows(m, keys)
    assert (inference._attribute_rows(m, keys) == want).all()
    assert (want != len(m.weights) - 1).any() and (want == len(m.weights) - 1).any()


def test_batch_tokens_gazetteer_and_repeats_equal_the_python_ones() -> None:
    texts = [*sample_addresses(200, seed=5), "宁波宁波市鄞州区", "杭州市余杭区杭州市余杭区", "号号", "12 12",
             "ab12CD 0012 0 𠀀x", "浙江省 杭州市"]
    folded = [fold(t) for t in texts]
    b = tokens.tokenize(folded)
    gz = gazetteer()
    ta, tb, tag = tokens.gaz_matches(inference.tables().gaz, b)
    names = inference.tables().gaz.tag_names
    got = sorted(zip(ta.tolist(), tb.tolist(), [names[k] for k in tag.tolist()], strict=True))
    want = []
    with_repeats = set()
    for a, f in enumerate(folded):
        toks = b.tokens(a)
        assert toks == address_model.tokenize(f), f
        first = int(b.first[a])
        starts = {s: k for k, (s, _, _) in enumerate(toks)}
        ends = {e: k for k, (_, e, _) in enumerate(toks)}
        for s, e, t in gz.raw(f):
            if s in starts and e in ends:
                want.append((first + starts[s], first + ends[e], t))
        if any(address_model.repeat_marks(f, toks)):
            with_repeats.add(a)
    assert got == sorted(want)
    assert set(tokens.repeat_candidates(b).tolist()) == with_repeats
    assert len(with_repeats) >= 3
    # the compiled marks (all addresses, not only the candidates) equal the Python rule's
    every = np.arange(len(folded), dtype=np.int64)
    codes = kernels.repeat_marks(b.cps, b.base, b.length, b.first, b.count, b.start, b.end, every).tolist()
    names = ["", "inrep", *(f"rep={k}" for k in range(2, 7))]
    want_marks = [m for a, f in enumerate(folded) for m in address_model.repeat_marks(f, b.tokens(a))]
    assert [names[c] for c in codes] == want_marks
    assert {"inrep", "rep=2"} <= set(want_marks)


def test_batch_equals_single() -> None:
    texts = [*sample_addresses(300, seed=11), "", None, "hello", XY]
    batch = parse_many(texts)  # type: ignore[arg-type]
    for text, got in zip(texts, batch, strict=True):
        try:
            want = parse(text)  # type: ignore[arg-type]
        except InvalidInputError as exc:
            assert isinstance(got, InvalidInputError)
            assert got.issues == exc.issues
            continue
        assert isinstance(got, ParsedAddress)
        assert got.as_dict() == want.as_dict()
    assert parse_many([]) == []


def test_normalisation_is_cached_and_stable() -> None:
    assert canonical("roomno", "五〇二室") == "502室"
    assert canonical("roomno", "五〇二室") == "502室"  # second call from the cache, same value
    assert canonical("houseno", "３号楼") == "3栋"
    assert canonical("cellno", "２门") == "2单元"
    assert fold("１２号－３") == "12号-3"


def test_thousand_parses_run() -> None:
    texts = [f"湖北省襄阳市樊城区人民路{i}号阳光小区{i % 9 + 1}栋{i % 3 + 1}单元{i % 30 + 101}室" for i in range(1000)]
    out = [parse(t) for t in texts]
    assert all(p.levels.get("road") == "人民路" for p in out)
    assert sum(p.levels.get("door_number") == f"{i}号" for i, p in enumerate(out)) >= 990


def test_the_parser_works_where_numba_cannot_cache(tmp_path: Path) -> None:
    """A read-only install run by a user without a home directory: numba finds no cache directory
    (simulated by allowing only numba's IPython locator) and the kernels compile per process instead."""
    env = {**os.environ, "NUMBA_CACHE_LOCATOR_CLASSES": "IPythonCacheLocator", "OPENBLAS_NUM_THREADS": "1"}
    code = "from citybase.domains.addresses import parse; print(parse('襄城区檀溪路12号3栋').levels['building'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                         cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "3栋"


WARM_CHECK = """
import sys
from fastapi.testclient import TestClient
from citybase.domains.addresses import crf, kernels
from citybase.platform import Platform
from citybase.kernel.settings import load_settings
from citybase.web.app import create_app
tmp = sys.argv[1]
platform = Platform(load_settings(data_dir=tmp + "/data", database_url=f"sqlite:///{tmp}/c.db", job_workers=0,
                                  log_json=False))
platform.init(admin_password="warm-check-password")
assert not kernels.tag_batch.signatures and crf.compiled.cache_info().currsize == 0
with TestClient(create_app(platform)):  # the server's start-up: lifespan
    compiled = [k for k in ("tag_batch", "template_rows", "gazetteer_hits", "repeat_marks")
                if getattr(kernels, k).signatures]
    print(",".join(compiled), crf.compiled.cache_info().currsize)
"""


def test_a_server_warms_the_parser_before_its_first_request(tmp_path: Path) -> None:
    """The app's start-up loads the model and compiles the kernels of both parse paths, so the first
    geocode does not wait for numba (seconds on a new installation)."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", WARM_CHECK, str(tmp_path)], env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["tag_batch,template_rows,gazetteer_hits,repeat_marks", "1"]
