// Batch address matching: upload (POST /api/addresses/match/jobs, multipart) → follow the job
// (GET /api/jobs/{id}) → counts per status, rows with errors, and the result CSV to download.
import { session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";
import { call, followJob, showError, stateText } from "./jobpage.js";

const $ = (selector) => document.querySelector(selector);
const STATUSES = ["matched", "ambiguous", "partial", "unmatched", "error"];
const follow = followJob(() => render());

async function submit(e) {
  e.preventDefault();
  const form = new FormData(e.target);
  $("#match-submit").disabled = true;
  try {
    follow.show(await call("/api/addresses/match/jobs", { method: "POST", body: form }));
  } catch (err) {
    showError(err);
  } finally {
    $("#match-submit").disabled = false;
  }
}

async function download() {
  try {
    const blob = await call(`/api/addresses/match/jobs/${follow.job.id}/result.csv`);
    const a = h("a", { href: URL.createObjectURL(blob), download: `address-match-${follow.job.id}.csv` });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    showError(err);
  }
}

function render() {
  const job = follow.job;
  const el = $("#match-status");
  if (!job) {
    el.hidden = true;
    return;
  }
  const bar = h("progress", { id: "match-progress", max: 100 });
  bar.setAttribute("aria-label", t("job_progress"));
  const fraction = job.state === "succeeded" ? 1 : job.progress;
  if (fraction !== null && fraction !== undefined) bar.value = Math.round(fraction * 100);
  const r = job.result;
  el.hidden = false;
  fill(el,
    h("h2", {}, `${t("match_job")} #${job.id}`),
    h("p", {}, h("span", { id: "match-state", className: `state state-${job.state}` }, stateText(job.state)),
      job.total ? ` · ${job.done} / ${job.total}` : ""),
    bar,
    job.state === "failed" ? h("p", { className: "form-error", id: "match-error" },
      [job.message, ...(job.errors || []).map((e) => `${e.field}: ${e.reason}`)].join(" · ")) : null,
    r ? h("dl", { className: "match-counts", id: "match-counts" }, STATUSES.map((s) => h("div", { id: `count-${s}` },
      h("dt", {}, t(`match_status_${s}`)), h("dd", {}, Number(r.counts?.[s] || 0).toLocaleString())))) : null,
    r ? h("p", { className: "muted" }, t("match_rows", { n: r.rows, encoding: r.encoding })) : null,
    r ? h("div", { className: "actions" }, h("button", { type: "button", id: "match-download", className: "primary",
      onclick: download }, t("match_download"))) : null,
    r && r.row_errors?.length ? rowErrors(r.row_errors) : null);
}

function rowErrors(errors) {
  return h("section", {}, h("h3", {}, t("match_row_errors", { n: errors.length })),
    h("table", { className: "attributes report-table", id: "match-row-errors" },
      h("thead", {}, h("tr", {}, ["report_row", "report_reason"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, errors.slice(0, 200).map((e) => h("tr", {}, h("td", {}, String(e.record)),
        h("td", {}, e.reason))))));
}

function renderLogin() {
  $("#match-login").hidden = Boolean(session.user());
}

$("#match-form").addEventListener("submit", submit);
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", () => {
  document.title = `${t("match_title")} · ${t("title")}`;
  render();
});
document.addEventListener("citybase:session", renderLogin);
applyStatic();
document.title = `${t("match_title")} · ${t("title")}`;
renderLogin();
