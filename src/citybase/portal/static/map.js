// The map: a style with no external source; the platform's own `basemap` vector tiles (one MVT layer per class).
/* global maplibregl */
import { api, session } from "./api.js";

export const START = { center: [112.14, 32.04], zoom: 12 }; // 襄城区 / 樊城区
export const LIMIT = 5000; // most features one request asks for
const BOUNDARY_MINZOOM = 0;
// Relative to this server, so the portal works offline; tiles above z16 are drawn from z16 tiles (overzoom).
export const TILES = `${location.origin}/api/tiles/basemap/{z}/{x}/{y}.mvt`;
const TILE_MAXZOOM = 16;
// Extrusion height: height_m, else floors × floor height (3 m by default), else 10 m.
export const HEIGHT = ["case", ["has", "height_m"], ["get", "height_m"],
  ["has", "floors"], ["*", ["get", "floors"], ["coalesce", ["get", "floor_height_m"], 3]], 10];

// One entry per class, bottom to top: a layer of the basemap tiles, drawn from `minzoom` (the tileset's own).
export const LAYERS = [
  { code: "090101", group: "base", kind: "fill", color: "#aed2ea", outline: "#8dbbd9", load: "once" },
  { code: "040201", group: "base", kind: "fill", color: "#cde6bd", outline: "#b2d49e", load: "view", minzoom: 11 },
  { code: "050301", group: "base", kind: "fill", color: "#f1e9dc", outline: "#d8c6a8", load: "view", minzoom: 13 },
  { code: "020101", group: "base", kind: "road", color: "#ffffff", outline: "#c9bfae", load: "view", minzoom: 11 },
  { code: "050101", group: "base", kind: "building", color: "#dcd3ca", outline: "#b3a599", load: "view", minzoom: 14 },
  { code: "070103", group: "boundaries", kind: "boundary", color: "#9a86bf", width: 0.8, dash: [2, 2], load: "once" },
  { code: "070102", group: "boundaries", kind: "boundary", color: "#7d64ab", width: 1.3, dash: [4, 2], load: "once" },
  { code: "070101", group: "boundaries", kind: "boundary", color: "#5b3f8c", width: 2.4, load: "once" },
  { code: "050201", group: "facilities", kind: "point", color: "#8d6e63", load: "view", minzoom: 15 },
  { code: "040101", group: "facilities", kind: "point", color: "#388e3c", load: "view", minzoom: 15 },
  { code: "010301", group: "facilities", kind: "point", color: "#f2a900", load: "view", minzoom: 15 },
  { code: "010101", group: "facilities", kind: "point", color: "#1e88e5", load: "view", minzoom: 15 },
  { code: "010201", group: "facilities", kind: "point", color: "#00897b", load: "view", minzoom: 15 },
  { code: "010202", group: "facilities", kind: "point", color: "#6d4c41", load: "view", minzoom: 15 },
  { code: "010102", group: "facilities", kind: "point", color: "#e53935", load: "view", minzoom: 15 },
  { code: "020301", group: "facilities", kind: "point", color: "#3949ab", load: "view", minzoom: 15 },
  { code: "060101", group: "facilities", kind: "point", color: "#8e24aa", load: "view", minzoom: 15 },
  { code: "060201", group: "facilities", kind: "point", color: "#00acc1", load: "view", minzoom: 15 },
];

const ROAD_FILL = ["match", ["get", "road_class"], "快速路", "#f7cf7c", "主干路", "#fde6a6", "#ffffff"];
const ROAD_RANK = ["match", ["get", "road_class"], "快速路", 4, "主干路", 3, "次干路", 2, "支路", 1.3, 1];
const ZOOMED = (rank, at11, at18) => ["interpolate", ["exponential", 1.6], ["zoom"], 11, ["*", rank, at11],
  18, ["*", rank, at18]];
