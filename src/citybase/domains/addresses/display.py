"""Display codes of address nodes: a configurable template over the division code (STANDARDS.md §4).

The default ``{division}{level}{serial:06d}`` gives 20 digits: the 12-digit division code the node
lies in (GB/T 2260 county + GB/T 10114 town and community, right-padded with zeros), a 2-digit level
code and a 6-digit serial per division and level that is never handed out twice. See
docs/address-registry.md for every field a template may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from string import Formatter

from citybase.kernel.errors import ConfigurationError

DEFAULT_TEMPLATE = "{division}{level}{serial:06d}"
MAX_LENGTH = 40

# First digit: the class of GA/T 2000.32-2014 where it has one (1x divisions, 2x town, 3x community,
# 4x road/compound); 5x-9x are citybase's own (that part of the standard's table was not found).
LEVEL_CODES: dict[str, str] = {
    "province": "11",
    "city": "12",
    "district": "13",
    "town": "20",
    "community": "30",
    "road": "41",
    "compound": "42",
    "door_number": "50",
    "building": "60",
    "unit": "70",
    "floor": "80",
    "room": "90",
}
FIELDS = ("division", "county", "town", "community", "level", "level_name", "serial", "id")


@dataclass(frozen=True, slots=True)
class DisplayCodeTemplate:
    template: str = DEFAULT_TEMPLATE

    def __post_init__(self) -> None:
        names = {f for _, f, _, _ in Formatter().parse(self.template) if f is not None}
        unknown = names - set(FIELDS)
        if unknown:
            raise ConfigurationError(f"address code template uses unknown fields {sorted(unknown)}; known: {FIELDS}")
        if not names & {"serial", "id"}:
            raise ConfigurationError("address code template needs {serial} or {id}, or codes would repeat")
        sample = self.render("420602001008", "room", 999_999, 10**12)
        if len(sample) > MAX_LENGTH:
            raise ConfigurationError(f"address code template makes codes longer than {MAX_LENGTH} characters")

    def render(self, division: str | None, level: str, serial: int, node_id: int) -> str:
        d = (division or "").ljust(12, "0")[:12]
        return self.template.format(
            division=d,
            county=d[:6],
            town=d[6:9],
            community=d[9:12],
            level=LEVEL_CODES[level],
            level_name=level,
            serial=serial,
            id=node_id,
        )
