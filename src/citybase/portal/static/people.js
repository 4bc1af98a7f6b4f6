// Person search: GET /api/people (masked), GET /api/people/{id}?unmasked=true&purpose=… (audited).
// The page never decides who may see more: it asks, and shows the API's answer (403 names the reason).
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";

const $ = (selector) => document.querySelector(selector);

async function get(path) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { headers });
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function showError(err) {
  if (err instanceof ApiError && err.status === 401) {
    $("#pop-login").hidden = false;
    return;
  }
  const toast = $("#toast");
  const issues = (err.issues || []).map((i) => `${i.field}: ${i.reason}`);
  fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""})`), h("p", {}, err.detail || err.message),
    issues.length ? h("ul", {}, issues.map((x) => h("li", {}, x))) : null,
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

function purposeBox(person) {
  const input = h("input", { id: "purpose-input", placeholder: t("pop_purpose_placeholder"), required: true });
  const form = h("form", { className: "purpose-box", id: "purpose-form" },
    h("label", { htmlFor: "purpose-input", className: "visually-hidden" }, t("pop_purpose")), input,
    h("button", { type: "submit", className: "primary", id: "purpose-submit" }, t("pop_unmask_confirm")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      const full = await get(`/api/people/${person.id}?unmasked=true&purpose=${encodeURIComponent(input.value)}`);
      showDetail(full);
    } catch (err) {
      showError(err);
    }
  });
  return form;
}

function showDetail(p) {
  const home = p.home ? `${t("pop_home")} #${p.home.address_node_id} · ${p.home.relation} · ${p.home.move_in}` : t("pop_no_home");
  fill($("#people-detail"), h("div", { className: p.masked ? "pop-card" : "people-full", id: "person-card" },
    h("h3", {}, `${p.name} · ${p.id_number}`),
    h("p", {}, [t(`sex_${p.sex}`), p.birth_date || p.birth_year, t(`rtype_${p.residence_type}`)].join(" · ")),
    p.phone ? h("p", {}, `${t("pop_phone")} ${p.phone}`) : null,
    h("p", { className: "pop-note" }, home),
    p.masked ? [h("p", { className: "pop-note" }, t("pop_masked_note")), purposeBox(p)]
      : h("p", { className: "pop-note" }, t("pop_audited_note"))));
}

function row(p) {
  return h("tr", { id: `person-${p.id}` },
    h("td", {}, p.name), h("td", {}, p.id_number), h("td", { className: "wide" }, t(`sex_${p.sex}`)),
    h("td", { className: "wide" }, String(p.birth_year)), h("td", {}, t(`rtype_${p.residence_type}`)),
    h("td", {}, h("button", { type: "button", className: "show-person", onclick: () => showDetail(p) }, t("pop_view"))));
}

async function search(e) {
  e?.preventDefault();
  const params = new URLSearchParams();
  if ($("#q-id").value.trim()) params.set("id_number", $("#q-id").value.trim());
  if ($("#q-name").value.trim()) params.set("name", $("#q-name").value.trim());
  if ($("#q-node").value.trim()) params.set("node_id", $("#q-node").value.trim());
  if (![...params.keys()].length) return;
  try {
    const data = await get(`/api/people?${params}`);
    fill($("#people-rows"), data.people.map(row));
    $("#people-count").textContent = t("pop_found", { n: data.count });
    fill($("#people-detail"));
  } catch (err) {
    showError(err);
  }
}

$("#people-form").addEventListener("submit", search);
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
applyStatic();
const node = new URLSearchParams(location.search).get("node");
if (node) {
  $("#q-node").value = node;
  search();
}
