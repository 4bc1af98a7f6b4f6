// What the upload-and-follow pages share (match.html, people-import.html): the fetch wrapper, the error
// toast and the polling of a job (GET /api/jobs/{id}) until it ends.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
const POLL_MS = 700;
const FINAL = new Set(["succeeded", "failed", "cancelled"]);

/** fetch with the session's token: JSON, or a Blob for a download; a failure throws ApiError. */
export async function call(path, options = {}) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { ...options, headers });
  const isJson = (res.headers.get("Content-Type") || "").includes("json");
  if (!res.ok) throw new ApiError(res.status, isJson ? await res.json() : { detail: await res.text() });
  return isJson ? res.json() : res.blob();
}

export function showError(err) {
  const toast = $("#toast");
  const issues = (err.issues || []).map((i) => [i.record ?? "", i.field, i.reason].filter((x) => x !== "").join(" "));
  fill(toast, h("strong", {}, err.status ? `${t("error")} (${err.status})` : t("error")),
    h("p", {}, err.detail || err.message), issues.length ? h("ul", {}, issues.map((x) => h("li", {}, x))) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

export function stateText(state) {
  const key = `job_state_${state}`;
  return t(key) === key ? state : t(key);
}

/** Follows one job: `show(job)` draws it with `render(job)` and polls until it has ended; `job` is the one shown. */
export function followJob(render) {
  let timer = null;
  const follow = {
    job: null,
    show(job) {
      follow.job = job;
      render(job);
      clearTimeout(timer);
      if (!FINAL.has(job.state)) timer = setTimeout(poll, POLL_MS);
    },
  };
  async function poll() {
    try {
      follow.show(await call(`/api/jobs/${follow.job.id}`));
    } catch (err) {
      showError(err);
    }
  }
  return follow;
}
