// Map tools: measure a distance, measure an area, draw a polygon → statistics of the objects inside by class.
// Click (tap) to add points; Enter or a double click or 完成 finishes; Backspace removes the last point;
// Escape cancels.
import { api } from "./api.js";
import { fill, h } from "./card.js";
import { area, formatArea, formatDistance, length } from "./geodesy.js";
import { getLang, t } from "./i18n.js";

const SOURCE = "measure";
const EMPTY = { type: "FeatureCollection", features: [] };
const COLOR = "#1f4e79";
export const TOOL_LAYERS = [
  { id: "measure-fill", type: "fill", filter: ["==", ["geometry-type"], "Polygon"],
    paint: { "fill-color": COLOR, "fill-opacity": 0.12 } },
  { id: "measure-line", type: "line", filter: ["!=", ["geometry-type"], "Point"],
    paint: { "line-color": COLOR, "line-width": 2.5, "line-dasharray": [3, 1.5] } },
  { id: "measure-points", type: "circle", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-radius": 4.5, "circle-color": "#ffffff", "circle-stroke-color": COLOR,
      "circle-stroke-width": 2 } },
];
const MODES = ["distance", "area", "stats"];

export class MapTools extends EventTarget {
  /** `panel` shows the result; `lookup()` gives {classes}; `onError` shows API errors. */
  constructor(cityMap, panel, { onError }) {
    super();
    this.cityMap = cityMap;
    this.panel = panel;
    this.onError = onError;
    this.mode = null;
    this.points = [];
    this.done = false;
    this.stats = null;
    this.error = null;
    cityMap.ready.then(() => {
      cityMap.map.addSource(SOURCE, { type: "geojson", data: EMPTY });
      for (const layer of TOOL_LAYERS) cityMap.map.addLayer({ ...layer, source: SOURCE });
      cityMap.map.on("dblclick", (e) => {
        if (!this.mode || this.done) return;
        e.preventDefault(); // no zoom: a double click ends the drawing
        this.finish();
      });
    });
    document.addEventListener("keydown", (e) => this.#key(e));
    document.addEventListener("citybase:lang", () => this.render());
  }

  /** Start a tool ("distance", "area", "stats"); starting the active one again stops it. */
  start(mode) {
    if (!MODES.includes(mode)) throw new Error(`unknown tool ${mode}`);
    if (this.mode === mode) return this.close();
    this.mode = mode;
    this.#reset();
    this.cityMap.capture = (lngLat) => this.add(lngLat);
    this.cityMap.map.getCanvas().style.cursor = "crosshair";
    this.panel.hidden = false;
    this.#changed();
    return undefined;
  }

  /** Add a point ([lon, lat]); a click on the same spot as the last point (double click) is ignored. */
  add(lngLat) {
    if (!this.mode) return;
    if (this.done) this.#reset();
    const last = this.points.at(-1);
    if (last) {
      const [a, b] = [this.cityMap.map.project(last), this.cityMap.map.project(lngLat)];
      if (Math.hypot(a.x - b.x, a.y - b.y) < 3) return;
    }
    this.points.push(lngLat);
    this.#changed();
  }

  undo() {
    if (this.done) this.done = false;
    this.points.pop();
    this.stats = null;
    this.#changed();
  }

  /** End the drawing; for statistics, ask the server what lies inside. */
  async finish() {
    if (!this.mode || this.done || this.points.length < this.#minPoints()) return;
    this.done = true;
    this.#changed();
    if (this.mode !== "stats") return;
    const ring = [...this.points, this.points[0]];
    try {
      this.stats = await api.objectStats({ type: "Polygon", coordinates: [ring] });
      this.error = null;
    } catch (err) {
      this.stats = null;
      this.error = err;
      this.onError(err);
    }
    this.#changed();
  }

  /** Stop the tool and clear the drawing. */
  close() {
    this.mode = null;
    this.#reset();
    this.cityMap.capture = null;
    this.cityMap.map.getCanvas().style.cursor = "";
    this.panel.hidden = true;
    this.#changed();
  }

  /** The measured value in metres (distance) or square metres (area, stats); 0 while too few points. */
  value() {
    if (this.mode === "distance") return length(this.points);
    return this.points.length >= 3 ? area(this.points) : 0;
  }

  render() {
    if (!this.mode) {
      this.panel.replaceChildren();
      return;
    }
    const lang = getLang();
    const measured = this.mode === "distance" ? formatDistance(this.value(), lang) : formatArea(this.value(), lang);
    const enough = this.points.length >= this.#minPoints();
    const close = h("button", { type: "button", className: "icon-button", title: t("close"),
      onclick: () => this.close() }, "×");
    close.setAttribute("aria-label", t("close"));
    fill(this.panel,
      h("div", { className: "panel-head" }, h("h2", {}, t(`tool_${this.mode}`)), close),
      h("p", { className: "muted tool-help" }, t(this.done ? "tool_done_help" : "tool_help")),
      h("p", { className: "tool-result" }, h("span", {}, t(this.mode === "distance" ? "tool_length" : "tool_area")),
        " ", h("strong", { id: "tool-value" }, measured)),
      h("div", { className: "actions" },
        h("button", { type: "button", id: "tool-undo", disabled: !this.points.length, onclick: () => this.undo() },
          t("tool_undo")),
        h("button", { type: "button", id: "tool-clear", disabled: !this.points.length,
          onclick: () => { this.#reset(); this.#changed(); } }, t("tool_clear")),
        h("button", { type: "button", id: "tool-finish", className: "primary", disabled: this.done || !enough,
          onclick: () => this.finish() }, t(this.mode === "stats" ? "tool_count" : "tool_finish"))),
      this.mode === "stats" ? this.#statsTable() : null);
  }

  #statsTable() {
    if (!this.done) return null;
    if (this.error) return h("p", { className: "form-error" }, this.error.detail || this.error.message);
    if (!this.stats) return h("p", { className: "muted" }, t("loading"));
    if (!this.stats.classes.length) return h("p", { className: "muted", id: "stats-empty" }, t("stats_none"));
    const name = (c) => (getLang() === "en" ? c.name_en || c.name : c.name);
    return h("table", { className: "attributes stats", id: "stats-table" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("class")), h("th", { scope: "col" }, t("stats_count")))),
      h("tbody", {}, this.stats.classes.map((c) => {
        const row = h("tr", {}, h("th", { scope: "row", title: c.class_code }, name(c)),
          h("td", {}, c.count.toLocaleString()));
        row.dataset.class = c.class_code;
        return row;
      })),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row" }, t("stats_total")),
        h("td", { id: "stats-total" }, this.stats.total.toLocaleString()))));
  }

  #minPoints() {
    return this.mode === "distance" ? 2 : 3;
  }

