// The layer panel: a checkbox per class layer, grouped, with object counts and a zoom hint.
import { h } from "./card.js";
import { className, t } from "./i18n.js";
import { LAYERS, LIMIT } from "./map.js";

const GROUPS = ["boundaries", "base", "facilities"];

export class LayerPanel {
  constructor(el, cityMap, lookup) {
    this.el = el;
    this.cityMap = cityMap;
    this.lookup = lookup;
    cityMap.addEventListener("layers", () => this.#status());
    cityMap.map.on("zoomend", () => this.#status());
    cityMap.addEventListener("extrusion", () => {
      const box = this.el.querySelector("#layer-3d");
      if (box) box.checked = cityMap.extrusion;
    });
  }

  render() {
    const { classes } = this.lookup();
    const groups = GROUPS.map((group) => {
      const items = LAYERS.filter((d) => d.group === group).map((def) => this.#item(def, classes.get(def.code)));
      return h("fieldset", { className: "layer-group" }, h("legend", {}, t(`group_${group}`)), items);
    });
    const extrude = h("input", { type: "checkbox", id: "layer-3d", checked: this.cityMap.extrusion,
      onchange: (e) => this.cityMap.setExtrusion(e.target.checked) });
    this.el.replaceChildren(...groups,
      h("label", { className: "layer-item layer-3d", htmlFor: "layer-3d" }, extrude, h("span", {}, t("extrusion"))));
    this.#status();
  }

  #item(def, cls) {
    const st = this.cityMap.state.get(def.code);
    const id = `layer-${def.code}`;
    const box = h("input", { type: "checkbox", id, checked: st.visible,
      onchange: (e) => this.cityMap.setVisible(def.code, e.target.checked) });
    box.dataset.code = def.code;
    const swatch = h("span", { className: `swatch swatch-${def.kind}` });
    swatch.style.setProperty("--swatch", def.color === "#ffffff" ? def.outline : def.color);
    const item = h("label", { className: "layer-item", htmlFor: id },
      box, swatch,
      h("span", { className: "layer-name", title: cls ? className(cls) : def.code }, cls ? className(cls) : def.code),
      h("span", { className: "layer-note", id: `${id}-note` }),
      h("span", { className: "layer-count" }, cls ? t("objects_count", { n: cls.objects.toLocaleString() }) : ""));
    item.dataset.search = [cls?.name, cls?.name_en, def.code].filter(Boolean).join(" ").toLowerCase(); // filter box
    return item;
  }

  /** Grey out layers that need zooming in, and say when an answer was cut off at the request limit. */
  #status() {
    for (const def of LAYERS) {
      const note = this.el.querySelector(`#layer-${def.code}-note`);
      if (!note) continue;
      const st = this.cityMap.state.get(def.code);
      const inRange = this.cityMap.inRange(def.code);
      note.closest(".layer-item").classList.toggle("out-of-range", !inRange);
      note.textContent = !inRange ? t("zoom_hint") : st.truncated ? t("truncated", { n: LIMIT }) : "";
      note.title = st.truncated && inRange ? t("truncated_help", { n: LIMIT }) : "";
    }
  }
}
