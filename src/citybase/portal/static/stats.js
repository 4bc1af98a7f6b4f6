// Population statistics: GET /api/stats/population/… — counts only; bars are plain CSS widths.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const BASE = "/api/stats/population";

async function get(path) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { headers });
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

/** A bar list: rows of [label, value]; widths relative to the largest value. */
function bars(el, rows) {
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const total = rows.reduce((sum, [, v]) => sum + v, 0);
  fill(el, rows.length ? rows.map(([label, value]) => h("li", { title: `${label}: ${value}` },
    h("span", { className: "label" }, label),
    h("span", { className: "bar-track" }, h("span", { className: "bar", style: `display:block;width:${(100 * value) / max}%` })),
    h("span", { className: "num" }, value.toLocaleString()))) : h("li", { className: "pop-note" }, t("pop_none")));
  el.dataset.total = String(total);
}

async function load() {
  const at = $("#pop-at").value;
  const q = at ? `?at=${at}` : "";
  try {
    const [types, ages, comms, grids, zones] = await Promise.all([
      get(`${BASE}/residence-types`), get(`${BASE}/age-bands${q}`), get(`${BASE}/communities`),
      get(`${BASE}/grids?level=${$("#pop-grid-level").value}`), get(`${BASE}/school-age${q}`)]);
    $("#pop-login").hidden = true;
    bars($("#stats-types"), types.types.map((r) => [t(`rtype_${r.residence_type}`), r.people]));
    bars($("#stats-ages"), ages.bands.map((r) => [r.band, r.residents]));
    bars($("#stats-communities"), comms.communities.map((r) => [r.community, r.residents]));
    bars($("#stats-grids"), grids.grids.filter((r) => r.residents > 0).map((r) => [r.name, r.residents]));
    bars($("#stats-zones"), zones.zones.map((r) => [r.name, r.children]));
    document.body.dataset.loaded = "1";
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      $("#pop-login").hidden = false;
      return;
    }
    const toast = $("#toast");
    fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""})`), h("p", {}, err.detail || err.message));
    toast.hidden = false;
  }
}

$("#pop-at-form").addEventListener("submit", (e) => { e.preventDefault(); load(); });
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", load);
applyStatic();
load();
