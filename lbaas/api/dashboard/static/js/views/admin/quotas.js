// The operator's quotas page (#/admin/quotas): the default limits, the projects with their
// own, and a form to set or reset a project's. Imported by views/admin.js.

import {LBAAS} from "../../api.js";
import {clearErrors, field, fill, h, input, showFieldError, table} from "../../dom.js";
import {confirmedDelete, formActions, loadError, serial, showError, submitting, value}
  from "./common.js";

const QUOTA_FIELDS = [
  ["load_balancer", "Load balancers", "loadbalancer"],
  ["listener", "Listeners"],
  ["pool", "Pools"],
  ["member", "Members"],
  ["healthmonitor", "Health monitors", "health_monitor"],
  ["l7policy", "L7 policies"],
  ["l7rule", "L7 rules"],
];

function quotaValue(q, name, legacy) {
  const v = q[name] ?? (legacy ? q[legacy] : null);
  return v === undefined ? null : v;
}

function quotaText(v) {
  if (v === null || v === undefined) return "default";
  return v === -1 ? "unlimited" : String(v);
}

export async function quotasPage(ctx, body) {
  const canManage = Boolean(ctx.session.can.manage_quotas);
  const defaultsBox = h("div", {class: "card"});
  const listBox = h("div", {class: "card"});
  let defaults = {};

  const form = h("form", {class: "card adm-form", "data-test": "quota-form", novalidate: true},
    h("h2", {}, "Set a project's quotas"),
    field("Project ID", input("project_id", {required: true, autocomplete: "off",
      "data-test": "quota-project"}), "The project (tenant) the limits apply to."),
    h("div", {class: "row"}, QUOTA_FIELDS.map(([name, label]) =>
      field(label, input(name, {type: "number", min: -1, step: 1, "data-test": `quota-${name}`,
        inputmode: "numeric"})))),
    h("p", {class: "hint"}, "-1 is unlimited; an empty field uses the default."),
    formActions("Save quotas", "quota-submit"));

  function drawDefaults() {
    fill(defaultsBox, h("h2", {}, "Defaults"),
      table(QUOTA_FIELDS.map(([, label]) => label), [
        h("tr", {"data-test": "quota-defaults"}, QUOTA_FIELDS.map(([name, , legacy]) =>
          h("td", {"data-field": name}, quotaText(quotaValue(defaults, name, legacy)))))]));
    for (const [name, , legacy] of QUOTA_FIELDS) {
      const el = form.elements.namedItem(name);
      if (el) el.placeholder = `default: ${quotaText(quotaValue(defaults, name, legacy))}`;
    }
  }

  const refresh = serial(async (current) => {
    let quotas;
    try {
      [defaults, quotas] = await Promise.all([
        ctx.api.get(`${LBAAS}/quotas/defaults`).then((d) => d.quota || {}),
        ctx.api.list(`${LBAAS}/quotas`, "quotas")]);
    } catch (exc) {
      if (current()) loadError(listBox, exc);
      return;
    }
    if (!current()) return;
    drawDefaults();
    quotas.sort((a, b) => (a.project_id || "").localeCompare(b.project_id || ""));
    const rows = quotas.map((q) => h("tr", {"data-test": "quota-row", "data-project": q.project_id},
      h("td", {class: "mono"}, q.project_id),
      QUOTA_FIELDS.map(([name, , legacy]) => {
        const v = quotaValue(q, name, legacy);
        const d = quotaValue(defaults, name, legacy);
        return h("td", {"data-field": name, class: v === d ? "muted" : "adm-set"}, quotaText(v));
      }),
      canManage ? h("td", {class: "adm-row-actions"},
        h("button", {type: "button", class: "secondary", "data-test": "quota-edit",
                     onclick: () => edit(q)}, "Edit"),
        h("button", {type: "button", class: "danger", "data-test": "quota-reset",
                     onclick: () => reset(q.project_id)}, "Reset")) : null));
    fill(listBox, h("h2", {}, "Projects with their own quotas"),
      rows.length
        ? table(["Project", ...QUOTA_FIELDS.map(([, label]) => label), ...(canManage ? [""] : [])],
          rows, {"data-test": "quotas"})
        : h("p", {class: "muted", "data-test": "no-quotas"},
          "Every project uses the defaults."));
  });

  function edit(q) {
    clearErrors(form);
    form.elements.namedItem("project_id").value = q.project_id;
    for (const [name, , legacy] of QUOTA_FIELDS) {
      const v = quotaValue(q, name, legacy);
      form.elements.namedItem(name).value = v === null ? "" : String(v);
    }
    form.scrollIntoView({behavior: "smooth", block: "start"});
    form.elements.namedItem(QUOTA_FIELDS[0][0]).focus();
  }

  function reset(projectId) {
    return confirmedDelete(ctx, {
      question: `Reset the quotas of project ${projectId} to the defaults?`, action: "Reset",
      path: `${LBAAS}/quotas/${encodeURIComponent(projectId)}`,
      done: `Quotas of ${projectId} reset to the defaults.`, refresh});
  }

  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    const projectId = value(form, "project_id");
    let bad = false;
    if (!projectId) { showFieldError(form, "project_id", "A project ID is needed."); bad = true; }
    const quota = {};
    for (const [name] of QUOTA_FIELDS) {
      const raw = value(form, name);
      if (raw === "") { quota[name] = null; continue; }
      const n = Number(raw);
      if (!Number.isInteger(n) || n < -1) {
        showFieldError(form, name, "A whole number, -1 for unlimited.");
        bad = true;
      }
      quota[name] = n;
    }
    if (bad) return;
    try {
      await submitting(form, "Saving…", () =>
        ctx.api.put(`${LBAAS}/quotas/${encodeURIComponent(projectId)}`, {quota}));
      ctx.toast(`Quotas of ${projectId} saved.`, "success");
      form.reset();
      await refresh();
    } catch (exc) {
      showError(ctx, form, exc, {aliases: {loadbalancer: "load_balancer",
        health_monitor: "healthmonitor"}, guesses: [[/project/i, "project_id"]]});
    }
  });

  fill(body, defaultsBox, listBox, canManage ? form : null);
  await refresh();
}