const WHITE_MODEL = "#f7f7f4";
const BUILDING_USE = ["match", ["get", "use"], "住宅", "#e3d6c8", "商业", "#efd2bd", "商住混合", "#ead3c0",
  "办公", "#d3d9e3", "公共服务", "#dccfe3", "工业", "#d6d3cc", "#dcd3ca"];

/** Style layers of one class; ids start with the class code so a click knows the class. */
function styleLayers(def) {
  const base = { source: "basemap", "source-layer": def.code, minzoom: def.minzoom ?? BOUNDARY_MINZOOM };
  const id = def.code;
  switch (def.kind) {
    case "fill":
      return [{ ...base, id, type: "fill", paint: { "fill-color": def.color, "fill-outline-color": def.outline } }];
    case "building":
      return [
        { ...base, id, type: "fill", paint: { "fill-color": BUILDING_USE, "fill-outline-color": def.outline } },
        { ...base, id: `${id}-3d`, type: "fill-extrusion", layout: { visibility: "none" },
          // White models (白模): one neutral colour, so shape and height read, not use.
          paint: { "fill-extrusion-color": ["case", ["boolean", ["feature-state", "selected"], false], "#f08c4a",
            WHITE_MODEL], "fill-extrusion-height": HEIGHT,
            "fill-extrusion-opacity": 0.95, "fill-extrusion-vertical-gradient": true } },
      ];
    case "road":
      return [
        { ...base, id: `${id}-casing`, type: "line", layout: { "line-cap": "round", "line-join": "round" },
          paint: { "line-color": def.outline, "line-width": ZOOMED(ROAD_RANK, 1.6, 14) } },
        { ...base, id, type: "line", layout: { "line-cap": "round", "line-join": "round" },
          paint: { "line-color": ROAD_FILL, "line-width": ZOOMED(ROAD_RANK, 0.8, 11) } },
      ];
    case "boundary":
      return [{ ...base, id, type: "line", layout: { "line-join": "round" },
        paint: { "line-color": def.color, "line-width": def.width,
          ...(def.dash ? { "line-dasharray": def.dash } : {}) } }];
    default:
      return [{ ...base, id, type: "circle", paint: {
        "circle-color": def.color, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.2,
        "circle-radius": ["interpolate", ["linear"], ["zoom"], 15, 3.5, 19, 8] } }];
  }
}

/** A style with the basemap alone (flat buildings): the swipe-compare maps (swipe.js) start from it. */
export function baseStyle() {
  const layers = LAYERS.flatMap((def) => styleLayers(def)).filter((l) => l.type !== "fill-extrusion");
  return { version: 8, light: { anchor: "viewport", intensity: 0.3 },
    sources: { basemap: { type: "vector", tiles: [TILES], minzoom: 0, maxzoom: TILE_MAXZOOM } },
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f2ee" } }, ...layers] };
}

/** MapLibre's transformRequest: tiles are API calls, so send the login (when there is one) like every request. */
export function authorizeTiles(url) {
  return /^\/(api|ogc)\//.test(url.slice(location.origin.length)) && url.startsWith(location.origin) && session.token()
    ? { url, headers: { Authorization: `Bearer ${session.token()}` } } : { url };
}

const SELECTION_LAYERS = [
  { id: "selection-fill", type: "fill", source: "selection", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": "#e8590c", "fill-opacity": 0.18 } },
  { id: "selection-line", type: "line", source: "selection", filter: ["!=", ["geometry-type"], "Point"],
    paint: { "line-color": "#e8590c", "line-width": 3 } },
  { id: "selection-point", type: "circle", source: "selection", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 10, "circle-color": "rgba(232,89,12,0.15)", "circle-stroke-color": "#e8590c",
      "circle-stroke-width": 2.5 } },
];

const EMPTY = { type: "FeatureCollection", features: [] };
const WORLD = [-180, -90, 180, 90];

/** [minx, miny, maxx, maxy] of any GeoJSON geometry. */
export function geometryBounds(geometry) {
  const box = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === "number") {
      box[0] = Math.min(box[0], c[0]); box[1] = Math.min(box[1], c[1]);
      box[2] = Math.max(box[2], c[0]); box[3] = Math.max(box[3], c[1]);
    } else c.forEach(walk);
  };
  if (geometry.type === "GeometryCollection") geometry.geometries.forEach((g) => walk(g.coordinates));
  else walk(geometry.coordinates);
  return box;
}

