// The portal shell: wires the map, layer panel, object card, search, login and language together.
import { api, ApiError, session } from "./api.js";
import { Card, fill, h } from "./card.js";
import { applyStatic, className, getLang, setLang, t } from "./i18n.js";
import { JobsPanel } from "./jobs.js";
import { CityMap } from "./map.js";
import { LayerPanel } from "./panel.js";
import { searchAll, suggestAddresses } from "./search.js";
import { MapTools } from "./tools.js";
import { SwipeCompare } from "./swipe.js";
import { filterItems, LayerTree } from "./tree.js";

const $ = (selector) => document.querySelector(selector);
const data = { classes: new Map(), departments: new Map() };
const lookup = () => data;

/** The lines of an API error: its detail, then each issue as "record field: reason". */
function errorLines(err) {
  const issues = (err.issues || []).map((i) =>
    [i.record !== undefined && i.record !== null ? `#${i.record}` : "", i.field ? `${i.field}:` : "", i.reason]
      .filter(Boolean).join(" "));
  return [err.detail || err.message, ...issues].filter(Boolean);
}

function errorTitle(err) {
  if (!(err instanceof ApiError)) return t("error");
  if (err.status === 0) return t("error_network");
  const key = `error_${err.status}`;
  return t(key) === key ? `${t("error")} (${err.status})` : t(key);
}

function showError(err) {
  if (err?.name === "AbortError") return;
  const toast = $("#toast");
  const [detail, ...issues] = errorLines(err);
  fill(toast,
    h("strong", {}, errorTitle(err)),
    detail ? h("p", {}, detail) : null,
    issues.length ? h("ul", {}, issues.map((line) => h("li", {}, line))) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

// --- map, panel, card ------------------------------------------------------------------------------
const cityMap = new CityMap($("#map"), { attribution: t("attribution") });
const panel = new LayerPanel($("#base-layers"), cityMap, lookup);
const swipe = new SwipeCompare(cityMap, lookup, { onError: showError });
const tree = new LayerTree($("#layer-tree"), cityMap, lookup, { onError: showError,
  onCompare: (layer) => swipe.open(layer) });
const tools = new MapTools(cityMap, $("#tool-panel"), { onError: showError });
const card = new Card($("#card"), { lookup, onError: showError, onClose: () => cityMap.highlight(null) });
const jobs = new JobsPanel($("#jobs-button"), $("#jobs-panel"), { onError: showError });

/** Open the card of an object and mark it on the map; null closes the card. */
async function selectObject(id) {
  if (id === null) return card.hide();
  const obj = await card.show(id);
  if (obj) cityMap.highlight(obj);
  return obj;
}

cityMap.addEventListener("select", (e) => selectObject(e.detail.id));
cityMap.addEventListener("error", (e) => showError(e.detail));

function showLayerList(open) {
  $("#layers-toggle").setAttribute("aria-expanded", String(open));
  $("#layer-list").hidden = !open;
}
$("#layers-toggle").addEventListener("click", (e) =>
  showLayerList(e.currentTarget.getAttribute("aria-expanded") !== "true"));
showLayerList(!window.matchMedia("(max-width: 760px)").matches); // the map first on a phone

/** The filter box narrows both the base layers and the layer tree. */
function applyFilter() {
  const shown = filterItems($("#layer-list"), $("#layer-filter").value);
  $("#layer-filter-empty").hidden = shown > 0;
}
$("#layer-filter").addEventListener("input", applyFilter);
$("#layer-group-by").addEventListener("change", (e) => {
  tree.setGroupBy(e.target.value);
  applyFilter();
});

// --- toolbar: 2D/3D and the drawing tools --------------------------------------------------------------
function renderToolbar() {
  const on3d = cityMap.extrusion;
  $("#mode-3d").setAttribute("aria-pressed", String(on3d));
  $("#mode-3d").textContent = t(on3d ? "mode_2d" : "mode_3d");
  for (const mode of ["distance", "area", "stats"]) {
    $(`#tool-${mode}`).setAttribute("aria-pressed", String(tools.mode === mode));
  }
}
$("#mode-3d").addEventListener("click", () => cityMap.setExtrusion(!cityMap.extrusion));
for (const mode of ["distance", "area", "stats"]) {
  $(`#tool-${mode}`).addEventListener("click", () => {
    card.hide();
    tools.start(mode);
  });
}
cityMap.addEventListener("extrusion", renderToolbar);
tools.addEventListener("change", renderToolbar);
// --- login -----------------------------------------------------------------------------------------
const dialog = $("#login-dialog");

function renderSession() {
  const user = session.user();
  $("#user-name").textContent = user ? user.display_name || user.username : "";
  $("#user-name").title = user ? user.username : "";
  $("#user-name").hidden = !user;
  $("#login-button").hidden = Boolean(user);
  $("#logout-button").hidden = !user;
}

$("#login-button").addEventListener("click", () => {
  $("#login-error").hidden = true;
  dialog.showModal();
});
$("#login-cancel").addEventListener("click", () => dialog.close());
$("#logout-button").addEventListener("click", () => api.logout().catch(showError));
$("#login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  try {
    await api.login(form.get("username"), form.get("password"));
    e.target.reset();
    dialog.close();
  } catch (err) {
    // Shown in the dialog, next to the fields the user can fix.
    $("#login-error").textContent = errorLines(err).join("; ") || errorTitle(err);
    $("#login-error").hidden = false;
  }
});
document.addEventListener("citybase:session", renderSession);