  #reset() {
    this.points = [];
    this.done = false;
    this.stats = null;
    this.error = null;
  }

  #key(e) {
    if (!this.mode || e.target.closest?.("input, textarea, select, button, dialog")) return;
    if (e.key === "Escape") this.close();
    else if (e.key === "Enter") this.finish();
    else if (e.key === "Backspace") this.undo();
    else return;
    e.preventDefault();
  }

  #geojson() {
    const pts = this.points;
    const features = pts.map((p) => ({ type: "Feature", properties: {}, geometry: { type: "Point", coordinates: p } }));
    if (this.mode === "distance" && pts.length >= 2) {
      features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: pts } });
    } else if (this.mode !== "distance" && pts.length >= 3) {
      features.push({ type: "Feature", properties: {},
        geometry: { type: "Polygon", coordinates: [[...pts, pts[0]]] } });
    } else if (pts.length === 2) {
      features.push({ type: "Feature", properties: {}, geometry: { type: "LineString", coordinates: pts } });
    }
    return { type: "FeatureCollection", features };
  }

  #changed() {
    this.cityMap.map.getSource(SOURCE)?.setData(this.#geojson());
    // Double clicks end a drawing rather than zoom while a tool is active.
    if (this.mode) this.cityMap.map.doubleClickZoom.disable();
    else this.cityMap.map.doubleClickZoom.enable();
    this.render();
    this.dispatchEvent(new Event("change"));
  }
}
