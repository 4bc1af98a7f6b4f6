// The layer tree: the published layers the caller may read (GET /api/layers), grouped by class group or by
// department, each drawn from its own vector tiles (OGC API – Tiles of the layer, so its access rules apply).
import { api } from "./api.js";
import { h } from "./card.js";
import { className, getLang, t } from "./i18n.js";
import { HEIGHT } from "./map.js";

const TILE_MAXZOOM = 16; // MapLibre overzooms beyond, as for the basemap
const DEFAULT_PAINT = {
  circle: { "circle-radius": 4, "circle-color": "#d9480f", "circle-stroke-color": "#ffffff", "circle-stroke-width": 1 },
  line: { "line-color": "#495057", "line-width": 1.5 },
  fill: { "fill-color": "#74c0fc", "fill-opacity": 0.5, "fill-outline-color": "#1c7ed6" },
};
const BY_GEOMETRY = { Point: "circle", MultiPoint: "circle", LineString: "line", MultiLineString: "line" };

/** The tile URL of a layer: relative to this server, so the portal works offline. */
export function layerTiles(name) {
  return `${location.origin}/ogc/collections/${encodeURIComponent(name)}/tiles/WebMercatorQuad/{z}/{y}/{x}`;
}

/** MapLibre style layers of a published layer; a white-model (fill-extrusion) layer is a flat fill in 2D. */
export function overlayLayers(layer, cls, extruded) {
  const style = layer.style || {};
  let type = style.type || BY_GEOMETRY[cls?.geometry_type] || "fill";
  let paint = { ...(style.paint || DEFAULT_PAINT[type]) };
  if (type === "fill-extrusion") {
    if (extruded) {
      paint["fill-extrusion-height"] = HEIGHT; // one height rule for the whole portal (docs/portal.md)
    } else {
      const color = typeof paint["fill-extrusion-color"] === "string" ? paint["fill-extrusion-color"] : "#f8f9fa";
      type = "fill";
      paint = { "fill-color": color, "fill-opacity": 0.85, "fill-outline-color": "#868e96" };
    }
  }
  const spec = { id: `lyr-${layer.name}`, type, "source-layer": layer.class_code, paint };
  for (const key of ["layout", "filter", "minzoom", "maxzoom"]) if (style[key] !== undefined) spec[key] = style[key];
  return [spec];
}

