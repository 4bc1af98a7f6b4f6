// People CSV import: upload (POST /api/people/imports, multipart) → follow the job (GET /api/jobs/{id}) →
// registered and rejected counts, and the rejected rows with their CSV line, field and reason.
import { session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";
import { call, followJob, showError, stateText } from "./jobpage.js";

const $ = (selector) => document.querySelector(selector);
const follow = followJob(() => render());

async function submit(e) {
  e.preventDefault();
  $("#pimp-submit").disabled = true;
  try {
    follow.show(await call("/api/people/imports", { method: "POST", body: new FormData(e.target) }));
  } catch (err) {
    showError(err);
  } finally {
    $("#pimp-submit").disabled = false;
  }
}

function render() {
  const job = follow.job;
  const el = $("#pimp-status");
  if (!job) {
    el.hidden = true;
    return;
  }
  const bar = h("progress", { id: "pimp-progress", max: 100 });
  bar.setAttribute("aria-label", t("job_progress"));
  const fraction = job.state === "succeeded" ? 1 : job.progress;
  if (fraction !== null && fraction !== undefined) bar.value = Math.round(fraction * 100);
  const r = job.result;
  const count = (id, key, n) => h("div", { id }, h("dt", {}, t(key)), h("dd", {}, Number(n).toLocaleString()));
  el.hidden = false;
  fill(el,
    h("h2", {}, `${t("pimp_job")} #${job.id}`),
    h("p", {}, h("span", { id: "pimp-state", className: `state state-${job.state}` }, stateText(job.state)),
      job.total ? ` · ${job.done} / ${job.total}` : ""),
    bar,
    job.state === "failed" ? h("p", { className: "form-error", id: "pimp-error" },
      [job.message, ...(job.errors || []).map((e) => `${e.field}: ${e.reason}`)].join(" · ")) : null,
    r ? h("dl", { className: "match-counts", id: "pimp-counts" }, count("pimp-rows", "report_rows_read", r.rows),
      count("pimp-registered", "pimp_registered", r.registered), count("pimp-rejected", "pimp_rejected", r.rejected)) : null,
    r && r.errors.length ? rowErrors(r) : null);
}

function rowErrors(r) {
  const shown = r.errors.slice(0, 500);
  return h("section", {}, h("h3", {}, t("pimp_row_errors", { n: r.rejected, shown: shown.length })),
    h("table", { className: "attributes report-table", id: "pimp-row-errors" },
      h("thead", {}, h("tr", {}, ["report_row", "pimp_field", "report_reason"].map((k) => h("th", { scope: "col" }, t(k))))),
      h("tbody", {}, shown.map((e) => h("tr", {}, h("td", {}, String(e.record ?? "")), h("td", {}, e.field),
        h("td", {}, e.reason))))));
}

function renderLogin() {
  $("#pimp-login").hidden = Boolean(session.user());
}

$("#pimp-form").addEventListener("submit", submit);
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", () => {
  document.title = `${t("pimp_title")} · ${t("title")}`;
  render();
});
document.addEventListener("citybase:session", renderLogin);
applyStatic();
document.title = `${t("pimp_title")} · ${t("title")}`;
renderLogin();
