// The jobs indicator: long work (imports, bulk coding, batch matching) with its progress and error report.
import { api, session } from "./api.js";
import { fill, h } from "./card.js";
import { t } from "./i18n.js";

/** Set HTML attributes (h() sets DOM properties, which data-* and aria-* are not). */
function attrs(el, values) {
  for (const [name, value] of Object.entries(values)) if (value !== undefined) el.setAttribute(name, value);
  return el;
}

const ACTIVE = new Set(["queued", "running"]);
const FAST_MS = 2000; // while something runs, refresh often; otherwise now and then
const SLOW_MS = 20000;

export class JobsPanel {
  constructor(button, panel, { onError }) {
    this.button = button;
    this.panel = panel;
    this.onError = onError;
    this.jobs = [];
    this.timer = null;
    button.addEventListener("click", () => this.toggle());
    document.addEventListener("citybase:session", () => this.refresh());
    document.addEventListener("citybase:lang", () => this.render());
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
    if (open) this.refresh();
  }

  async refresh() {
    clearTimeout(this.timer);
    if (!session.user()) {
      this.jobs = [];
      this.render();
      return;
    }
    try {
      this.jobs = (await api.jobs()).items;
    } catch (err) {
      if (!this.panel.hidden) this.onError(err);
    }
    this.render();
    const busy = this.jobs.some((j) => ACTIVE.has(j.state));
    this.timer = setTimeout(() => this.refresh(), busy ? FAST_MS : SLOW_MS);
  }

  render() {
    const active = this.jobs.filter((j) => ACTIVE.has(j.state)).length;
    this.button.hidden = !session.user();
    fill(this.button, t("jobs"), active ? h("span", { className: "badge" }, String(active)) : null);
    if (this.panel.hidden) return;
    const rows = this.jobs.map((job) => this.row(job));
    fill(this.panel,
      h("div", { className: "panel-head" },
        h("h2", {}, t("jobs")),
        attrs(h("button", { type: "button", className: "icon-button", onclick: () => this.toggle(false) }, "×"),
          { "aria-label": t("close") })),
      rows.length ? h("ul", { className: "job-list" }, rows) : h("p", { className: "muted" }, t("no_jobs")));
  }

  row(job) {
    const percent = job.progress === null ? null : Math.round(job.progress * 100);
    const errors = job.errors || [];
    const bar = attrs(h("progress", { max: 100 }), { "aria-label": t("job_progress"),
      value: percent === null ? undefined : String(percent) });
    return attrs(h("li", { className: `job job-${job.state}` },
      h("div", { className: "job-head" },
        h("span", { className: "job-kind" }, `#${job.id} ${t(`job_kind_${job.kind}`) || job.kind}`),
        h("span", { className: "job-state" }, t(`job_state_${job.state}`))),
      bar,
      h("div", { className: "job-meta muted" },
        job.total ? `${job.done} / ${job.total}` : String(job.done),
        job.message ? ` · ${job.message}` : ""),
      errors.length ? h("details", {},
        h("summary", {}, t("job_errors", { n: errors.length })),
        h("ul", {}, errors.slice(0, 50).map((e) =>
          h("li", {}, [e.record !== undefined ? `#${e.record}` : "", e.field, e.reason].filter(Boolean).join(" "))))) : null),
    { "data-job-id": String(job.id) });
  }
}
