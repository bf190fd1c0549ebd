// What the operator's pages (views/admin/*.js) share: time stamps, a refresh that draws only
// if it is the latest, the load-error/empty/progress boxes, form helpers (an API error next to
// its field, a busy submit button, checkboxes), and each load balancer's copies from the
// amphora API. Imported by the page modules in views/admin/.

import {age, fill, h, showFieldError} from "../../dom.js";

export const OCTAVIA = "/v2/octavia";

/** Neutron's "2026-12-07 17:07:31" and Octavia's "2026-12-07T17:07:31" (both UTC) as ISO. */
export function iso(stamp) {
  return stamp ? String(stamp).replace(" ", "T") : "";
}

export function when(stamp) {
  return stamp ? h("span", {title: `${iso(stamp)} UTC`}, age(iso(stamp))) : h("span", {class: "muted"}, "never");
}

/** A refresh that draws only if no later refresh started meanwhile (`current()` tells). */
export function serial(fn) {
  let n = 0;
  return async () => {
    const mine = ++n;
    await fn(() => mine === n);
  };
}

export function loadError(body, exc) {
  fill(body, h("div", {class: "alert error", "data-test": "load-error"}, exc.fault || exc.message));
}

export function spinner(text) {
  return h("span", {class: "progress", "data-test": "progress"},
    h("span", {class: "spinner"}), h("span", {class: "progress-text"}, text));
}

export function empty(test, text) {
  return h("div", {class: "card muted adm-empty", "data-test": test}, text);
}

/**
 * Put an API error next to its field in `form`: the field the fault names ("Invalid input for
 * field/attribute x"), else the first of `guesses` ([regexp, field]) matching the fault; a
 * toast when no field fits.
 */
export function showError(ctx, form, exc, {aliases = {}, guesses = []} = {}) {
  const names = [];
  if (exc.field) names.push(aliases[exc.field] || exc.field);
  for (const part of [...(exc.path || [])].reverse()) names.push(aliases[part] || part);
  const fault = exc.fault || exc.message;
  for (const [re, name] of guesses) if (re.test(fault)) names.push(name);
  // Beside a field the API named, its readable message; beside a guessed one, the whole fault.
  const shown = exc.parts && exc.parts.length ? exc.parts[0].message : fault;
  for (const name of names) if (showFieldError(form, name, shown)) return;
  ctx.toast(fault, "error");
}

/** The form's busy state: a spinner by the submit button while `work` runs. */
export async function submitting(form, text, work) {
  const button = form.querySelector("button[type=submit]");
  const slot = form.querySelector(".adm-busy");
  if (button) button.disabled = true;
  if (slot) fill(slot, spinner(text));
  try {
    return await work();
  } finally {
    if (button) button.disabled = false;
    if (slot) fill(slot);
  }
}

export function formActions(label, test) {
  return h("div", {class: "adm-form-actions"},
    h("button", {type: "submit", class: "primary", "data-test": test}, label),
    h("span", {class: "adm-busy"}));
}

export function checkbox(name, checked, label, test) {
  return h("label", {class: "field adm-check", "data-field": name},
    h("input", {type: "checkbox", name, id: `f-${name}`, checked, "data-test": test}),
    h("span", {}, label),
    h("span", {class: "field-error", "data-test": `error-${name}`, hidden: true}));
}

/**
 * Ask `question`; on yes, DELETE `path`, toast `done` (or the API's fault), then `refresh()`.
 * The delete and reset buttons of the operator pages.
 */
export async function confirmedDelete(ctx, {question, action = "Delete", path, done,
                                             refresh}) {
  if (!await ctx.confirm(question, {action, danger: true})) return;
  try {
    await ctx.api.del(path);
    ctx.toast(done, "success");
  } catch (exc) {
    ctx.toast(exc.fault, "error");
  }
  await refresh();
}

export function value(form, name) {
  const el = form.elements.namedItem(name);
  return el ? el.value.trim() : "";
}

/** Copies of each load balancer from the amphora API (null when the API refuses it). */
export async function copiesByLb(ctx) {
  let amphorae;
  try {
    amphorae = await ctx.api.list(`${OCTAVIA}/amphorae`, "amphorae");
  } catch {
    return null;
  }
  const by = new Map();
  for (const a of amphorae) {
    if (!by.has(a.loadbalancer_id)) by.set(a.loadbalancer_id, []);
    by.get(a.loadbalancer_id).push(a);
  }
  const order = {MASTER: 0, BACKUP: 1};
  for (const list of by.values()) list.sort((x, y) => (order[x.role] ?? 2) - (order[y.role] ?? 2));
  return by;
}
