"""The three scales of the demo city and what each one builds."""

from __future__ import annotations

from dataclasses import dataclass

from citybase.kernel.errors import InvalidInputError, Issue

SEED = 20_240_601  # the demo city's fixed seed: the same seed builds the same city
SCALES = ("tiny", "demo", "city")
URBAN_DISTRICTS = ("420602", "420606", "420607")


@dataclass(frozen=True, slots=True)
class ScaleProfile:
    """What a scale builds. Urban communities (社区) are built where three areas meet: the community's
    polygon, a disc of ``reach`` round its seed, and (when set) a core disc round the district seat
    (communities of 街道/城关镇) or the town's seed (others)."""

    name: str
    division_districts: tuple[str, ...] | None  # streets/communities drawn here (None: all nine)
    built_districts: tuple[str, ...] | None  # urban communities built here (None: all)
    built_kinds: tuple[str, ...] | None  # kinds of street whose communities are built (None: all)
    core_m: float | None  # radius of the built core round a district seat or town (None: no limit)
    urban_reach_m: float  # radius built round the seed of a community of a 街道 or 城关镇
    town_reach_m: float  # ... of a 社区 in a town, development zone or farm
    rooms_within_m: float | None  # units and rooms only for buildings this close to the core's centre
    village_houses: tuple[int, int]  # houses per village, low and high (0, 0: none)
    validate_all: bool  # validate every record against its class (else a sample)


PROFILES: dict[str, ScaleProfile] = {
    "tiny": ScaleProfile(
        "tiny",
        ("420602",),
        ("420602",),
        ("urban",),
        core_m=260.0,
        urban_reach_m=600.0,
        town_reach_m=400.0,
        rooms_within_m=None,
        village_houses=(0, 0),
        validate_all=True,
    ),
    "demo": ScaleProfile(
        "demo",
        None,
        URBAN_DISTRICTS,
        ("urban",),
        core_m=1600.0,
        urban_reach_m=600.0,
        town_reach_m=400.0,
        rooms_within_m=500.0,
        village_houses=(1, 3),
        validate_all=False,
    ),
    "city": ScaleProfile(
        "city",
        None,
        None,
        None,
        core_m=None,
        urban_reach_m=600.0,
        town_reach_m=440.0,
        rooms_within_m=None,
        village_houses=(150, 350),
        validate_all=False,
    ),
}


def profile(scale: str) -> ScaleProfile:
    try:
        return PROFILES[scale]
    except KeyError:
        raise InvalidInputError(
            "unknown demo scale", issues=[Issue("scale", f"{scale!r} is not one of {', '.join(SCALES)}")]
        ) from None
