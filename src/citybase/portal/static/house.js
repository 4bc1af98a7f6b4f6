// The house card: GET /api/houses/by-address/{node} or /api/houses/{id}; a typed or scanned door-plate
// code goes through /api/houses/scan first and lists the buildings under it.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t, tValue } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);

export async function call(path, { method = "GET", body, form } = {}) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { method, headers, body: form ?? (body === undefined ? undefined : JSON.stringify(body)) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

export function showError(err) {
  const toast = $("#toast");
  const issues = (err.issues || []).map((i) => h("li", {}, `${i.field}: ${i.reason}`));
  fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""}) ${err.status ? t(`error_${err.status}`) : ""}`),
    h("p", {}, err.detail || err.message), issues.length ? h("ul", {}, issues) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

const ATTRS = ["use", "structure", "year_built", "floor_area_m2", "ownership", "rental_status", "safety_grade"];
const facts = (pairs) => h("dl", { className: "facts" },
  pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)]));

function render(card) {
  const house = card.house;
  const a = card.address;
  const code = card.unified_code;
  fill($("#house-card"),
    h("h2", {}, a.full_address),
    facts([
      ["house_level", t(`level_${a.level}`)],
      ["addr_display_code", a.display_code],
      ["code", code ? h("a", { href: `code.html?code=${encodeURIComponent(code)}` }, code) : t("no_code")],
      ["house_location", a.lon === null ? null : `${a.lon.toFixed(6)}, ${a.lat.toFixed(6)}`],
      ["house_community", a.community],
      ["version", String(house.version)],
    ]),
    h("h3", {}, t("attributes")),
    facts(ATTRS.map((k) => [`house_${k}`, house[k] === null ? null : tValue(`house_${k}`, house[k])])),
    editor(house),
    h("h3", {}, t("house_summary")),
    h("p", { id: "house-summary" }, t("house_summary_text", card.summary)),
    h("h3", {}, t("house_residents")),
    card.residents.length
      ? h("ul", { id: "house-residents" }, card.residents.map((p) => h("li", {}, [p.name, p.id_number, p.residence_type && tValue("residence", p.residence_type)]
        .filter(Boolean).join(" · "))))
      : h("p", { className: "muted" }, t(card.residents_available ? "house_no_residents" : "house_residents_todo")),
    h("h3", {}, t("house_orgs")),
    card.organisations.length
      ? h("ul", { id: "house-orgs" }, card.organisations.map((o) => h("li", {}, `${o.name} · ${o.uscc} · ${t("house_legal_rep")} ${o.legal_rep ?? ""}`)))
      : h("p", { className: "muted" }, t("house_no_orgs")),
    h("h3", {}, t("house_inspections")),
    card.inspections.length
      ? h("ul", { id: "house-inspections" }, card.inspections.map((i) => h("li", {},
        `${i.inspected_on} · ${i.grade} · ${i.inspector}${i.findings ? ` · ${i.findings}` : ""}`)))
      : h("p", { className: "muted" }, t("house_no_inspections")),
    h("h3", {}, t("history")),
    h("ol", { id: "house-history" }, card.history.map((v) => h("li", {},
      `v${v.version} ${tValue("change", v.change)} · ${v.recorded_by} · ${new Date(v.recorded_at).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { hour12: false })}`))));
  document.body.dataset.house = String(house.id);
}

const CHOICES = {
  use: ["residential", "commercial", "mixed", "public", "industrial", "other"],
  structure: ["砖混", "框架", "钢混", "钢结构", "木", "其他"],
  ownership: ["商品房", "公房", "自建房", "集体", "其他"],
  rental_status: ["自住", "出租", "空置", "其他"],
  safety_grade: ["A", "B", "C", "D"],
};

/** The edit form (registry writers): changes go with the version read, so a stale card gets a 409. */
function editor(house) {
  const fields = Object.entries(CHOICES).map(([k, values]) => h("label", { className: "reg-field" }, t(`house_${k}`),
    h("select", { name: k }, h("option", { value: "" }, "—"),
      values.map((v) => h("option", { value: v, selected: house[k] === v }, tValue(`house_${k}`, v))))));
  const form = h("form", { id: "house-edit", className: "reg-edit" }, fields,
    h("button", { type: "submit", className: "primary" }, t("house_save")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { version: house.version };
    for (const [k] of Object.entries(CHOICES)) {
      const value = form.elements[k].value;
      if (value && value !== house[k]) body[k] = value;
    }
    try {
      await call(`/api/houses/${house.id}`, { method: "PATCH", body });
      render(await call(`/api/houses/${house.id}`));
    } catch (err) {
      showError(err);
    }
  });
  return session.token() ? [h("h3", {}, t("house_edit")), form] : null;
}

async function showNode(node) {
  try {
    render(await call(`/api/houses/by-address/${encodeURIComponent(node)}`));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) {
      fill($("#house-card"), h("p", { className: "muted" }, t("house_none")));
    } else showError(err);
  }
}

async function lookup(text) {
  try {
    const found = await call(`/api/houses/scan?q=${encodeURIComponent(text)}`);
    const list = $("#house-buildings");
    list.hidden = found.buildings.length <= 1;
    fill(list, found.buildings.map((b) => h("button", { type: "button", onclick: () => showNode(b.node_id) }, b.name)));
    const target = found.buildings.length === 1 ? found.buildings[0].node_id : found.node_id;
    await showNode(target);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) return showError(err);
    await searchText(text);
  }
}

/** Free text: addresses whose name contains it (the address tree's search); picking one lists its buildings. */
async function searchText(text) {
  try {
    const found = await call(`/api/addresses/search?q=${encodeURIComponent(text)}&limit=30`);
    const list = $("#house-buildings");
    list.hidden = false;
    fill(list, found.items.length ? found.items.map((r) => h("button", { type: "button", onclick: () => lookup(String(r.id)) },
      r.full_address)) : h("p", { className: "muted" }, t("no_results")));
  } catch (err) {
    showError(err);
  }
}

function start() {
  applyStatic();
  $("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  $("#house-form").addEventListener("submit", (e) => { e.preventDefault(); lookup($("#house-q").value.trim()); });
  const params = new URLSearchParams(location.search);
  if (params.get("house")) {
    call(`/api/houses/${encodeURIComponent(params.get("house"))}`).then(render, showError);
  } else if (params.get("node")) showNode(params.get("node"));
  else if (params.get("q")) lookup(params.get("q"));
  document.addEventListener("citybase:lang", () => {
    if (document.body.dataset.house) call(`/api/houses/${document.body.dataset.house}`).then(render, showError);
  });
}

if (document.body.classList.contains("reg-page") && $("#house-card")) start();
