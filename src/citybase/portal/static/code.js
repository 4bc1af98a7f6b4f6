// The code page: resolve a unified code (GET /api/codes/{code}), show its card and lineage on the map,
// and print its QR label. Opened by the QR labels themselves: code.html?code=<code>.
import { ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { CityMap, geometryBounds } from "./map.js";

const card = document.getElementById("code-card");
const form = document.getElementById("code-form");
const input = document.getElementById("code-input");
const STATES = { planned: "规划 planned", active: "在用 active", retired: "注销 retired" };
const KINDS = { merge: "合并 merge", split: "拆分 split" };
const LINEAGE = { type: "FeatureCollection", features: [] };

async function getJson(path) {
  const headers = { Accept: "application/json" };
  if (session.token()) headers.Authorization = `Bearer ${session.token()}`;
  const res = await fetch(path, { headers });
  const data = (res.headers.get("Content-Type") || "").includes("json") ? await res.json() : {};
  if (!res.ok) throw new ApiError(res.status, data);
  return data;
}

const resolve = (code) => getJson(`/api/codes/${encodeURIComponent(code)}`);
const legacyIds = (code) => getJson(`/api/codes/${encodeURIComponent(code)}/crosswalk`);

/** The code in its four parts: division, class, serial, check character. */
function codeText(code) {
  return h("p", { className: "code-text" },
    [code.slice(0, 6), code.slice(6, 12), code.slice(12, 20), code.slice(20)].map((part) => h("span", {}, part)));
}

function codeLink(code) {
  return h("a", { href: `code.html?code=${encodeURIComponent(code)}` }, code);
}

function facts(rows) {
  return h("dl", { className: "facts" }, rows.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .map(([label, value]) => [h("dt", {}, label), h("dd", {}, value)]));
}

function lineageList(title, links, pick) {
  if (!links.length) return null;
  return [h("h3", {}, title), h("ul", { className: "lineage" },
    links.map((l) => h("li", {}, codeLink(pick(l)), " · ", KINDS[l.kind] || l.kind, " · ",
      new Date(l.at).toLocaleDateString("zh-CN"))))];
}

function showProblem(err, code) {
  const issues = err instanceof ApiError ? err.issues : [];
  const heading = err.status === 404 ? "本平台未发出此代码 / not issued here"
    : err.status === 400 ? "代码无效 / invalid code" : "查询失败 / lookup failed";
  fill(card, h("div", { className: "problem" },
    h("h2", {}, heading), h("p", { className: "code-text" }, code),
    h("p", {}, err.detail || err.message),
    issues.length ? h("ul", {}, issues.map((i) => h("li", {}, i.reason))) : null));
}

function showCard(c, legacy) {
  const obj = c.object;
  const retired = c.code_state === "retired";
  fill(card,
    h("div", { className: "card-head" }, h("div", {},
      h("p", { className: "card-kicker" }, `${obj.class_name || obj.class_code} · ${obj.class_code}`),
      h("h2", {}, obj.name))),
    codeText(c.code),
    facts([
      ["状态 state", h("span", { className: `state state-${obj.state}` }, STATES[obj.state] || obj.state)],
      ["区划 division", `${c.division.name || ""} ${c.division.code}`],
      ["部门 department", c.department ? c.department.name : ""],
      ["北斗网格码", c.beidou ? c.beidou.code2d : "—"],
      ["北斗三维码", c.beidou && c.beidou.code3d],
      ["赋码时间 issued", new Date(c.issued_at).toLocaleString("zh-CN", { hour12: false })],
      ["注销时间 retired", c.retired_at && new Date(c.retired_at).toLocaleString("zh-CN", { hour12: false })],
      ["标准地址 address", c.address || "—"],
    ]),
    retired && c.replaced_by.length
      ? [h("h3", {}, "已由以下代码替代 / replaced by"), h("ul", { className: "lineage" },
        c.replaced_by.map((code) => h("li", {}, codeLink(code))))] : null,
    lineageList("来源 / came from", c.lineage.came_from, (l) => l.from_code),
    retired ? null : lineageList("去向 / went to", c.lineage.went_to, (l) => l.to_code),
    legacy.length ? [h("h3", {}, "部门原编码 / departments' own ids"), facts(
      legacy.map((e) => [e.department.code, e.legacy_id]))] : null,
    h("h3", {}, "标牌 / label"),
    h("img", { className: "label-preview", src: c.links.label_svg, alt: `QR label of ${c.code}` }),
    h("div", { className: "actions no-print" },
      h("button", { type: "button", className: "primary", onclick: () => window.print() }, "打印标牌 print"),
      h("a", { href: c.links.label_svg, download: `${c.code}.svg` }, h("button", { type: "button" }, "SVG")),
      h("a", { href: c.links.label_png, download: `${c.code}.png` }, h("button", { type: "button" }, "PNG"))));
}

/** The object in orange (the map's selection), the codes it came from and went to dashed grey. */
async function showOnMap(cityMap, c) {
  await cityMap.ready;
  const map = cityMap.map;
  if (!map.getSource("lineage")) {
    map.addSource("lineage", { type: "geojson", data: LINEAGE });
    map.addLayer({ id: "lineage-line", type: "line", source: "lineage",
      paint: { "line-color": "#607d8b", "line-width": 2, "line-dasharray": [2, 2] } });
    map.addLayer({ id: "lineage-point", type: "circle", source: "lineage", filter: ["==", ["geometry-type"], "Point"],
      paint: { "circle-radius": 7, "circle-color": "rgba(96,125,139,0.15)", "circle-stroke-color": "#607d8b",
        "circle-stroke-width": 2 } });
  }
  cityMap.highlight(c.geometry ? { geometry: c.geometry, class_code: c.object.class_code, id: c.object.id } : null);
  const related = [...c.lineage.came_from.map((l) => l.from_code), ...c.lineage.went_to.map((l) => l.to_code)];
  const cards = await Promise.all(related.map((code) => resolve(code).catch(() => null)));
  const features = cards.filter((x) => x && x.geometry)
    .map((x) => ({ type: "Feature", geometry: x.geometry, properties: { code: x.code } }));
  map.getSource("lineage").setData({ type: "FeatureCollection", features });
  const all = [c.geometry, ...features.map((f) => f.geometry)].filter(Boolean);
  if (!all.length) return;
  const box = all.map(geometryBounds).reduce((a, b) => [Math.min(a[0], b[0]), Math.min(a[1], b[1]),
    Math.max(a[2], b[2]), Math.max(a[3], b[3])]);
  cityMap.flyTo({ type: "MultiPoint", coordinates: [[box[0], box[1]], [box[2], box[3]]] });
}

async function show(cityMap, raw) {
  const code = raw.trim().toUpperCase();
  if (!code) return;
  input.value = code;
  document.title = `${code} · 统一识别代码`;
  fill(card, h("p", { className: "empty" }, "查询中… / resolving…"));
  try {
    const c = await resolve(code);
    showCard(c, await legacyIds(code).then((x) => x.items).catch(() => []));
    await showOnMap(cityMap, c);
  } catch (err) {
    showProblem(err, code);
    cityMap.highlight(null);
  }
}

const cityMap = new CityMap(document.getElementById("map"), { attribution: "citybase" });
form.addEventListener("submit", (e) => {
  e.preventDefault();
  const code = input.value.trim().toUpperCase();
  history.pushState({ code }, "", `code.html?code=${encodeURIComponent(code)}`);
  show(cityMap, code);
});
window.addEventListener("popstate", () => show(cityMap, new URLSearchParams(location.search).get("code") || ""));
show(cityMap, new URLSearchParams(location.search).get("code") || "");
