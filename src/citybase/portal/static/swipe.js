// Swipe-compare (卷帘对比) of two versions of a dataset layer: two synchronised maps over the same view, the right
// one clipped at a draggable vertical divider; left = version A, right = version B, each drawn from the layer's
// own tiles of that version (`?version=N`), with the compare summary (added / changed / retired) of the API.
/* global maplibregl */
import { api } from "./api.js";
import { h } from "./card.js";
import { t } from "./i18n.js";
import { authorizeTiles, baseStyle } from "./map.js";
import { overlayLayers } from "./tree.js";

const TILE_MAXZOOM = 16; // as for the layer tree's tiles: MapLibre overzooms beyond
const STEP = 0.02; // one arrow key moves the divider by 2% of the width

/** The OGC tiles of one version of a layer (relative to this server: works offline). */
export function versionTiles(name, version) {
  return `${location.origin}/ogc/collections/${encodeURIComponent(name)}/tiles/WebMercatorQuad/{z}/{y}/{x}`
    + `?version=${encodeURIComponent(version)}`;
}

export class SwipeCompare {
  /** `cityMap`: the main map (its view is the starting view); `lookup()` gives {classes}. */
  constructor(cityMap, lookup, { onError }) {
    this.cityMap = cityMap;
    this.lookup = lookup;
    this.onError = onError;
    this.root = null;
    this.maps = {};
    this.versions = {};
    this.position = 0.5;
    document.addEventListener("citybase:lang", () => this.#renderBar());
  }

  get isOpen() {
    return this.root !== null;
  }

  /** Open the comparison of `layer` (an /api/layers item); by default the last two versions. */
  async open(layer, a = null, b = null) {
    this.close();
    let items;
    try {
      items = (await api.layerVersions(layer.name)).items;
    } catch (err) {
      this.onError(err);
      return false;
    }
    if (items.length < 2) {
      this.onError(new Error(t("swipe_need_two")));
      return false;
    }
    this.layer = layer;
    this.items = items;
    const last = items[items.length - 1].version;
    this.versions = { a: a ?? items[items.length - 2].version, b: b ?? last };
    this.#build();
    await Promise.all([this.#summary(), ...Object.values(this.maps).map((m) => loaded(m))]);
    return true;
  }

  close() {
    if (!this.root) return;
    for (const m of Object.values(this.maps)) m.remove();
    this.maps = {};
    this.root.remove();
    this.root = null;
    document.removeEventListener("keydown", this.onKey);
  }

  /** Put the divider at `fraction` (0 = left edge, 1 = right edge) of the width. */
  setPosition(fraction) {
    this.position = Math.min(1, Math.max(0, fraction));
    if (!this.root) return;
    const x = this.position * this.root.clientWidth;
    this.panes.b.style.clipPath = `inset(0 0 0 ${x}px)`;
    this.divider.style.left = `${x}px`;
    this.divider.setAttribute("aria-valuenow", String(Math.round(this.position * 100)));
  }

  /** Show version `v` on side "a" (left) or "b" (right). */
  async setVersion(side, v) {
    this.versions[side] = Number(v);
    this.#drawVersion(side);
    await this.#summary();
  }

  #build() {
    this.panes = { a: h("div", { className: "swipe-map" }), b: h("div", { className: "swipe-map swipe-right" }) };
    this.divider = h("div", { className: "swipe-divider", tabIndex: 0 }, h("span", { className: "swipe-handle" }, "⇔"));
    this.divider.setAttribute("role", "separator");
    this.divider.setAttribute("aria-orientation", "vertical");
    this.divider.setAttribute("aria-valuemin", "0");
    this.divider.setAttribute("aria-valuemax", "100");
    this.bar = h("div", { className: "panel swipe-bar" });
    this.root = h("div", { className: "swipe", id: "swipe" }, this.panes.a, this.panes.b, this.divider, this.bar);
    document.body.append(this.root);
    this.#renderBar();
    const view = this.cityMap.map;
    for (const side of ["a", "b"]) {
      const map = new maplibregl.Map({
        container: this.panes[side], style: baseStyle(), center: view.getCenter(), zoom: view.getZoom(),
        bearing: view.getBearing(), pitch: view.getPitch(), attributionControl: false,
        transformRequest: authorizeTiles,
      });
      map.on("load", () => this.#drawVersion(side));
      this.maps[side] = map;
    }
    this.maps.b.addControl(new maplibregl.NavigationControl({ showCompass: false }), "bottom-right");
    this.#sync(this.maps.a, this.maps.b);
    this.#sync(this.maps.b, this.maps.a);
    this.#drag();
    this.onKey = (e) => { if (e.key === "Escape") this.close(); };
    document.addEventListener("keydown", this.onKey);
    this.setPosition(this.position);
  }

  /** Moving one map moves the other to the same view (a flag stops the echo). */
  #sync(from, to) {
    from.on("move", () => {
      if (this.syncing) return;
      this.syncing = true;
      to.jumpTo({ center: from.getCenter(), zoom: from.getZoom(), bearing: from.getBearing(), pitch: from.getPitch() });
      this.syncing = false;
    });
  }

  #drag() {
    const move = (e) => {
      const box = this.root.getBoundingClientRect();
      this.setPosition((e.clientX - box.left) / box.width);
    };
    this.divider.addEventListener("pointerdown", (e) => {
      e.preventDefault();
      this.divider.setPointerCapture(e.pointerId);
      this.divider.classList.add("dragging");
    });
    this.divider.addEventListener("pointermove", (e) => {
      if (this.divider.hasPointerCapture(e.pointerId)) move(e);
    });
    const stop = (e) => {
      if (this.divider.hasPointerCapture(e.pointerId)) this.divider.releasePointerCapture(e.pointerId);
      this.divider.classList.remove("dragging");
    };
    this.divider.addEventListener("pointerup", stop);
    this.divider.addEventListener("pointercancel", stop);
    this.divider.addEventListener("keydown", (e) => {
      if (e.key === "ArrowLeft") this.setPosition(this.position - STEP);
      else if (e.key === "ArrowRight") this.setPosition(this.position + STEP);
    });
    window.addEventListener("resize", () => this.setPosition(this.position));
  }

  /** The layer's tiles of the side's version, styled like the layer in the tree (flat, no extrusion). */
  #drawVersion(side) {
    const map = this.maps[side];
    if (!map || !map.isStyleLoaded()) return;
    const source = "version";
    for (const l of map.getStyle().layers.filter((l) => l.source === source)) map.removeLayer(l.id);
    if (map.getSource(source)) map.removeSource(source);
    map.addSource(source, { type: "vector", tiles: [versionTiles(this.layer.name, this.versions[side])],
      maxzoom: TILE_MAXZOOM });
    const cls = this.lookup().classes.get(this.layer.class_code);
    for (const l of overlayLayers(this.layer, cls, false)) map.addLayer({ ...l, id: `version-${side}`, source });
  }