// --- search ----------------------------------------------------------------------------------------
const results = $("#search-results");

/** One result row: an object (opens its card) or an address (flies there). */
function resultRow(item) {
  const kind = item.kind === "address" ? t("result_address")
    : className(data.classes.get(item.class_code)) || item.class_code;
  const row = h("li", {}, h("button", { type: "button", className: `result result-${item.kind}`,
    onclick: () => {
      results.hidden = true;
      if (item.geometry) cityMap.flyTo(item.geometry);
      if (item.kind === "object") selectObject(item.id);
    } }, h("span", { className: "result-name" }, item.name),
  h("span", { className: "result-class" }, kind)));
  return row;
}

function showResults(items) {
  fill(results, items.length ? items.map(resultRow) : h("li", { className: "muted" }, t("no_results")));
  results.hidden = false;
}

// Type-ahead: after a short pause in typing, the standard addresses that continue the text.
// A submit (Enter / 搜索) searches objects and addresses together and replaces these rows.
let typed = 0;
$("#search-input").addEventListener("input", () => {
  const text = $("#search-input").value.trim();
  const mine = ++typed;
  if (text.length < 2 || looksLikeCodePrefix(text)) return;
  setTimeout(async () => {
    if (mine !== typed) return;  // still typing
    const items = await suggestAddresses(text);
    if (mine === typed && items.length) showResults(items);
  }, 250);
});

function looksLikeCodePrefix(text) {
  return /^[0-9A-Za-z]{6,}$/.test(text);  // a code being typed: no address suggestions
}

$("#search-form").addEventListener("submit", async (e) => {
  typed += 1;  // a pending suggestion must not replace the search results
  e.preventDefault();
  const text = $("#search-input").value.trim();
  if (!text) {
    results.hidden = true;
    return;
  }
  fill(results, h("li", { className: "muted" }, t("searching")));
  results.hidden = false;
  try {
    const items = await searchAll(text);
    // A code names one object: open it at once.
    if (items.length === 1 && items[0].viaCode) {
      results.hidden = true;
      if (items[0].geometry) cityMap.flyTo(items[0].geometry);
      selectObject(items[0].id);
      return;
    }
    showResults(items);
  } catch (err) {
    results.hidden = true;
    showError(err);
  }
});
document.addEventListener("keydown", (e) => {
  if (e.key === "Escape") results.hidden = true;
});

// --- language --------------------------------------------------------------------------------------
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", () => {
  panel.render();
  tree.render();
  card.render();
  applyFilter();
  renderToolbar();
  results.hidden = true;
});

// --- start -----------------------------------------------------------------------------------------
async function start() {
  applyStatic();
  renderSession();
  if (session.token()) api.me().catch(() => {}); // an expired session is cleared by the api module
  jobs.refresh();
  try {
    data.classes = new Map((await api.classes()).items.map((c) => [c.code, c]));
  } catch (err) {
    showError(err);
  }
  api.departments().then((answer) => {
    data.departments = new Map(answer.items.map((d) => [d.id, d]));
    card.render();
    tree.render();
    applyFilter();
  }).catch(() => {}); // only for department names on the card; the id is shown without it
  await cityMap.ready;
  panel.render();
  await tree.load();
  applyFilter();
  renderToolbar();
}

// For the browser tests (and curious operators): the map and a way to wait until it has drawn.
window.__citybase = { map: cityMap.map, cityMap, card, jobs, tree, tools, swipe, selectObject,
  idle: () => cityMap.idle() };
start();
