// One search box for names, unified codes and addresses.
// A 21-character unified code is resolved by GET /api/codes/{code}; anything else searches object names
// (GET /api/objects?q=) and, where this server has an address service, addresses (suggest, then geocode).
import { api, ApiError } from "./api.js";

const CODE = /^[0-9A-Za-z]{21}$/;

/** Whether the text is shaped like a unified identification code (21 letters or digits). */
export function looksLikeCode(text) {
  return CODE.test(text);
}

/** Results as {kind: "object"|"address", id?, name, class_code?, geometry, viaCode?}; objects first. */
export async function searchAll(text) {
  if (looksLikeCode(text)) {
    try {
      const card = await api.code(text.toUpperCase());
      return [{ kind: "object", id: card.object.id, name: card.object.name, class_code: card.object.class_code,
        geometry: card.geometry, viaCode: true }];
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 404) throw err;
      // Not an issued code: it may still be (part of) a name; fall through to the text search.
    }
  }
  const [objects, addresses] = await Promise.all([api.search(text), searchAddresses(text)]);
  const found = objects.items.map((o) => ({ kind: "object", id: o.id, name: o.name, class_code: o.class_code,
    geometry: o.geometry }));
  return [...found, ...addresses];
}

/** Type-ahead while typing: standard addresses only (suggest), [] when the service is missing. */
export async function suggestAddresses(text) {
  try {
    return listOf(await api.addressSuggest(text)).map(toResult).filter((r) => r.name);
  } catch {
    return [];
  }
}

/** Address hits; [] when the address service is missing or fails (the object search still answers). */
async function searchAddresses(text) {
  try {
    const suggested = await api.addressSuggest(text);
    let items = listOf(suggested);
    if (suggested && !items.length) items = listOf(await api.geocode(text));
    return items.map(toResult).filter((r) => r.name);
  } catch {
    return [];
  }
}

function listOf(answer) {
  if (!answer) return [];
  if (Array.isArray(answer)) return answer;
  return answer.items || answer.results || answer.candidates || answer.features || [];
}

/** Accept the shapes an address answer may take: GeoJSON features, {geometry}, {lon, lat} or {location}. */
function toResult(item) {
  const props = item.properties || item;
  const name = props.full_address || props.address || props.text || props.label || props.name || "";
  let geometry = item.geometry || props.geometry || null;
  const lon = props.lon ?? props.lng ?? props.location?.lon ?? props.location?.[0];
  const lat = props.lat ?? props.location?.lat ?? props.location?.[1];
  if (!geometry && Number.isFinite(lon) && Number.isFinite(lat)) geometry = { type: "Point", coordinates: [lon, lat] };
  return { kind: "address", name: String(name), geometry };
}