  async #summary() {
    const { a, b } = this.versions;
    this.diff = null;
    this.#renderBar();
    try {
      this.diff = await api.compareVersions(this.layer.name, a, b);
    } catch (err) {
      this.onError(err);
    }
    this.#renderBar();
  }

  #renderBar() {
    if (!this.root) return;
    const select = (side) => {
      const el = h("select", { id: `swipe-${side}`, onchange: (e) => this.setVersion(side, e.target.value) },
        this.items.map((v) => h("option", { value: String(v.version), selected: v.version === this.versions[side] },
          `v${v.version}` + (v.current ? ` · ${t("swipe_current")}` : ""))));
      return h("label", { className: "swipe-pick" }, t(side === "a" ? "swipe_left" : "swipe_right"), el);
    };
    const d = this.diff;
    const summary = d
      ? t("swipe_summary", { added: d.added.length, changed: d.changed.length, retired: d.retired.length,
        unchanged: d.unchanged })
      : t("swipe_loading");
    this.bar.replaceChildren(
      h("strong", { className: "swipe-title" }, `${t("swipe_title")} · ${this.layer.title || this.layer.name}`),
      select("a"), select("b"),
      h("span", { className: "swipe-summary", id: "swipe-summary" }, summary),
      h("button", { type: "button", className: "ghost", id: "swipe-close", onclick: () => this.close() },
        t("swipe_close")),
    );
  }
}

/** Resolves when a map has loaded its style and drawn its tiles. */
function loaded(map) {
  return new Promise((resolve) => {
    if (map.loaded()) resolve();
    else map.once("idle", resolve);
  });
}