export class CityMap extends EventTarget {
  constructor(container, { attribution }) {
    super();
    this.defs = new Map(LAYERS.map((d) => [d.code, d]));
    // Per class: visible, loading, truncated (more than LIMIT), box and zoom of the loaded data.
    this.state = new Map(LAYERS.map((d) => [d.code,
      { visible: true, loading: false, truncated: false, box: null, zoom: null }]));
    this.pending = 0;
    this.extrusion = false;
    this.labels = [];
    this.map = new maplibregl.Map({
      container, ...START, maxPitch: 70, attributionControl: false,
      // Tiles are API calls: send the login (when there is one) like every other request.
      transformRequest: authorizeTiles,
      // A softer light than the default keeps extruded buildings bright.
      style: { version: 8, sources: {}, light: { anchor: "viewport", intensity: 0.3 },
        layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f2ee" } }] },
    });
    this.map.addControl(new maplibregl.AttributionControl({ compact: true, customAttribution: attribution }));
    this.map.addControl(new maplibregl.NavigationControl({ visualizePitch: true }), "bottom-right");
    this.map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-left");
    this.ready = new Promise((resolve) => this.map.on("load", () => { this.#setUp(); resolve(); }));
  }

  #setUp() {
    this.map.addSource("basemap", { type: "vector", tiles: [TILES], minzoom: 0, maxzoom: TILE_MAXZOOM });
    for (const def of LAYERS) {
      for (const layer of styleLayers(def)) this.map.addLayer(layer);
    }
    this.map.addSource("selection", { type: "geojson", data: EMPTY });
    for (const layer of SELECTION_LAYERS) this.map.addLayer(layer);
    // Top-most first; road casings are only decoration.
    this.clickable = LAYERS.flatMap((d) => styleLayers(d).map((l) => l.id)).filter((id) => !id.endsWith("-casing"))
      .reverse();
    this.map.on("moveend", () => this.refresh());
    this.map.on("click", (e) => this.#click(e.point));
    for (const id of this.clickable) {
      this.map.on("mouseenter", id, () => { this.map.getCanvas().style.cursor = "pointer"; });
      this.map.on("mouseleave", id, () => { this.map.getCanvas().style.cursor = ""; });
    }
    this.refresh();
  }

  #changed() {
    this.dispatchEvent(new Event("layers"));
  }

  /** The tiles follow the view by themselves; only the district labels are fetched, once. */
  refresh() {
    const st = this.state.get("070101");
    if (st.visible && !st.box && !st.loading) this.#loadLabels();
    this.#changed();
  }

  /** District names as HTML labels (no glyphs are shipped): the districts' GeoJSON, once. */
  async #loadLabels() {
    const st = this.state.get("070101");
    st.loading = true;
    this.pending += 1;
    try {
      const fc = await api.features({ class: "070101", limit: LIMIT });
      st.box = WORLD;
      this.#placeLabels(fc);
    } catch (err) {
      this.dispatchEvent(new CustomEvent("error", { detail: err }));
    } finally {
      st.loading = false;
      this.pending -= 1;
    }
    this.#changed();
  }

  /** HTML labels for district names: no glyphs are shipped, so no text layers. */
  #placeLabels(fc) {
    this.labels.forEach((m) => m.remove());
    this.labels = fc.features.filter((f) => f.geometry).map((f) => {
      const el = document.createElement("div");
      el.className = "district-label";
      el.textContent = f.properties.name;
      const [x0, y0, x1, y1] = geometryBounds(f.geometry);
      return new maplibregl.Marker({ element: el }).setLngLat([(x0 + x1) / 2, (y0 + y1) / 2]).addTo(this.map);
    });
    this.#showLabels();
  }

  #showLabels() {
    const shown = this.state.get("070101").visible;
    this.labels.forEach((m) => { m.getElement().hidden = !shown; });
  }

