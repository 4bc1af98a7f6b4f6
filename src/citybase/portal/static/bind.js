// "Two scans, five steps" (两扫五步) on a phone: (1) scan the door-plate QR (BarcodeDetector when the browser
// has it, else type or paste), (2) photograph the shopfront, (3) pick the building, (4) confirm the address,
// (5) scan or enter the USCC and bind the organisation. Every step talks to /api/houses or /api/orgs.
import { api, ApiError, session } from "./api.js";
import { fill, h } from "./card.js";
import { applyStatic, getLang, setLang, t } from "./i18n.js";
import { call, showError } from "./house.js";

const $ = (selector) => document.querySelector(selector);
const state = { plate: null, photo: null, building: null };

function step(n) {
  document.body.dataset.step = String(n);
  for (let k = 1; k <= 5; k += 1) $(`#step-${k}`).classList.toggle("bind-active", k === n);
  $(`#step-${n}`).scrollIntoView({ block: "nearest" });
}

async function scanPlate(text) {
  if (!text) return;
  try {
    state.plate = await call(`/api/houses/scan?q=${encodeURIComponent(text)}`);
  } catch (err) {
    showError(err);
    return;
  }
  $("#plate-found").textContent = `${state.plate.full_address} (${state.plate.display_code})`;
  fill($("#building-list"), state.plate.buildings.map((b) => h("button", {
    type: "button", className: "bind-building", onclick: () => pickBuilding(b),
  }, b.name, b.house ? h("span", { className: "muted" }, ` · ${t(`house_use_${b.house.use}`)}`) : null)));
  if (!state.plate.buildings.length) {
    fill($("#building-list"), h("button", { type: "button", className: "bind-building", onclick: () => pickBuilding({
      node_id: state.plate.node_id, name: state.plate.full_address, full_address: state.plate.full_address,
      display_code: state.plate.display_code }) }, t("bind_plate_itself")));
  }
  step(2);
}

async function uploadPhoto(file) {
  if (!file) return;
  const form = new FormData();
  form.append("photo", file);
  try {
    state.photo = (await call("/api/orgs/photos", { method: "POST", form })).photo_path;
  } catch (err) {
    showError(err);
    return;
  }
  const preview = $("#photo-preview");
  preview.src = URL.createObjectURL(file);
  preview.hidden = false;
  $("#photo-done").textContent = t("bind_photo_done");
  step(3);
}

function pickBuilding(b) {
  state.building = b;
  for (const el of document.querySelectorAll(".bind-building")) el.classList.toggle("picked", el.textContent.startsWith(b.name));
  fill($("#confirm-address"), h("strong", {}, b.full_address), h("br"), h("span", { className: "muted" }, b.display_code));
  step(4);
}

async function bind() {
  const uscc = $("#uscc-input").value.replace(/[\s-]/g, "").toUpperCase();
  try {
    try {
      await call(`/api/orgs/by-uscc/${encodeURIComponent(uscc)}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      if ($("#org-new").hidden) { // not registered yet: ask for its name and type first
        $("#org-new").hidden = false;
        $("#org-name").focus();
        return;
      }
      await call("/api/orgs", { method: "POST", body: { uscc, name: $("#org-name").value.trim(),
        type: $("#org-type").value, registered_address: state.building.full_address } });
    }
    const org = await call("/api/orgs/bind", { method: "POST", body: { uscc, address_node_id: state.building.node_id,
      kind: "operating", photo_path: state.photo } });
    $("#bind-result").textContent = t("bind_done", { name: org.name, address: state.building.full_address });
    document.body.dataset.bound = org.uscc;
  } catch (err) {
    showError(err);
  }
}

/** Scan with the camera when the browser has BarcodeDetector (no library is downloaded). */
async function scanWithCamera(input, then) {
  const video = $("#camera");
  let stream;
  try {
    const detector = new window.BarcodeDetector({ formats: ["qr_code", "code_128", "data_matrix"] });
    stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } });
    video.srcObject = stream;
    video.hidden = false;
    await video.play();
    for (let tries = 0; tries < 300; tries += 1) {
      const codes = await detector.detect(video);
      if (codes.length) {
        input.value = codes[0].rawValue;
        then(codes[0].rawValue);
        return;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (err) {
    showError(err instanceof ApiError ? err : new ApiError(0, { detail: err.message }));
  } finally {
    if (stream) for (const track of stream.getTracks()) track.stop();
    video.hidden = true;
  }
}

function start() {
  applyStatic();
  $("#lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
  $("#bind-login").hidden = Boolean(session.token());
  $("#bind-login").addEventListener("submit", async (e) => {
    e.preventDefault();
    try {
      await api.login($("#bind-user").value, $("#bind-pass").value);
      $("#bind-login").hidden = true;
    } catch (err) {
      showError(err);
    }
  });
  $("#plate-go").addEventListener("click", () => scanPlate($("#plate-input").value.trim()));
  $("#plate-input").addEventListener("keydown", (e) => { if (e.key === "Enter") scanPlate(e.target.value.trim()); });
  $("#photo-input").addEventListener("change", (e) => uploadPhoto(e.target.files[0]));
  $("#confirm-go").addEventListener("click", () => { if (state.building) step(5); });
  $("#bind-go").addEventListener("click", bind);
  if ("BarcodeDetector" in window) {
    $("#plate-camera").hidden = false;
    $("#uscc-camera").hidden = false;
    $("#plate-camera").addEventListener("click", () => scanWithCamera($("#plate-input"), scanPlate));
    $("#uscc-camera").addEventListener("click", () => scanWithCamera($("#uscc-input"), () => {}));
  }
  const q = new URLSearchParams(location.search).get("plate");
  if (q) {
    $("#plate-input").value = q;
    scanPlate(q);
  }
  step(1);
}

start();
