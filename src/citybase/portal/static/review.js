// The review queues (review.html): street reviewers approve or return submitted tasks (初审); department
// reviewers accept (the change is applied), return or reject approved ones (复审); the street also reassigns
// open or returned tasks to another collector (派单/改派). Below, the errors-and-gaps list (错误、缺漏数据库)
// of what the caller may see.
import { session } from "./api.js";
import { fill, h } from "./card.js";
import { call, showError } from "./house.js";
import { t } from "./i18n.js";
import { $, getTask, loadList, openView, setupPage } from "./tasks.js";

let queue = "first";
let current = null;

function pickQueue(next) {
  queue = next;
  for (const b of document.querySelectorAll("[data-queue]")) b.setAttribute("aria-selected", String(b.dataset.queue === queue));
  $("#review-pass").textContent = t(queue === "first" ? "task_approve" : "task_accept");
  document.body.dataset.queue = queue;
  loadList({ queue }, openTask);
}

async function openTask(id) {
  try {
    current = await getTask(id);
  } catch (err) {
    showError(err);
    return;
  }
  openView(current);
  $("#review-reason").value = "";
  $("#review-actions").hidden = !["submitted", "first_approved"].includes(current.state);
  showReassign();
}

// The reassign form, for an open or returned task the caller may reassign (the choice list says so).
async function showReassign() {
  const form = $("#reassign-form");
  form.hidden = true;
  if (!["open", "returned"].includes(current.state)) return;
  let choices;
  try {
    choices = (await call(`/api/tasks/${current.id}/assignees`)).items;
  } catch {
    return; // not the caller's to reassign
  }
  fill($("#reassign-to"), [h("option", { value: "" }, t("task_pool")),
    ...choices.map((c) => h("option", { value: String(c.id), selected: c.assigned }, `${c.display_name} (${c.username})`))]);
  $("#reassign-reason").value = "";
  form.hidden = false;
}

async function reassign() {
  const to = $("#reassign-to").value;
  const body = { version: current.version, assignee_id: to ? Number(to) : null, reason: $("#reassign-reason").value.trim() };
  try {
    current = await call(`/api/tasks/${current.id}/reassign`, { method: "POST", body });
  } catch (err) {
    showError(err);
    return;
  }
  openView(current);
  $("#reassign-form").hidden = true;
  $("#task-done").textContent = t("task_reassigned");
  loadList({ queue }, openTask);
}

async function decide(decision) {
  const stage = current.state === "submitted" ? "review-first" : "review-second";
  const reason = $("#review-reason").value.trim() || null;
  try {
    current = await call(`/api/tasks/${current.id}/${stage}`, { method: "POST", body: { version: current.version, decision, reason } });
  } catch (err) {
    showError(err);
    return;
  }
  openView(current);
  $("#review-actions").hidden = true;
  $("#task-done").textContent = t("task_decided");
  loadList({ queue }, openTask);
  loadGaps();
}

let gapsBy = "grid";
async function loadGaps(by = gapsBy) {
  gapsBy = by;
  try {
    const gaps = await call(`/api/tasks/gaps?by=${by}`);
    fill($("#gaps-rows"), gaps.rows.map((g) => h("tr", {},
      h("td", {}, g.id === null ? "—" : `${g.name ?? ""} (${g.id})`), h("td", {}, g.total), h("td", {}, g.ages.le_7d), h("td", {}, g.ages.d8_30),
      h("td", {}, g.ages.gt_30d), h("td", {}, Object.entries(g.by_kind).map(([k, n]) => `${k} ${n}`).join(", ")))));
  } catch (err) {
    showError(err);
  }
}

function start() {
  for (const b of document.querySelectorAll("[data-queue]")) b.addEventListener("click", () => pickQueue(b.dataset.queue));
  for (const b of document.querySelectorAll("[data-gaps]")) b.addEventListener("click", () => loadGaps(b.dataset.gaps));
  $("#task-reload").addEventListener("click", () => pickQueue(queue));
  $("#review-pass").addEventListener("click", () => decide(queue === "first" ? "approve" : "accept"));
  $("#review-return").addEventListener("click", () => decide("return"));
  $("#review-reject").addEventListener("click", () => decide("reject"));
  $("#reassign-go").addEventListener("click", reassign);
  document.addEventListener("citybase:lang", () => pickQueue(queue));
  setupPage(() => {
    const role = session.user()?.role || "";
    pickQueue(role.startsWith("department") ? "second" : "first");
    loadGaps();
  });
}

start();
