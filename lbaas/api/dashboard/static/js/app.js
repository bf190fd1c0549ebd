// The dashboard's shell: sign-in state, the top bar, and a hash router that gives each view a
// context (API, session, its root element, timers stopped when the view is left, toasts, a
// confirmation dialog). Views live in views/*.js and export `render(ctx, params)`.

import * as api from "./api.js";
import {fill, h} from "./dom.js";

const ROUTES = [
  [/^#\/signin$/, "signin", () => ({})],
  [/^#\/loadbalancers\/new$/, "wizard", () => ({})],
  [/^#\/loadbalancers\/([0-9a-f-]{36})$/, "loadbalancer", (m) => ({id: m[1]})],
  [/^#\/loadbalancers$/, "loadbalancers", () => ({})],
  [/^#\/admin\/(agents|placement|problems|quotas|flavors|networks)$/, "admin",
   (m) => ({page: m[1]})],
];

let session = null;
let leaving = [];

function toast(message, kind = "info") {
  const el = h("div", {class: `toast ${kind}`, role: "status", "data-test": `toast-${kind}`},
    message);
  document.getElementById("toasts").append(el);
  setTimeout(() => el.remove(), kind === "error" ? 10000 : 4000);
}

/** A modal asking to confirm `message`; resolves true on "confirm". */
function confirmDialog(message, {action = "Confirm", danger = true} = {}) {
  return new Promise((resolve) => {
    const close = (answer) => { overlay.remove(); resolve(answer); };
    const overlay = h("div", {class: "overlay", "data-test": "confirm"},
      h("div", {class: "dialog", role: "dialog", "aria-modal": "true"},
        h("p", {}, message),
        h("div", {class: "actions"},
          h("button", {type: "button", class: "secondary", "data-test": "confirm-cancel",
                       onclick: () => close(false)}, "Cancel"),
          h("button", {type: "button", class: danger ? "danger" : "primary",
                       "data-test": "confirm-ok", onclick: () => close(true)}, action))));
    document.body.append(overlay);
  });
}

function context(root) {
  return {
    api, session, root, toast, confirm: confirmDialog,
    go: (hash) => { location.hash = hash; },
    /** Run fn now and every `ms` while this view is shown (errors go to the console). */
    every(fn, ms) {
      let stopped = false;
      let timer = null;
      const tick = async () => {
        try { await fn(); } catch (exc) { console.warn(exc); }
        if (!stopped) timer = setTimeout(tick, ms);
      };
      tick();
      leaving.push(() => { stopped = true; clearTimeout(timer); });
    },
    onLeave(fn) { leaving.push(fn); },
  };
}

function showWho() {
  const signed = Boolean(session);
  document.getElementById("nav").hidden = !signed;
  document.getElementById("who").hidden = !signed;
  document.querySelector(".nav-admin").hidden = !(signed && session.is_admin);
  if (signed) {
    document.getElementById("who-project").textContent = `project ${session.project_id}`;
    document.getElementById("who-roles").textContent = session.roles.join(", ");
  }
}

async function loadSession() {
  if (!api.token()) return null;
  try {
    return await api.get("/dashboard/api/session");
  } catch (exc) {
    if (exc.status === 401) api.setToken(null);
    else throw exc;
    return null;
  }
}

async function route() {
  for (const stop of leaving.splice(0)) stop();
  const root = document.getElementById("view");
  const hash = location.hash || "#/loadbalancers";
  if (!session && hash !== "#/signin") {
    session = await loadSession();
    if (!session) { location.hash = "#/signin"; return; }
  }
  showWho();
  for (const link of document.querySelectorAll("[data-nav]")) {
    link.classList.toggle("current", hash.startsWith(`#/${link.dataset.nav}`));
  }
  const found = ROUTES.map(([re, view, params]) => [re.exec(hash), view, params])
    .find(([m]) => m);
  if (!found) { location.hash = "#/loadbalancers"; return; }
  const [match, view, params] = found;
  fill(root, h("p", {class: "muted"}, "Loading…"));
  try {
    const module = await import(`./views/${view}.js`);
    await module.render(context(root), params(match));
  } catch (exc) {
    fill(root, h("div", {class: "alert error", "data-test": "view-error"},
      exc.fault || exc.message));
  }
}

/** Called by the sign-in view once a token works. */
export async function signedIn(token) {
  api.setToken(token);
  session = await loadSession();
  if (!session) throw new api.ApiError(401, "This token is not valid.");
  location.hash = "#/loadbalancers";
  showWho();
}

function signOut() {
  api.setToken(null);
  session = null;
  showWho();
  location.hash = "#/signin";
}

api.onSignedOut(() => {
  if (!session) return;
  toast("Your token is no longer valid: sign in again.", "error");
  signOut();
});

document.getElementById("sign-out").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
route();
