// The grid worker's phone page (采集, tasks.html): my open tasks, open one, fill in what was collected on
// site, submit it for the street's first review; a returned task shows why. The helpers exported here
// (login, the task card) are shared with the review queues (review.js); the page itself starts only on
// tasks.html.
import { api, ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { call, showError } from "./house.js";
import { applyStatic, getLang, setLang, t, tValue } from "./i18n.js";

export const $ = (selector) => document.querySelector(selector);

// What a worker collects for each kind (the applier's payload); every kind also takes a free note.
const FIELDS = {
  "address.rename": [["name", "text"]],
  "address.new": [["name", "text"], ["level", "text"], ["parent_id", "number"]],
  "address.unmatched": [["node_id", "number"]],
};

export const kindName = (task) => (getLang() === "zh" ? task.kind_zh : task.kind_en);
const stateBadge = (state) => h("span", { className: `task-state ${state}` }, tValue("task_state", state));
const when = (iso) => (iso ? new Date(iso).toLocaleString(getLang() === "zh" ? "zh-CN" : "en-GB", { hour12: false }) : "");
const show = (doc) => Object.entries(doc || {}).filter(([k]) => !k.endsWith("_encrypted"))
  .map(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]);

/** One row of a task list: a big button that opens the task. */
export function taskItem(task, open) {
  const reason = ["returned", "rejected"].includes(task.state) && task.last_reason
    ? h("span", { className: "task-reason-inline" }, `${t("task_reason_was")}${task.last_reason}`) : null;
  return h("li", {}, h("button", { type: "button", className: "task-item", onclick: () => open(task.id) },
    h("strong", {}, task.title),
    h("span", { className: "task-meta" }, stateBadge(task.state), kindName(task), `#${task.id}`,
      task.grid_id ? `${t("task_grid")} ${task.grid_id}` : t("task_no_grid"), reason)));
}

/** The task card: title, state, what was reported and collected, the reason of a return, the history. */
export function taskCard(task) {
  const reason = ["returned", "rejected", "cancelled"].includes(task.state) && task.last_reason
    ? h("p", { className: "task-reason" }, `${t("task_reason_was")}${task.last_reason}`) : null;
  return [
    h("h2", {}, task.title), h("p", {}, stateBadge(task.state), " ", kindName(task), ` · #${task.id} · v${task.version}`),
    reason,
    h("dl", {}, [h("dt", {}, t("task_address")), h("dd", {}, task.address_node_id ?? "—")],
      [h("dt", {}, t("task_grid")), h("dd", {}, task.grid_id ?? t("task_no_grid"))], show(task.detail)),
    task.collected ? [h("h3", {}, t("task_collected")), h("dl", {}, show(task.collected))] : null,
    h("h3", {}, t("task_history")),
    h("ol", { className: "task-events" }, task.events.map((e) => h("li", {},
      `${when(e.at)} ${e.actor} ${tValue("task_action", e.action)}`, e.reason ? `：${e.reason}` : ""))),
  ];
}

/** Language toggle, the user's name, and the login form when there is no session; `ready` runs once logged in. */
export function setupPage(ready) {
  applyStatic();
  $("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  const who = () => { $("#task-who").textContent = session.user()?.username ?? ""; };
  $("#task-login").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.login($("#task-user").value, $("#task-pass").value);
      $("#task-login").hidden = true;
      who();
      ready();
    } catch (err) {
      showError(err);
    }
  });
  $("#task-back").addEventListener("click", () => { document.body.dataset.view = "list"; $("#task-view").hidden = true; });
  $("#task-login").hidden = Boolean(session.token());
  who();
  if (session.token()) ready();
}

export const getTask = (id) => call(`/api/tasks/${encodeURIComponent(id)}`);

/** Show a task in the detail view (phone: instead of the list). */
export function openView(task) {
  fill($("#task-card"), taskCard(task));
  $("#task-done").textContent = "";
  $("#task-view").hidden = false;
  document.body.dataset.view = "task";
  document.body.dataset.task = String(task.id);
  document.body.dataset.state = task.state;
}

/** Fill `#task-list` from GET /api/tasks with `params`; the count goes on the body for tests and styling. */
export async function loadList(params, open) {
  try {
    const page = await call(`/api/tasks?${new URLSearchParams(params)}`);
    fill($("#task-list"), page.items.length ? page.items.map((task) => taskItem(task, open))
      : h("li", { className: "muted" }, t("task_none")));
    document.body.dataset.count = String(page.items.length);
  } catch (err) {
    showError(err);
  }
}

// --- the worker's page ---------------------------------------------------------------------------

let current = null;

function renderForm(task) {
  const fields = [...(FIELDS[task.kind] || []), ["note", "text"]];
  const collected = task.collected || {};
  fill($("#task-fields"), fields.map(([name, type]) => [
    h("label", { htmlFor: `field-${name}` }, tValue("task_field", name)),
    h("input", { id: `field-${name}`, name, type, value: collected[name] ?? "", inputMode: type === "number" ? "numeric" : "text" }),
  ]));
  $("#task-form").hidden = !["open", "returned"].includes(task.state);
}

async function openTask(id) {
  try {
    current = await getTask(id);
  } catch (err) {
    showError(err);
    return;
  }
  openView(current);
  renderForm(current);
}

async function submitTask(e) {
  e.preventDefault();
  const collected = {};
  for (const input of $("#task-fields").querySelectorAll("input")) {
    const value = input.value.trim();
    if (value) collected[input.name] = input.type === "number" ? Number(value) : value;
  }
  try {
    current = await call(`/api/tasks/${current.id}/submit`, { method: "POST", body: { version: current.version, collected } });
  } catch (err) {
    showError(err instanceof ApiError ? err : new ApiError(0, { detail: String(err) }));
    return;
  }
  openView(current);
  renderForm(current);
  $("#task-done").textContent = t("task_submitted");
  loadMine();
}

const loadMine = () => loadList({ queue: "open" }, openTask);

if (document.body.classList.contains("tasks-page")) {
  $("#task-form").addEventListener("submit", submitTask);
  $("#task-reload").addEventListener("click", loadMine);
  document.addEventListener("citybase:lang", () => { loadMine(); if (current && !$("#task-view").hidden) openTask(current.id); });
  setupPage(loadMine);
}