export class LayerTree {
  /** `lookup()` gives {classes, departments}; `onError` shows API errors; `onCompare(layer)` opens the
   * swipe-compare of a dataset layer's versions (offered when it has two or more). */
  constructor(el, cityMap, lookup, { onError, onCompare = null }) {
    this.el = el;
    this.cityMap = cityMap;
    this.lookup = lookup;
    this.onError = onError;
    this.onCompare = onCompare;
    this.layers = [];
    this.shown = new Set();
    this.groupBy = "class";
    cityMap.addEventListener("extrusion", () => this.#redraw());
    document.addEventListener("citybase:session", () => this.load());
  }

  /** Fetch the layers (they depend on who is logged in) and draw the tree. */
  async load() {
    try {
      this.layers = (await api.layers()).items.filter((l) => l.class_code);
    } catch (err) {
      this.layers = [];
      this.onError(err);
    }
    // Dataset layers: how many versions (compare needs two); a layer whose versions cannot be read has none.
    await Promise.all(this.layers.filter((l) => l.kind === "dataset" && this.onCompare).map(async (l) => {
      l.versionCount = await api.layerVersions(l.name).then((a) => a.items.length, () => 0);
    }));
    for (const name of [...this.shown]) {
      if (!this.layers.some((l) => l.name === name)) this.setShown(name, false); // no longer readable
    }
    this.render();
  }

  render() {
    const groups = new Map();
    for (const layer of this.layers) {
      const key = this.#group(layer);
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(layer);
    }
    const order = [...groups.keys()].sort((a, b) => a.localeCompare(b, "zh-CN"));
    this.el.replaceChildren(...order.map((key) => h("fieldset", { className: "layer-group tree-group" },
      h("legend", {}, key), groups.get(key).map((layer) => this.#item(layer)))));
  }

  setGroupBy(groupBy) {
    this.groupBy = groupBy;
    this.render();
  }

  /** Show or hide a layer by name (its own vector tile source is added on first show). */
  setShown(name, on) {
    const layer = this.layers.find((l) => l.name === name);
    const source = `lyr-${name}`;
    if (on && layer) {
      this.shown.add(name);
      this.cityMap.addOverlay(source, { type: "vector", tiles: [layerTiles(name)], maxzoom: TILE_MAXZOOM },
        overlayLayers(layer, this.lookup().classes.get(layer.class_code), this.cityMap.extrusion));
    } else {
      this.shown.delete(name);
      this.cityMap.removeOverlay(source);
    }
    const box = this.el.querySelector(`input[data-layer="${CSS.escape(name)}"]`);
    if (box) box.checked = this.shown.has(name);
  }

  #redraw() {
    for (const name of [...this.shown]) {
      this.cityMap.removeOverlay(`lyr-${name}`);
      this.setShown(name, true);
    }
  }

  #group(layer) {
    const { classes, departments } = this.lookup();
    if (this.groupBy === "department") {
      const dept = departments.get(layer.department_id);
      if (!dept) return layer.department_id === null ? t("platform_department") : `#${layer.department_id}`;
      return (getLang() === "en" && dept.name_en) || dept.name;
    }
    const cls = classes.get(layer.class_code);
    return cls ? t(`major_${cls.major}`) : layer.class_code.slice(0, 2);
  }

  #item(layer) {
    const { classes } = this.lookup();
    const cls = classes.get(layer.class_code);
    const id = `lyr-box-${layer.name}`;
    const box = h("input", { type: "checkbox", id, checked: this.shown.has(layer.name),
      onchange: (e) => this.setShown(layer.name, e.target.checked) });
    box.dataset.layer = layer.name;
    const item = h("label", { className: "layer-item tree-item", htmlFor: id, title: layer.description || layer.name },
      box, h("span", { className: `swatch swatch-${(layer.style || {}).type || "fill"}` }),
      h("span", { className: "layer-name" }, layer.title || layer.name),
      h("span", { className: "layer-note" }, layer.access !== "public" ? t(`access_${layer.access}`) : ""),
      // The class, when the title does not already say it.
      h("span", { className: "layer-count" }, cls && className(cls) !== layer.title ? className(cls) : ""),
      layer.versionCount >= 2 ? h("button", { type: "button", className: "compare-button",
        title: t("swipe_compare_title"), onclick: (e) => {
          e.preventDefault(); // inside the label: do not toggle the layer
          this.onCompare(layer);
        } }, t("swipe_compare")) : null);
    if (layer.versionCount >= 2) item.dataset.compare = layer.name;
    // What the filter box matches: title, slug, class and department, in both languages.
    const dept = this.lookup().departments.get(layer.department_id);
    item.dataset.search = [layer.title, layer.name, layer.description, cls?.name, cls?.name_en, layer.class_code,
      dept?.name, dept?.code].filter(Boolean).join(" ").toLowerCase();
    return item;
  }
}

/** Hide the items of `root` whose text does not contain `text` (and groups left empty); returns the count shown. */
export function filterItems(root, text) {
  const needle = text.trim().toLowerCase();
  let shown = 0;
  for (const item of root.querySelectorAll(".layer-item[data-search]")) {
    const hit = !needle || item.dataset.search.includes(needle);
    item.hidden = !hit;
    if (hit) shown += 1;
  }
  for (const group of root.querySelectorAll(".layer-group")) {
    const items = group.querySelectorAll(".layer-item[data-search]");
    group.hidden = items.length > 0 && [...items].every((i) => i.hidden);
  }
  return shown;
}
