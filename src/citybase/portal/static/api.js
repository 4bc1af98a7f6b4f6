// The only module that talks HTTP: JSON in and out, bearer token, problem JSON turned into ApiError.

const TOKEN_KEY = "citybase.token";
const USER_KEY = "citybase.user";

/** An error answer of the API (RFC 9457 problem JSON: title, detail, issues[{field, reason, record}]). */
export class ApiError extends Error {
  constructor(status, problem = {}) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.title = problem.title || `HTTP ${status}`;
    this.detail = problem.detail || "";
    this.issues = Array.isArray(problem.issues) ? problem.issues : [];
    this.requestId = problem.request_id || null;
  }
}

export const session = {
  token: () => localStorage.getItem(TOKEN_KEY),
  user() {
    try {
      return JSON.parse(localStorage.getItem(USER_KEY));
    } catch {
      return null;
    }
  },
  save(token, user) {
    localStorage.setItem(TOKEN_KEY, token);
    localStorage.setItem(USER_KEY, JSON.stringify(user));
    document.dispatchEvent(new CustomEvent("citybase:session"));
  },
  clear() {
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
    document.dispatchEvent(new CustomEvent("citybase:session"));
  },
};

async function request(path, { method = "GET", body, form, signal, auth = true } = {}) {
  const headers = { Accept: "application/json" };
  const token = auth ? session.token() : null;
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  // FormData (file uploads) sets its own multipart Content-Type with the boundary.
  const payload = form ?? (body === undefined ? undefined : JSON.stringify(body));
  let res;
  try {
    res = await fetch(path, { method, headers, signal, body: payload });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError(0, { title: "network", detail: err.message });
  }
  const isJson = (res.headers.get("Content-Type") || "").includes("json");
  const data = res.status === 204 ? null : isJson ? await res.json() : await res.text();
  if (res.ok) return data;
  // An expired session must not block what anonymous callers may read: forget it and read again.
  if (res.status === 401 && token && method === "GET") {
    session.clear();
    return request(path, { method, body, signal, auth: false });
  }
  throw new ApiError(res.status, isJson ? data : { detail: String(data).slice(0, 300) });
}

/** GET an endpoint that another part of the platform may not offer yet: 404 and 405 give null. */
async function optional(path) {
  try {
    return await request(path);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 405)) return null;
    throw err;
  }
}

function query(params) {
  const clean = Object.entries(params).filter(([, v]) => v !== undefined && v !== null && v !== "");
  return new URLSearchParams(clean).toString();
}

export const api = {
  classes: () => request("/api/classes"),
  departments: () => request("/api/admin/departments"),
  object: (id) => request(`/api/objects/${encodeURIComponent(id)}`),
  history: (id) => request(`/api/objects/${encodeURIComponent(id)}/history`),
  /** A FeatureCollection of objects: params are those of GET /api/objects (class, bbox, q, limit…). */
  features: (params, signal) => request(`/api/objects?${query({ ...params, f: "geojson" })}`, { signal }),
  search: (text, limit = 20) => request(`/api/objects?${query({ q: text, limit })}`),
  me: () => request("/api/auth/me"),
  layers: () => request("/api/layers"),
  /** The versions of a dataset layer, and what changed between two of them (swipe-compare). */
  layerVersions: (name) => request(`/api/layers/${encodeURIComponent(name)}/versions`),
  compareVersions: (name, from, to) =>
    request(`/api/layers/${encodeURIComponent(name)}/compare?${query({ from, to })}`),
  /** The code card of a 21-character unified code (object, address, Beidou code, lineage). */
  code: (code) => request(`/api/codes/${encodeURIComponent(code)}`),
  /** Counts per class of the objects inside a GeoJSON (Multi)Polygon. */
  objectStats: (geometry, classes = []) => request("/api/objects/stats", { method: "POST", body: { geometry, classes } }),
  /** Address suggestions; null when this server has no address service (404), so callers degrade quietly. */
  addressSuggest: (text, limit = 8) => optional(`/api/addresses/suggest?${query({ q: text, limit })}`),
  geocode: (text) => optional(`/api/addresses/geocode?${query({ q: text })}`),
  job: (id) => request(`/api/jobs/${encodeURIComponent(id)}`),
  imports: {
    /** Upload a file as multipart form data: file, layer, class_code, crs (see docs/portal.md). */
    create: (form) => request("/api/imports", { method: "POST", form }),
    get: (id) => request(`/api/imports/${encodeURIComponent(id)}`),
  },
  jobs: () => request("/api/jobs"),
  async login(username, password) {
    const answer = await request("/api/auth/login", { method: "POST", body: { username, password }, auth: false });
    session.save(answer.token, answer.user);
    return answer.user;
  },
  async logout() {
    try {
      await request("/api/auth/logout", { method: "POST" });
    } finally {
      session.clear();
    }
  },
};
