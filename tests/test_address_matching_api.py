"""Parsing, matching, geocoding, reverse, suggest, batch files and the review queue over HTTP (both databases)."""

from __future__ import annotations

import csv
import io
import time

import pytest

from citybase.domains.access import SYSTEM
from citybase.domains.addresses.interchange import import_text
from citybase.domains.addresses.matching import Matched
from citybase.domains.addresses.registry import AddressRecord
from citybase.platform import Platform
from tests.address_fixtures import registry_csv
from tests.helpers import Api


def load_registry(platform: Platform) -> None:
    """The fixture tree through the interchange CSV, then 红旗路 renamed 人民路 (the old name stays an alias)."""
    report = import_text(platform.addresses, SYSTEM, registry_csv(), "utf-8")
    assert report.failed == 0, report.as_dict()
    road = next(r for r in platform.addresses.iter_records(levels=["road"]) if r.parts["road"] == "红旗路")
    platform.addresses.rename(SYSTEM, road.id, "人民路")


@pytest.fixture
def city(platform: Platform, admin_api: Api) -> Api:
    load_registry(platform)
    return admin_api


def run_jobs(platform: Platform) -> None:
    while platform.jobs.run_one() is not None:
        pass


def test_parse_one_and_a_batch(api: Api) -> None:
    r = api.post("/api/addresses/parse", json={"text": "樊城区人民路12号三号楼二单元502室"})
    assert r.status_code == 200, r.text
    assert r.json()["levels"]["building"] == "3栋" and r.json()["levels"]["unit"] == "2单元"
    r = api.post("/api/addresses/parse", json={"texts": ["人民路12号", "", "hello", "x" * 600, 42]})
    items = r.json()["items"]
    assert items[0]["levels"]["door_number"] == "12号"
    assert [i["error"]["issues"][0]["field"] for i in items[1:]] == ["text"] * 4
    assert "500" in items[3]["error"]["issues"][0]["reason"]
    assert api.post("/api/addresses/parse", json={}).status_code == 400
    assert api.post("/api/addresses/parse", json={"texts": ["a"] * 1001}).status_code == 400


def test_match_batch(city: Api) -> None:
    r = city.post(
        "/api/addresses/match",
        json={
            "addresses": [
                "湖北省襄阳市樊城区人民路12号2栋1单元502室",
                "襄州区人民路14号1栋",
                "人名路12号2栋",
                "红旗路12号",
                "人民路99号",
                "长征路7号",
                "",
                "😀😀😀",
            ],
            "candidates": True,
        },
    )
    assert r.status_code == 200, r.text
    exact, wrong_district, typo, alias, absent, dup, empty, absurd = r.json()["items"]
    assert exact["status"] == "matched" and exact["level"] == "room" and exact["score"] == 1.0
    assert exact["matched_id"].startswith("SRC-") and exact["full_address"].endswith("12号2栋1单元5层502室")
    assert exact["lon"] == pytest.approx(112.1) and exact["lat"] == pytest.approx(32.0004)
    assert wrong_district["status"] == "matched" and "襄州区" in wrong_district["explanation"]
    assert typo["level"] == "building" and "typo" in typo["explanation"]
    assert alias["status"] == "matched" and "alias" in alias["explanation"]
    assert absent["status"] == "partial" and absent["level"] == "road" and absent["score"] < 0.6
    assert dup["status"] == "ambiguous" and len(dup["candidates"]) >= 2
    assert empty["status"] == "error" and empty["error"]["issues"][0]["field"] == "text"
    assert absurd["status"] == "error"


