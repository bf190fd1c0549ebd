// The page's only way to the server: the Octavia v2 API (and the dashboard's own two JSON
// documents) on this origin, with the signed-in caller's token. The token lives in
// sessionStorage: it goes when the tab closes, and the page's CSP lets no other script read it.

const TOKEN_KEY = "lbaas.token";

export const LBAAS = "/v2/lbaas";
export const NETWORKING = "/v2.0";

/** An API error: HTTP status, Octavia's faultstring, and the fields it names. */
export class ApiError extends Error {
  constructor(status, fault) {
    super(fault || `HTTP ${status}`);
    this.status = status;
    this.fault = fault || `HTTP ${status}`;
    /** One {path, message, text} per field the API refused, e.g. path ["listeners", "0",
     * "default_pool", "members", "1", "address"], message "Must be an IPv4 or IPv6 address". */
    this.parts = fieldFaults(this.fault);
    this.path = this.parts.length ? this.parts[0].path : [];
    this.field = this.path.length ? this.path[this.path.length - 1] : null;
  }
}

// "Invalid input for field/attribute listeners.0.protocol_port. Value: 70000. Input should be
// less than or equal to 65535; Invalid input for ..." (the envelope key, "loadbalancer", is not
// part of the path).
const FIELD_FAULT = /Invalid input for field\/attribute ([\w.-]*\w)\.(?:\s+|$)([\s\S]*?)(?=;\s*Invalid input for field\/attribute |$)/g;

/** The field faults in an Octavia faultstring, each with its path and a readable message. */
export function fieldFaults(fault) {
  return [...fault.matchAll(FIELD_FAULT)].map((m) => {
    const path = m[1].split(".");
    const message = readable(m[2].trim());
    return {path, message, text: `${path[path.length - 1]}: ${message}`};
  });
}

/** "Value: 'x'. Value error, must be an IP" -> "Must be an IP" (the value is in the field). */
function readable(rest) {
  let msg = rest;
  const i = msg.indexOf("Value error, ");
  if (i >= 0) msg = msg.slice(i + "Value error, ".length);
  else if (msg.startsWith("Value: ")) {
    const j = msg.lastIndexOf(". ");
    msg = j >= 0 ? msg.slice(j + 2) : msg;
  }
  msg = msg.replace(/[;\s]+$/, "");
  if (!msg) return rest;
  // "Input should be ..." / "must be ..." read as sentences; an attribute's name keeps its case.
  return /^[a-z]+_/.test(msg) ? msg : msg[0].toUpperCase() + msg.slice(1);
}

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

/** Listeners called with the ApiError when the token stops working (401). */
const signedOut = new Set();
export function onSignedOut(fn) { signedOut.add(fn); }

export async function request(method, path, body, {auth = true} = {}) {
  const headers = {"Accept": "application/json", "X-Requested-With": "XMLHttpRequest"};
  if (auth && token()) headers["X-Auth-Token"] = token();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {method, headers, credentials: "omit", cache: "no-store",
                                  body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (exc) {
    throw new ApiError(0, `The server could not be reached (${exc.message}).`);
  }
  const text = await response.text();
  let data = null;
  if (text) {
    try { data = JSON.parse(text); } catch { data = null; }
  }
  if (!response.ok) {
    const fault = data && (data.faultstring || data.description || data.title);
    const error = new ApiError(response.status, fault || text.slice(0, 300));
    if (response.status === 401 && auth) for (const fn of signedOut) fn(error);
    throw error;
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, body) => request("POST", path, body);
export const put = (path, body) => request("PUT", path, body);
export const del = (path) => request("DELETE", path);

/** GET every page of an Octavia collection (follows `<key>_links` rel=next). */
export async function list(path, key) {
  let next = path;
  const items = [];
  while (next) {
    const data = await get(next);
    items.push(...(data[key] || []));
    const link = (data[`${key}_links`] || []).find((l) => l.rel === "next");
    // The link's path on this origin (the API may name itself by another address).
    const url = link ? new URL(link.href, location.origin) : null;
    next = url ? url.pathname + url.search : null;
  }
  return items;
}

/** Poll `load` until `done(value)`; calls `progress(value)` on each answer. */
export async function until(load, done, progress, {interval = 1000, timeout = 600000} = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const value = await load();
    if (progress) progress(value);
    if (done(value)) return value;
    if (Date.now() > deadline) throw new ApiError(0, "Gave up waiting.");
    await new Promise((r) => setTimeout(r, interval));
  }
}
