// What the parts of a load balancer's page share: the PENDING_* test, an API fault as a toast
// or next to the field it names, and a label/value pair of a card. Imported by
// views/loadbalancer.js, views/lb/listeners.js and views/lb/pools.js.

import {h, showFieldError} from "../../dom.js";

export const PENDING = /^PENDING_/;

export function toastError(ctx, exc) {
  ctx.toast(exc.fault || exc.message, "error");
}

/** A fault naming a field shows next to it in `form`; otherwise as a toast. */
export function showError(ctx, form, exc) {
  const part = (exc.parts || [])[0];
  const name = part && part.path[part.path.length - 1];
  if (name && showFieldError(form, name, part.message)) return;
  toastError(ctx, exc);
}

export function kv(label, value, attrs = {}) {
  return h("div", {class: "lb-kv", ...attrs}, h("span", {class: "lb-kv-label"}, label),
    h("span", {class: "lb-kv-value"}, value));
}
