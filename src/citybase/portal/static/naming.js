// Naming workflows: GET/POST /api/addresses/workflows, POST /api/addresses/workflows/{id}/{step}.
// Who may take a step is decided by the API (the department of the step); the page offers the next step.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);

async function call(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  if (options.body) headers["Content-Type"] = "application/json";
  const res = await fetch(path, { ...options, headers });
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function showError(err) {
  const toast = $("#toast");
  const issues = (err.issues || []).map((i) => [i.field, i.reason].join(" "));
  fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""})`), h("p", {}, err.detail || err.message),
    issues.length ? h("ul", {}, issues.map((x) => h("li", {}, x))) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

function what(w) {
  const p = w.payload;
  const text = w.kind === "door_plates" ? p.numbers.join("、") : p.name;
  return [h("strong", {}, text), h("div", { className: "muted" }, `${t("naming_parent")} ${w.parent_id}`)];
}

function stepButton(w, step) {
  return h("button", { type: "button", className: `${step === "reject" ? "" : "primary"} step-${step}`,
    onclick: () => act(w.id, step) }, t(`step_${step}`));
}

function listRow(w) {
  const next = w.next_step;
  return h("tr", { id: `wf-${w.id}` },
    h("td", {}, String(w.id)), h("td", {}, t(`kind_${w.kind}`)), h("td", {}, what(w)),
    h("td", { className: "wf-state" }, t(`wf_${w.state}`),
      next ? h("div", { className: "muted" }, t("naming_next", { step: t(`step_${next.step}`),
        dept: t(`dept_${next.department}`) })) : null),
    h("td", {}, h("ul", { className: "wf-steps" }, w.steps.map((s) => h("li", {},
      `${t(`step_${s.step}`)} · ${s.actor}${s.note ? ` · ${s.note}` : ""}`)))),
    h("td", { className: "actions" }, next ? [stepButton(w, next.step), stepButton(w, "reject")] : null));
}

async function load() {
  try {
    const state = $("#naming-state").value;
    const data = await call(`/api/addresses/workflows${state ? `?state=${state}` : ""}`);
    fill($("#naming-list"), data.items.length ? data.items.map(listRow)
      : h("tr", {}, h("td", { colSpan: 6, className: "muted" }, t("naming_none"))));
  } catch (err) {
    showError(err);
  }
}

async function act(id, step) {
  try {
    await call(`/api/addresses/workflows/${id}/${step}`, { method: "POST", body: JSON.stringify({}) });
  } catch (err) {
    showError(err);
  }
  load();
}

function kindFields() {
  const kind = $("#naming-kind").value;
  for (const el of document.querySelectorAll(".wf-kind-fields")) el.hidden = !el.dataset.kinds.split(" ").includes(kind);
}

async function propose(e) {
  e.preventDefault();
  const kind = $("#naming-kind").value;
  const payload = kind === "door_plates"
    ? { numbers: $("#naming-numbers").value.split(/[,，、]/).map((x) => x.trim()).filter(Boolean),
      ...($("#naming-building").value ? { object_id: Number($("#naming-building").value) } : {}) }
    : { name: $("#naming-name").value };
  try {
    await call("/api/addresses/workflows", { method: "POST",
      body: JSON.stringify({ kind, parent_id: Number($("#naming-parent").value), payload }) });
    e.target.reset();
    kindFields();
  } catch (err) {
    showError(err);
  }
  load();
}

applyStatic();
$("#naming-login").hidden = Boolean(session.token());
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", load);
$("#naming-kind").addEventListener("change", kindFields);
$("#naming-state").addEventListener("change", load);
$("#naming-form").addEventListener("submit", propose);
const parent = new URLSearchParams(location.search).get("parent");
if (parent) $("#naming-parent").value = parent;
kindFields();
load();
