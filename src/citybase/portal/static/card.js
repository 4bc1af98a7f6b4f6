// The object card: one object's facts, attributes with their class labels, and its history on demand.
import { api } from "./api.js";
import { className, getLang, t, tValue } from "./i18n.js";

/** Build an element: h("td", {className: "x"}, "text", child). Text is always set as text, never as HTML. */
export function h(tag, props = {}, ...children) {
  return fill(Object.assign(document.createElement(tag), props), ...children);
}

/** Replace the children of `el`; nested arrays are flattened, null and undefined left out. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined)
    .map((c) => (c instanceof Node ? c : String(c))));
  return el;
}

function formatTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { hour12: false });
}

function formatValue(value) {
  if (typeof value === "boolean") return t(value ? "yes" : "no");
  if (value === null || value === undefined) return "";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

export class Card {
  /** `lookup` gives {classes: Map code→class, departments: Map id→department}; `onError` shows API errors. */
  constructor(el, { lookup, onError, onClose }) {
    this.el = el;
    this.lookup = lookup;
    this.onError = onError;
    this.onClose = onClose;
    this.obj = null;
    this.versions = null;
  }

  async show(id) {
    this.versions = null;
    this.address = null;
    this.el.hidden = false;
    this.el.replaceChildren(h("p", { className: "muted" }, t("loading")));
    try {
      this.obj = await api.object(id);
      this.render();
      this.#loadAddress(this.obj);
      return this.obj;
    } catch (err) {
      this.hide();
      this.onError(err);
      return null;
    }
  }

  /** The linked standard address comes with the code card (GET /api/codes/{code}); uncoded objects have none. */
  async #loadAddress(obj) {
    if (!obj.code) return;
    try {
      const answer = await api.code(obj.code);
      if (this.obj !== obj) return; // another object was opened meanwhile
      this.address = answer.address || null;
      if (this.address) this.render();
    } catch {
      // The card is complete without it: a code that cannot be resolved just shows no address.
    }
  }

  hide() {
    this.obj = null;
    this.el.hidden = true;
    this.el.replaceChildren();
    this.onClose?.();
  }

  render() {
    const obj = this.obj;
    if (!obj) return;
    const { classes, departments } = this.lookup();
    const cls = classes.get(obj.class_code);
    const dept = departments.get(obj.department_id);
    const close = h("button", { type: "button", className: "icon-button", title: t("close"),
      onclick: () => this.hide() }, "×");
    close.setAttribute("aria-label", t("close"));
    const facts = [
      ["class", cls ? `${className(cls)} (${obj.class_code})` : obj.class_code],
      ["code", obj.code || h("span", { className: "muted" }, t("no_code"))],
      ["state", h("span", { className: `state state-${obj.state}` }, tValue("state", obj.state))],
      ...(this.address ? [["address", this.address]] : []),
      ["department", dept ? (getLang() === "en" && dept.name_en) || dept.name : obj.department_id ?? "—"],
      ["version", obj.version],
      ["updated_at", `${formatTime(obj.updated_at)} · ${obj.updated_by}`],
    ];
    fill(this.el,
      h("header", { className: "card-head" },
        h("div", {}, h("p", { className: "card-kicker" }, cls ? className(cls) : obj.class_code),
          h("h2", { id: "card-name" }, obj.name)),
        close),
      h("dl", { className: "facts" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
      h("h3", {}, t("attributes")),
      this.#attributes(cls, obj.attributes || {}),
      h("button", { type: "button", className: "link-button", id: "history-toggle",
        onclick: () => this.#toggleHistory() }, t(this.versions ? "hide_history" : "history")),
      this.versions ? this.#history() : null,
    );
  }

  #attributes(cls, attrs) {
    // Class order first, then anything the class does not define (older data), so nothing is hidden.
    const defs = cls?.attributes || [];
    const names = [...defs.map((d) => d.name).filter((n) => n in attrs), ...Object.keys(attrs).filter(
      (n) => !defs.some((d) => d.name === n))];
    if (!names.length) return h("p", { className: "muted" }, t("no_attributes"));
    const label = (name) => {
      const def = defs.find((d) => d.name === name);
      return getLang() === "zh" ? def?.label || name : name;
    };
    return h("table", { className: "attributes" },
      h("tbody", {}, names.map((n) => h("tr", {}, h("th", { scope: "row", title: n }, label(n)),
        h("td", {}, formatValue(attrs[n]))))));
  }

  async #toggleHistory() {
    if (this.versions) {
      this.versions = null;
      this.render();
      return;
    }
    try {
      this.versions = (await api.history(this.obj.id)).versions;
      this.render();
    } catch (err) {
      this.onError(err);
    }
  }

  #history() {
    // Newest first: the question is usually "what changed last".
    const items = [...this.versions].reverse().map((v) => h("li", {},
      h("strong", {}, `v${v.version}`), " ", tValue("change", v.change), " · ", formatTime(v.recorded_at),
      " · ", v.recorded_by, v.name !== this.obj.name ? h("div", { className: "muted" }, v.name) : null));
    return h("ol", { className: "history", id: "history-list" }, items);
  }
}
