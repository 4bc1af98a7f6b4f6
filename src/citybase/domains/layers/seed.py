"""The layers ``citybase init`` publishes: one public class layer per seeded class."""

from __future__ import annotations

from typing import Any

# class code -> (name, title, MapLibre style fragment)
_POINT = "circle"
SEED_LAYERS: dict[str, tuple[str, str, str]] = {
    "010101": ("water-covers", "上水井盖", _POINT),
    "010102": ("hydrants", "消防栓", _POINT),
    "010201": ("storm-covers", "雨水井盖", _POINT),
    "010202": ("sewer-covers", "污水井盖", _POINT),
    "010301": ("street-lamps", "路灯", _POINT),
    "020101": ("roads", "道路", "line"),
    "020201": ("bridges", "桥梁", "line"),
    "020301": ("bus-stops", "公交站", _POINT),
    "030101": ("litter-bins", "垃圾箱", _POINT),
    "040101": ("street-trees", "行道树", _POINT),
    "040201": ("green-spaces", "绿地", "fill"),
    "050101": ("buildings", "建筑物", "fill-extrusion"),
    "050102": ("building-units", "单元", _POINT),
    "050103": ("rooms", "户室", _POINT),
    "050201": ("door-plates", "门牌", _POINT),
    "050301": ("compounds", "小区", "fill"),
    "060101": ("cameras", "视频监控", _POINT),
    "060201": ("iot-sensors", "物联感知设备", _POINT),
    "070101": ("districts", "区县", "line"),
    "070102": ("subdistricts", "乡镇街道", "line"),
    "070103": ("communities", "社区村", "line"),
    "070201": ("grids", "网格", "line"),
    "080101": ("organisations", "单位", _POINT),
    "090101": ("water", "水域", "fill"),
}

_PAINT: dict[str, dict[str, Any]] = {
    "circle": {
        "circle-radius": 4,
        "circle-color": "#d9480f",
        "circle-stroke-color": "#ffffff",
        "circle-stroke-width": 1,
    },
    "line": {"line-color": "#495057", "line-width": 1.5},
    "fill": {"fill-color": "#74c0fc", "fill-opacity": 0.5, "fill-outline-color": "#1c7ed6"},
    "fill-extrusion": {
        "fill-extrusion-color": "#f8f9fa",
        "fill-extrusion-height": ["coalesce", ["get", "height_m"], ["*", ["get", "floors"], 3]],
        "fill-extrusion-opacity": 0.9,
    },
}


def seed_style(kind: str) -> dict[str, Any]:
    return {"type": kind, "paint": dict(_PAINT[kind])}
