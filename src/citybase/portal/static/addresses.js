// The address tree browser: GET /api/addresses/nodes[/{id}[/children]] and /api/addresses/search.
// Choosing a node shows its full address, display code, old names and history, and flies the map to it.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, setLang, getLang, t } from "./i18n.js";
import { CityMap } from "./map.js";

const $ = (selector) => document.querySelector(selector);
let current = null; // the node shown (null: the roots)

async function get(path) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { headers });
  const data = await res.json();
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

function showError(err) {
  const toast = $("#toast");
  fill(toast, h("strong", {}, `${t("error")} (${err.status ?? ""})`), h("p", {}, err.detail || err.message),
    h("button", { type: "button", onclick: () => { toast.hidden = true; } }, t("dismiss")));
  toast.hidden = false;
}

const level = (name) => t(`level_${name}`);

function row(item, onPick) {
  return h("li", {}, h("button", { type: "button", onclick: () => onPick(item) },
    h("span", {}, item.name, h("span", { className: "addr-level" }, level(item.level))),
    item.children === undefined ? null : h("span", { className: "addr-count", title: t("addr_count") },
      item.children.toLocaleString())));
}

function crumbs(path) {
  const parts = [h("button", { type: "button", onclick: () => open(null) }, t("addr_root"))];
  for (const p of path) {
    parts.push(h("span", { className: "sep" }, "›"));
    parts.push(h("button", { type: "button", onclick: () => open(p.id) }, p.name));
  }
  fill($("#addr-crumbs"), parts);
}

function detail(node) {
  if (!node) return fill($("#addr-detail"));
  const old = node.aliases.filter((a) => a.kind === "old").map((a) => a.name);
  const common = node.aliases.filter((a) => a.kind === "common").map((a) => a.name);
  fill($("#addr-detail"),
    h("h2", {}, node.name, h("span", { className: "addr-level" }, level(node.level))),
    h("p", { className: "addr-full" }, node.full_address),
    h("dl", { className: "facts" },
      h("dt", {}, t("addr_display_code")), h("dd", { className: "addr-code" }, node.display_code),
      node.source_id ? [h("dt", {}, t("addr_source_id")), h("dd", {}, node.source_id)] : null,
      old.length ? [h("dt", {}, t("addr_old_names")), h("dd", {}, old.join("、"))] : null,
      common.length ? [h("dt", {}, t("addr_common_names")), h("dd", {}, common.join("、"))] : null,
      node.grid ? [h("dt", {}, t("addr_grid")), h("dd", { className: "addr-code" }, node.grid)] : null,
      h("dt", {}, t("version")), h("dd", {}, `${node.version} (${node.history.map((v) => t(`change_${v.change}`))
        .join(" → ")})`)),
    ["town", "community", "road", "door_number"].includes(node.level)
      ? h("p", {}, h("a", { href: `naming.html?parent=${node.id}`, className: "propose-here" }, t("addr_propose_here")))
      : null,
    registryLinks(node));
}

// Links to the registries (issue 6): the public QR page, the plate sheet of a road / compound / community,
// the house card of a building, unit, floor or room.
function registryLinks(node) {
  const links = [];
  if (node.display_code) {
    links.push(h("a", { href: `/a/${encodeURIComponent(node.display_code)}`, className: "addr-plate-page" },
      t("addr_plate_page")));
  }
  if (["road", "compound", "community"].includes(node.level)) {
    const url = `/api/plates/sheet.pdf?parent=${node.id}`;
    links.push(h("a", { href: url, className: "addr-plate-sheet", onclick: (e) => { e.preventDefault(); download(url, `plates-${node.id}.pdf`); } },
      t("addr_plate_sheet")));
  }
  if (["building", "unit", "floor", "room"].includes(node.level)) {
    links.push(h("a", { href: `house.html?node=${node.id}`, className: "addr-house-card" }, t("addr_house_card")));
  }
  return links.length ? h("p", { className: "addr-links" }, links.flatMap((a, i) => (i ? [" · ", a] : [a]))) : null;
}

/** The sheet needs the caller's token, which a plain link does not send: fetch it and save the blob. */
async function download(url, name) {
  try {
    const headers = session.token() ? { Authorization: `Bearer ${session.token()}` } : {};
    const res = await fetch(url, { headers });
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => ({})));
    const a = h("a", { href: URL.createObjectURL(await res.blob()), download: name });
    document.body.append(a);
    a.click();
    a.remove();
  } catch (err) {
    showError(err);
  }
}

function located(node) {
  const withPoint = [...node.path].reverse().find((p) => p.lon !== null && p.lon !== undefined);
  return withPoint ? { type: "Point", coordinates: [withPoint.lon, withPoint.lat] } : null;
}

async function open(id, push = true) {
  try {
    const node = id === null ? null : await get(`/api/addresses/nodes/${id}`);
    const kids = await get(id === null ? "/api/addresses/nodes" : `/api/addresses/nodes/${id}/children`);
    current = node;
    crumbs(node ? node.path : []);
    detail(node);
    $("#addr-children-title").hidden = kids.items.length === 0;
    fill($("#addr-children"), kids.items.map((k) => row(k, (x) => open(x.id))));
    if (push) history.pushState({ id }, "", id === null ? "addresses.html" : `addresses.html?node=${id}`);
    const point = node && located(node);
    if (point) {
      await cityMap.ready;
      cityMap.highlight({ geometry: point });
      cityMap.flyTo(point);
      document.body.dataset.flown = String(id);
    }
  } catch (err) {
    showError(err);
  }
}

async function search(e) {
  e.preventDefault();
  const q = $("#addr-q").value.trim();
  if (!q) return;
  try {
    const found = await get(`/api/addresses/search?q=${encodeURIComponent(q)}&limit=50`);
    crumbs([]);
    detail(null);
    $("#addr-children-title").hidden = false;
    fill($("#addr-children"), found.items.length ? found.items.map((r) => row({ ...r, name: r.full_address },
      (x) => open(x.id))) : h("li", { className: "empty" }, t("no_results")));
  } catch (err) {
    showError(err);
  }
}

const cityMap = new CityMap(document.getElementById("map"), { attribution: "citybase" });
applyStatic();
$("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
document.addEventListener("citybase:lang", () => open(current ? current.id : null, false));
$("#addr-search").addEventListener("submit", search);
window.addEventListener("popstate", () => open(Number(new URLSearchParams(location.search).get("node")) || null,
  false));
open(Number(new URLSearchParams(location.search).get("node")) || null, false);
