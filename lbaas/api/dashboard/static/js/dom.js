// Building the page's elements. Every string from the API or the user goes in as text
// (textContent, attribute values), never as HTML: nothing a tenant names can become markup.

/**
 * h("div", {class: "x", "data-test": "y", onclick: fn}, child, "text", [more])
 * Attributes: `class`, `for`, `value`, `checked`, `disabled`, `hidden`, on<event> handlers,
 * anything else set with setAttribute. Children: nodes, strings (as text), arrays, null/false.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "value") {
      el.value = value;
    } else if (name === "checked" || name === "disabled" || name === "hidden" ||
               name === "selected" || name === "required") {
      el[name] = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** Replace el's children. */
export function fill(el, ...children) {
  return append(clear(el), children);
}

/** A status badge: data-status carries the raw value for tests and CSS. */
export function badge(status, test) {
  return h("span", {class: `badge ${statusClass(status)}`, "data-status": status || "",
                    "data-test": test}, status || "—");
}

/** green / amber / red / grey / busy, from any provisioning or operating status. */
export function statusClass(status) {
  switch (status) {
    case "ACTIVE": case "ONLINE": case "UP": return "ok";
    case "DEGRADED": case "NO_MONITOR": case "DRAINING": case "BACKUP": return "warn";
    case "ERROR": case "OFFLINE": case "DOWN": return "bad";
    case "PENDING_CREATE": case "PENDING_UPDATE": case "PENDING_DELETE": return "busy";
    default: return "neutral";
  }
}

/** A labelled form field; `error` is where a fault about this field is shown. */
export function field(label, input, hint) {
  const name = input.getAttribute("name") || "";
  return h("label", {class: "field", "data-field": name},
    h("span", {class: "field-label"}, label), input,
    hint ? h("span", {class: "hint"}, hint) : null,
    h("span", {class: "field-error", "data-test": `error-${name}`, hidden: true}));
}

export function input(name, attrs = {}) {
  return h("input", {name, id: `f-${name}`, type: "text", ...attrs});
}

/** <select> of [value, label] pairs (or plain strings). */
export function select(name, options, selected, attrs = {}) {
  return h("select", {name, id: `f-${name}`, ...attrs},
    options.map((o) => {
      const [value, label] = Array.isArray(o) ? o : [o, o];
      return h("option", {value, selected: value === selected}, label);
    }));
}

/** Show `message` under the field named `name` inside `form` (false if no such field). */
export function showFieldError(form, name, message) {
  const slot = form.querySelector(`[data-field="${CSS.escape(name)}"] .field-error`);
  if (!slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  slot.closest(".field").classList.add("invalid");
  return true;
}

export function clearErrors(form) {
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.textContent = "";
    slot.hidden = true;
  }
  for (const f of form.querySelectorAll(".field.invalid")) f.classList.remove("invalid");
}

export function table(headers, rows, attrs = {}) {
  return h("table", {class: "grid", ...attrs},
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows));
}

export function formatBytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

export function age(iso) {
  if (!iso) return "";
  const s = Math.max(0, (Date.now() - Date.parse(iso.endsWith("Z") ? iso : iso + "Z")) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
