// The portal shell: wires the map, layer panel, object card, search, login and language together.
import { api, ApiError, session } from "./api.js";
import { Card, fill, h } from "./card.js";
import { applyStatic, className, getLang, setLang, t } from "./i18n.js";
import { JobsPanel } from "./jobs.js";
import { CityMap } from "./map.js";
import { LayerPanel } from "./panel.js";

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
const panel = new LayerPanel($("#layer-list"), cityMap, lookup);
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

function showResults(items) {
  const rows = items.map((obj) => h("li", {}, h("button", { type: "button", className: "result",
    onclick: () => {
      results.hidden = true;
      if (obj.geometry) cityMap.flyTo(obj.geometry);
      selectObject(obj.id);
    } }, h("span", { className: "result-name" }, obj.name),
  h("span", { className: "result-class" }, className(data.classes.get(obj.class_code)) || obj.class_code))));
  fill(results, rows.length ? rows : h("li", { className: "muted" }, t("no_results")));
  results.hidden = false;
}

$("#search-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("#search-input").value.trim();
  if (!text) {
    results.hidden = true;
    return;
  }
  fill(results, h("li", { className: "muted" }, t("searching")));
  results.hidden = false;
  try {
    showResults((await api.search(text)).items);
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
  card.render();
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
  }).catch(() => {}); // only for department names on the card; the id is shown without it
  await cityMap.ready;
  panel.render();
}

// For the browser tests (and curious operators): the map and a way to wait until it has drawn.
window.__citybase = { map: cityMap.map, cityMap, card, jobs, selectObject, idle: () => cityMap.idle() };
start();
