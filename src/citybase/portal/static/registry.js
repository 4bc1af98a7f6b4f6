// Registry search (三实查询): GET /api/registry/search?q=… recognises what was typed (ID number, USCC,
// unified object code, address display code or free text) and lists hits with links to their pages.
// The page decides nothing about access: a person hit appears only when the API returns one.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t, tValue } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);
let last = null; // { kind: "search" | "org", data } — re-rendered when the language changes

async function call(path) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { headers });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) {
    $("#regs-login").hidden = false;
    return;
  }
  const toast = $("#toast");
  const issues = (err.issues || []).map((i) => h("li", {}, `${i.field}: ${i.reason}`));
  fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""})`), h("p", {}, err.detail || err.message),
    issues.length ? h("ul", {}, issues) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

const LINKS = ["house", "org", "person", "plate", "code", "tree"];

function hit(item) {
  const links = LINKS.filter((k) => item.links?.[k]).map((k) =>
    h("a", { href: item.links[k], className: `regs-link-${k}` }, t(`regs_link_${k}`)));
  const level = item.level ? ` · ${tValue("level", item.level)}` : "";
  const li = h("li", { className: "regs-hit" },
    h("h3", {}, h("span", { className: "regs-type" }, t(`regs_type_${item.type}`)), item.title),
    item.subtitle ? h("p", { className: "muted" }, item.subtitle + level) : null,
    item.address && item.address !== item.title ? h("p", {}, item.address) : null,
    h("div", { className: "regs-links" }, links));
  li.dataset.type = item.type;
  li.dataset.id = String(item.id);
  return li;
}

function renderSearch(data) {
  $("#regs-org").hidden = true;
  $("#regs-kind").textContent = `${t(`regs_kind_${data.kind}`)} · ${t("regs_found", { n: data.count })}`;
  const box = $("#regs-message");
  const notAllowed = data.kind === "person" && data.message && !data.issues?.length && !data.items.length
    && data.message.includes("身份证号查询仅限");
  const text = notAllowed ? t("regs_person_denied") : data.message;
  box.hidden = !text;
  fill(box, text ? h("p", { id: "regs-message-text" }, text) : null,
    data.issues?.length ? h("ul", {}, data.issues.map((i) => h("li", {}, `${i.field}: ${i.reason}`))) : null);
  fill($("#regs-results"), data.items.length ? data.items.map(hit)
    : (text ? null : h("li", { className: "muted" }, t("regs_none"))));
}

function renderOrg(org) {
  fill($("#regs-results"));
  $("#regs-message").hidden = true;
  $("#regs-kind").textContent = t("regs_type_org");
  const sites = (org.sites || []).filter((s) => !s.until);
  const card = $("#regs-org");
  card.hidden = false;
  fill(card, h("h2", {}, org.name),
    h("dl", { className: "facts" },
      [["regs_uscc", org.uscc], ["regs_org_type", tValue("org_type", org.type)], ["regs_status", tValue("state", org.status)],
        ["regs_legal_rep", org.legal_rep], ["regs_registered_address", org.registered_address]]
        .filter(([, v]) => v).map(([k, v]) => [h("dt", {}, t(k)), h("dd", {}, v)])),
    h("h3", {}, t("regs_sites")),
    sites.length ? h("ul", { className: "regs-sites" }, sites.map((s) => h("li", {},
      `${tValue("regs_site", s.kind)} · ${org.addresses?.[s.address_node_id] ?? `#${s.address_node_id}`} `,
      h("a", { href: `house.html?q=${s.address_node_id}`, className: "regs-link-house" }, t("regs_link_house")))))
      : h("p", { className: "muted" }, t("regs_no_sites")));
}

async function search(text) {
  const q = (text ?? $("#regs-q").value).trim();
  if (!q) return;
  $("#regs-q").value = q;
  history.replaceState(null, "", `?q=${encodeURIComponent(q)}`);
  try {
    last = { kind: "search", data: await call(`/api/registry/search?q=${encodeURIComponent(q)}`) };
    $("#regs-login").hidden = true;
    renderSearch(last.data);
  } catch (err) {
    showError(err);
  }
}

async function showOrg(id) {
  try {
    const org = await call(`/api/orgs/${encodeURIComponent(id)}`);
    org.addresses = {};
    for (const s of (org.sites || []).filter((x) => !x.until).slice(0, 20)) {
      org.addresses[s.address_node_id] = (await call(`/api/addresses/nodes/${s.address_node_id}`)).full_address;
    }
    last = { kind: "org", data: org };
    renderOrg(last.data);
  } catch (err) {
    showError(err);
  }
}

function start() {
  applyStatic();
  $("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  $("#regs-form").addEventListener("submit", (e) => { e.preventDefault(); search(); });
  document.addEventListener("citybase:lang", () => {
    if (last?.kind === "search") renderSearch(last.data);
    else if (last?.kind === "org") renderOrg(last.data);
  });
  const params = new URLSearchParams(location.search);
  if (params.get("org")) showOrg(params.get("org"));
  else if (params.get("q")) search(params.get("q"));
  if (!session.token()) $("#regs-login").hidden = false;
}

start();