def test_geocode_reverse_suggest(city: Api) -> None:
    r = city.get("/api/addresses/geocode", params={"q": "檀溪路88号2栋"})
    assert r.status_code == 200, r.text
    best = r.json()["items"][0]
    assert r.json()["status"] == "matched" and best["level"] == "building" and best["score"] == 1.0
    assert best["full_address"].endswith("檀溪路88号2栋") and best["community"] == "檀溪社区"
    r = city.get("/api/addresses/reverse", params={"lon": 112.12, "lat": 32.0004, "k": 2})
    assert r.status_code == 200, r.text
    near = r.json()["items"]
    assert near[0]["full_address"].endswith("檀溪路88号2栋") and near[0]["distance_m"] < 1
    assert near[0]["community"] == "檀溪社区" and near[0]["grid"]
    assert city.get("/api/addresses/reverse", params={"lon": 500, "lat": 32}).status_code in (400, 422)
    r = city.get("/api/addresses/suggest", params={"q": "人民路1"})
    assert [i["text"][-3:] for i in r.json()["items"][:2]] == ["12号", "14号"]
    assert city.get("/api/addresses/suggest", params={"q": " "}).status_code == 400


def test_index_is_rebuilt_after_a_registry_change(city: Api, platform: Platform) -> None:
    platform.address_matcher.check_seconds = 0
    assert city.get("/api/addresses/geocode", params={"q": "幸福路88号"}).json()["status"] == "unmatched"
    road = next(r for r in platform.addresses.iter_records(levels=["road"]) if r.parts["road"] == "檀溪路")
    platform.addresses.rename(SYSTEM, road.id, "幸福路")
    assert city.get("/api/addresses/geocode", params={"q": "幸福路88号"}).json()["status"] == "matched"
    assert city.get("/api/addresses/geocode", params={"q": "檀溪路88号"}).json()["items"][0]["level"] == "door_number"


def _upload(api: Api, name: str, data: bytes) -> dict:
    r = api.post("/api/addresses/match/jobs", files={"file": (name, data, "text/plain")})
    assert r.status_code == 202, r.text
    return r.json()


def _result(api: Api, platform: Platform, job_id: int) -> list[dict[str, str]]:
    run_jobs(platform)
    job = api.get(f"/api/jobs/{job_id}").json()
    assert job["state"] == "succeeded", job
    r = api.get(f"/api/addresses/match/jobs/{job_id}/result.csv")
    assert r.status_code == 200 and r.content.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_match_file_gbk_csv_with_bad_rows(city: Api, platform: Platform) -> None:
    text = (
        "编号,address\n1,樊城区人民路12号2栋\n2,\n3,人民路,14号\n4\n5,人民路99号\n6," + "路" * 600 + "\n"
        "7,檀溪路88号1栋\n"
    )
    job = _upload(city, "地址.csv", text.encode("gbk"))
    rows = _result(city, platform, job["id"])
    assert [r["status"] for r in rows] == ["matched", "error", "error", "error", "partial", "error", "matched"]
    assert rows[0]["full_address"].endswith("人民路12号2栋") and rows[0]["level"] == "building"
    assert "header has 2" in rows[2]["explanation"] and "500" in rows[5]["explanation"]
    result = city.get(f"/api/jobs/{job['id']}").json()["result"]
    assert result["encoding"] == "gbk" and result["rows"] == 7 and result["counts"]["error"] == 4
    assert {e["record"] for e in result["row_errors"]} == {2, 3, 4, 6}


def test_match_file_text_lines_and_bad_files(city: Api, platform: Platform) -> None:
    job = _upload(city, "list.txt", "人民路14号\n阳光花园3号楼\n".encode())
    rows = _result(city, platform, job["id"])
    assert [(r["status"], r["level"]) for r in rows] == [("matched", "door_number"), ("matched", "building")]
    bad = _upload(city, "bad.csv", b"id,name\n1,x\n")
    run_jobs(platform)
    failed = city.get(f"/api/jobs/{bad['id']}").json()
    assert failed["state"] == "failed" and failed["errors"][0]["field"] == "address"
    assert city.get(f"/api/addresses/match/jobs/{bad['id']}/result.csv").status_code == 404
    assert city.post("/api/addresses/match/jobs", files={"file": ("e.txt", b"", "text/plain")}).status_code == 400