  setVisible(code, visible) {
    this.state.get(code).visible = visible;
    const def = this.defs.get(code);
    const extruded = def.kind === "building" && this.extrusion;
    for (const layer of styleLayers(def)) {
      const on = visible && (layer.type === "fill-extrusion") === extruded;
      this.map.setLayoutProperty(layer.id, "visibility", on ? "visible" : "none");
    }
    if (code === "070101") this.#showLabels();
    this.refresh();
  }

  /** Buildings as flat footprints or extruded by height; tilt the map so the height shows. */
  setExtrusion(on) {
    this.extrusion = on;
    this.setVisible("050101", this.state.get("050101").visible);
    this.map.easeTo({ pitch: on ? 55 : 0, bearing: on ? -15 : 0, duration: 600 });
    this.dispatchEvent(new Event("extrusion"));
  }

  /** Add a source with its style layers above the basemap (below the selection); its layers are clickable. */
  addOverlay(sourceId, source, layers) {
    if (this.map.getSource(sourceId)) return;
    this.map.addSource(sourceId, source);
    for (const layer of layers) {
      this.map.addLayer({ ...layer, source: sourceId }, SELECTION_LAYERS[0].id);
      this.clickable.unshift(layer.id);
    }
  }

  removeOverlay(sourceId) {
    if (!this.map.getSource(sourceId)) return;
    for (const layer of this.map.getStyle().layers.filter((l) => l.source === sourceId)) {
      this.map.removeLayer(layer.id);
      this.clickable = this.clickable.filter((id) => id !== layer.id);
    }
    this.map.removeSource(sourceId);
  }

  /** Whether a class is drawn at the current zoom (the panel greys out those that need zooming in). */
  inRange(code) {
    const def = this.defs.get(code);
    return this.map.getZoom() >= (def.minzoom ?? BOUNDARY_MINZOOM);
  }

  #click(point) {
    // A drawing tool (measure, statistics) takes the clicks while it is active.
    if (this.capture) {
      this.capture(this.map.unproject(point).toArray());
      return;
    }
    const box = [[point.x - 4, point.y - 4], [point.x + 4, point.y + 4]];
    const hit = this.map.queryRenderedFeatures(box, { layers: this.clickable })[0];
    this.dispatchEvent(new CustomEvent("select", { detail: { id: hit ? hit.properties.id : null } }));
  }

  /** Outline the chosen object (an /api/objects answer); null clears it. */
  highlight(obj) {
    if (!this.map.getSource("selection")) return; // not loaded yet
    const data = obj?.geometry ? { type: "Feature", geometry: obj.geometry, properties: {} } : EMPTY;
    this.map.getSource("selection").setData(data);
    // An extruded building would hide a ground outline: colour the building itself too.
    if (this.selected) this.map.setFeatureState(this.selected, { selected: false });
    this.selected = obj && this.defs.has(obj.class_code)
      ? { source: "basemap", sourceLayer: obj.class_code, id: obj.id } : null;
    if (this.selected) this.map.setFeatureState(this.selected, { selected: true });
  }

  flyTo(geometry) {
    const [x0, y0, x1, y1] = geometryBounds(geometry);
    if (x0 === x1 && y0 === y1) this.map.flyTo({ center: [x0, y0], zoom: Math.max(this.map.getZoom(), 17) });
    else this.map.fitBounds([[x0, y0], [x1, y1]], { padding: 120, maxZoom: 18 });
  }

  /** Resolves once no request is pending and the map has drawn everything (used by the browser tests). */
  async idle() {
    await this.ready;
    while (this.pending > 0 || !this.map.loaded()) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => (this.map.loaded() && !this.map.isMoving() ? r() : this.map.once("idle", r)));
  }
}
