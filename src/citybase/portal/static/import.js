// The import page: upload (POST /api/imports, multipart) → follow the job (GET /api/imports/{id}) →
// the validation report (rows read, loaded, repaired, rejected with row, field and reason).
import { api, ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, className, getLang, setLang, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const POLL_MS = 800;
const SHOWN_ROWS = 500; // rows of a report table drawn in the page; the counts are always complete
const FINAL = new Set(["succeeded", "failed", "cancelled"]);
let current = null; // the import shown
let timer = null;

function problemLines(err) {
  const issues = (err.issues || []).map((i) => [i.record !== undefined && i.record !== null ? `#${i.record}` : "",
    i.field ? `${i.field}:` : "", i.reason].filter(Boolean).join(" "));
  return [err.detail || err.message, ...issues].filter(Boolean);
}

function showError(err) {
  const toast = $("#toast");
  const title = err instanceof ApiError && err.status ? `${t("error")} (${err.status})` : t("error");
  const [detail, ...issues] = problemLines(err);
  fill(toast, h("strong", {}, title), detail ? h("p", {}, detail) : null,
    issues.length ? h("ul", {}, issues.map((line) => h("li", {}, line))) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

async function loadChoices() {
  const [classes, layers] = await Promise.all([api.classes(), api.layers()]);
  const select = $("#import-class");
  for (const cls of classes.items) {
    select.append(h("option", { value: cls.code }, `${cls.code} ${className(cls)}`));
  }
  fill($("#import-layers"), layers.items.map((l) => h("option", { value: l.name }, l.title)));
}

async function submit(e) {
  e.preventDefault();
  const form = new FormData(e.target);
  for (const [key, value] of [...form.entries()]) if (value === "") form.delete(key); // server defaults
  if (!$("#import-atomic").checked) form.delete("all_or_nothing");
  $("#import-submit").disabled = true;
  try {
    show(await api.imports.create(form));
  } catch (err) {
    showError(err);
  } finally {
    $("#import-submit").disabled = false;
  }
}

function show(run) {
  current = run;
  render();
  clearTimeout(timer);
  if (!FINAL.has(run.state)) timer = setTimeout(poll, POLL_MS);
}

async function poll() {
  try {
    show(await api.imports.get(current.id));
  } catch (err) {
    showError(err);
  }
}

function stateText(state) {
  const key = `job_state_${state}`;
  return t(key) === key ? state : t(key);
}

function render() {
  const run = current;
  const el = $("#import-status");
  if (!run) {
    el.hidden = true;
    return;
  }
  const p = run.progress;
  const fraction = run.state === "succeeded" ? 1 : p?.fraction;
  const bar = h("progress", { id: "import-progress", max: 100 });
  bar.setAttribute("aria-label", t("job_progress"));
  if (fraction !== null && fraction !== undefined) bar.value = Math.round(fraction * 100);
  el.hidden = false;
  fill(el,
    h("h2", {}, `${t("import_run")} #${run.id} · ${run.file || ""}`),
    h("p", {}, h("span", { id: "import-state", className: `state state-${run.state}` }, stateText(run.state)),
      " ", t("import_into"), " ", h("a", { href: `./` }, run.layer),
      run.layer_version ? ` · ${t("import_version", { n: run.layer_version })}` : ""),
    bar,
    p ? h("p", { className: "muted" }, p.total ? `${p.done} / ${p.total}` : String(p.done ?? ""),
      p.message ? ` · ${p.message}` : "") : null,
    run.report ? report(run.report) : null);
}

function report(r) {
  const counts = [["rows_read", r.rows_read], ["loaded", r.loaded], ["repaired", r.repaired], ["rejected", r.rejected]]
    .filter(([, v]) => v !== undefined);
  const facts = [
    ["import_format", r.format],
    ["import_crs", r.crs_title || r.crs ? `${r.crs_title || r.crs}${r.crs_source ? ` (${r.crs_source})` : ""}` : null],
    ["import_policy", r.geometry_policy],
  ].filter(([, v]) => v);
  return h("div", { className: "report", id: "import-report" },
    r.error ? h("p", { className: "form-error", id: "import-error" }, r.error) : null,
    h("dl", { className: "report-counts" }, counts.map(([k, v]) => h("div", { id: `report-${k}` },
      h("dt", {}, t(`report_${k}`)), h("dd", {}, Number(v).toLocaleString())))),
    h("dl", { className: "facts" }, facts.map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
    issuesTable(r.issues || [], r.issues_total ?? (r.issues || []).length),
    repairsTable(r.repairs || []));
}

function issuesTable(issues, total) {
  if (!issues.length) return null;
  return h("section", {}, h("h3", {}, t("report_issues", { n: total.toLocaleString() })),
    h("table", { className: "attributes report-table", id: "report-issues" },
      h("thead", {}, h("tr", {}, ["report_row", "report_field", "report_reason"].map((k) =>
        h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, issues.slice(0, SHOWN_ROWS).map((i) => h("tr", {},
        h("td", {}, String(i.row ?? i.record ?? "")), h("td", {}, i.field || ""), h("td", {}, i.reason || ""))))),
    issues.length > SHOWN_ROWS ? h("p", { className: "muted" }, t("report_more", { n: SHOWN_ROWS })) : null);
}

function repairsTable(repairs) {
  if (!repairs.length) return null;
  const text = (fixes) => (Array.isArray(fixes) ? fixes.map((f) => (typeof f === "string" ? f : JSON.stringify(f)))
    .join("; ") : String(fixes));
  return h("section", {}, h("h3", {}, t("report_repairs")),
    h("table", { className: "attributes report-table", id: "report-repairs" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("report_row")),
        h("th", { scope: "col" }, t("report_repair")))),
      h("tbody", {}, repairs.slice(0, SHOWN_ROWS).map((r) => h("tr", {},
        h("td", {}, String(r.row)), h("td", {}, text(r.repairs)))))));
}

function renderLogin() {
  $("#import-login").hidden = Boolean(session.user());
}

$("#import-form").addEventListener("submit", submit);
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", render);
document.addEventListener("citybase:session", renderLogin);
applyStatic();
document.title = `${t("import_title")} · ${t("title")}`;
renderLogin();
loadChoices().catch(showError);
window.__citybaseImport = { show: (id) => api.imports.get(id).then(show), current: () => current };