def test_review_queue(city: Api, platform: Platform) -> None:
    r = city.post(
        "/api/addresses/review",
        json={"addresses": ["人民路99号", "长征路7号", "人民路12号"], "source": "教育局学籍系统"},
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["queued"]) == 2 and r.json()["matched"] == 1
    listed = city.get("/api/addresses/review").json()
    assert listed["total"] == 2 and {i["status"] for i in listed["items"]} == {"partial", "ambiguous"}
    dup = next(i for i in listed["items"] if i["status"] == "ambiguous")
    assert dup["source"] == "教育局学籍系统" and len(dup["candidates"]) >= 2
    closed = city.post(f"/api/addresses/review/{dup['id']}/close", json={"node_id": dup["candidates"][1]["node_id"]})
    assert closed.status_code == 200 and closed.json()["state"] == "resolved"
    assert city.post(f"/api/addresses/review/{dup['id']}/close", json={}).status_code == 409
    assert (
        city.post(f"/api/addresses/review/{listed['items'][0]['id']}/close", json={"node_id": 99999999}).status_code
        == 404
    )
    assert city.get("/api/addresses/review").json()["total"] == 1
    assert city.get("/api/addresses/review", params={"state": "bogus"}).status_code == 400
    city.anonymous()
    assert city.get("/api/addresses/review").status_code == 401


def test_matching_speed_is_sane(city: Api, platform: Platform) -> None:
    platform.address_matcher.index()
    start = time.perf_counter()
    for _ in range(50):
        platform.address_matcher.match("樊城区人民路12号2栋1单元502室")
    assert (time.perf_counter() - start) / 50 < 0.05


def test_bulk_record_read_and_match_many_reads_records_once(
    city: Api, platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    service, matcher = platform.addresses, platform.address_matcher
    rooms = [r for r in service.iter_records(levels=["room"])][:3]
    ids = [r.id for r in rooms]
    found = service.records([ids[2], ids[0], ids[2], 10**9])
    assert sorted(found) == sorted([ids[0], ids[2]])  # a duplicate read once, an unknown id left out
    assert found[ids[0]] == service.record(ids[0]) and found[ids[2]].full_address == rooms[2].full_address
    assert service.records([]) == {}

    reads: list[list[int]] = []
    real = service.records

    def counted(wanted: list[int]) -> dict[int, AddressRecord]:  # the real registry read, counted
        reads.append(list(wanted))
        return real(wanted)

    def one_by_one(node_id: int) -> None:
        raise AssertionError(f"record({node_id}) read one by one")

    monkeypatch.setattr(service, "records", counted)
    monkeypatch.setattr(service, "record", one_by_one)
    matcher.refresh()
    texts = ["樊城区人民路12号2栋1单元502室", "人民路99号", "人民路12号2栋1单元502室", 7, "长征路7号"]
    out = matcher.match_many(texts)
    assert len(reads) == 1 and len(reads[0]) == len(set(reads[0]))
    exact, absent, again, bad, dup = out
    assert isinstance(exact, Matched) and isinstance(absent, Matched) and isinstance(again, Matched)
    assert isinstance(dup, Matched)
    assert exact.record is not None and exact.record.full_address.endswith("12号2栋1单元5层502室")
    assert again.record == exact.record and absent.result.status == "partial"
    assert isinstance(bad, Exception)
    assert dup.result.status == "ambiguous" and dup.record is not None
    matcher.match_many(texts)
    assert len(reads) == 1  # the records read are cached with the index

    # a node retired after the index was built: its row says so, the others are answered
    monkeypatch.setattr(service, "records", lambda wanted: {})
    matcher._records.clear()
    gone = matcher.match_many(["樊城区人民路12号2栋1单元502室", "火星路1号"])
    assert type(gone[0]).__name__ == "NotFoundError" and "no address node" in str(gone[0])
    assert isinstance(gone[1], Matched) and gone[1].result.best is None and gone[1].record is None
