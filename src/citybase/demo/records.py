"""What the generator hands to the writer: records in parent levels, and who owns each class.

A :class:`Bundle` holds the objects of one area in up to four levels. A record at level 0 names its
parent by object id (an already written division) or not at all; a record at level k > 0 names its
parent by index into level k-1 of the same bundle (compound -> building -> unit -> room). The writer
inserts level by level and turns indexes into ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from shapely.geometry.base import BaseGeometry

LEVELS = 4


class Record(NamedTuple):
    class_code: str
    name: str
    geometry: BaseGeometry | None
    attributes: dict[str, Any]
    parent: int | None = None


@dataclass(slots=True)
class Bundle:
    levels: list[list[Record]] = field(default_factory=lambda: [[] for _ in range(LEVELS)])

    def add(self, level: int, record: Record) -> int:
        """Append a record; returns its index within its level (for children to point at)."""
        self.levels[level].append(record)
        return len(self.levels[level]) - 1

    def extend(self, level: int, records: list[Record]) -> None:
        self.levels[level].extend(records)

    def __len__(self) -> int:
        return sum(len(level) for level in self.levels)


@dataclass(frozen=True, slots=True)
class DemoDepartment:
    code: str
    name: str
    name_en: str
    classes: tuple[str, ...]
    division_code: str = "420600"


# 一数一源: each class has one authoritative department.
DEPARTMENTS: tuple[DemoDepartment, ...] = (
    DemoDepartment(
        "zrzy",
        "襄阳市自然资源和规划局",
        "Natural Resources and Planning Bureau",
        ("070101", "070102", "070103", "020101", "040201", "090101"),
    ),
    DemoDepartment(
        "zjj",
        "襄阳市住房和城乡建设局",
        "Housing and Urban-Rural Development Bureau",
        ("050101", "050102", "050103", "050301"),
    ),
    DemoDepartment("gaj", "襄阳市公安局", "Public Security Bureau", ("050201", "060101")),
    DemoDepartment(
        "cgj",
        "襄阳市城市管理执法局",
        "Urban Management and Law Enforcement Bureau",
        ("010301", "010101", "010201", "010202", "030101", "040101"),
    ),
    DemoDepartment("xfzd", "襄阳市消防救援支队", "Fire and Rescue Detachment", ("010102",)),
    DemoDepartment("jtj", "襄阳市交通运输局", "Transport Bureau", ("020301",)),
    DemoDepartment("sjj", "襄阳市数据局", "Data Bureau (platform operator)", ("060201",)),
    DemoDepartment("zwsjd", "襄城区真武山街道办事处", "Zhenwushan Street Office (grid management)", (), "420602001"),
    # Address naming (issue 5): 民政 approves names and records standard addresses; a developer proposes
    # compound names.
    DemoDepartment("mzj", "襄阳市民政局", "Civil Affairs Bureau (place names and addresses)", ()),
    DemoDepartment("hjzy", "襄阳汉江置业有限公司", "Hanjiang Property Co. (a developer, demo)", ()),
    # Population statistics (issue 6): the education bureau reads school-age counts, never personal data.
    DemoDepartment("jyj", "襄阳市教育局", "Education Bureau (school-age statistics)", ()),
    # Actual organisations (issue 6): market regulation registers businesses and reviews their bindings.
    DemoDepartment("scjgj", "襄阳市市场监督管理局", "Market Regulation Administration", ()),
)
OWNER: dict[str, str] = {cls: d.code for d in DEPARTMENTS for cls in d.classes}
