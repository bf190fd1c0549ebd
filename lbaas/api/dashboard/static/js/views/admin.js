// The operator's pages (#/admin/<page>): agents and where load balancers run, what needs
// attention (with failover), quotas, flavors and the networks agents plug VIPs into. Only for
// admins; every write is offered only when the session's policy allows it (the API decides).

import {LBAAS, NETWORKING} from "../api.js";
import {age, badge, clearErrors, field, fill, h, input, select, showFieldError, table}
  from "../dom.js";

const OCTAVIA = "/v2/octavia";
const STUCK_AFTER = 60;  // seconds a PENDING_* load balancer may take before it is "stuck"

const PAGES = {
  agents: ["Agents", "The network node agents that run load balancers, as their heartbeats " +
           "report them.", agentsPage],
  placement: ["Placement", "Every load balancer of every project, and the agents its copies " +
              "run on.", placementPage],
  problems: ["Problems", "Load balancers in ERROR, degraded or offline, stuck in a PENDING " +
             "state, and copies in ERROR.", problemsPage],
  quotas: ["Quotas", "Default limits and the projects that have their own (-1: unlimited).",
           quotasPage],
  flavors: ["Flavors", "Flavor profiles (provider and its settings) and the flavors tenants " +
            "choose from.", flavorsPage],
  networks: ["Networks", "The networks and subnets lbaas may place VIPs on.", networksPage],
};

export async function render(ctx, {page}) {
  if (!ctx.session.is_admin) {
    fill(ctx.root, h("div", {class: "alert error", "data-test": "admin-only"}, "Operators only"));
    return;
  }
  const [title, about, build] = PAGES[page] || PAGES.agents;
  const body = h("div", {class: "adm-body", "data-test": `admin-${page}`});
  fill(ctx.root,
    h("div", {class: "toolbar"},
      h("h1", {"data-test": "admin-heading"}, title),
      h("span", {class: "spacer"}),
      h("span", {class: "muted adm-about"}, about)),
    body);
  await build(ctx, body);
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

/** Neutron's "2026-12-07 17:07:31" and Octavia's "2026-12-07T17:07:31" (both UTC) as ISO. */
function iso(stamp) {
  return stamp ? String(stamp).replace(" ", "T") : "";
}

function secondsSince(stamp) {
  if (!stamp) return Infinity;
  const s = iso(stamp);
  return (Date.now() - Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`)) / 1000;
}

function when(stamp) {
  return stamp ? h("span", {title: `${iso(stamp)} UTC`}, age(iso(stamp))) : h("span", {class: "muted"}, "never");
}

/** A refresh that draws only if no later refresh started meanwhile (`current()` tells). */
function serial(fn) {
  let n = 0;
  return async () => {
    const mine = ++n;
    await fn(() => mine === n);
  };
}

function loadError(body, exc) {
  fill(body, h("div", {class: "alert error", "data-test": "load-error"}, exc.fault || exc.message));
}

function spinner(text) {
  return h("span", {class: "progress", "data-test": "progress"},
    h("span", {class: "spinner"}), h("span", {class: "progress-text"}, text));
}

function empty(test, text) {
  return h("div", {class: "card muted adm-empty", "data-test": test}, text);
}

/**
 * Put an API error next to its field in `form`: the field the fault names ("Invalid input for
 * field/attribute x"), else the first of `guesses` ([regexp, field]) matching the fault; a
 * toast when no field fits.
 */
function showError(ctx, form, exc, {aliases = {}, guesses = []} = {}) {
  const names = [];
  if (exc.field) names.push(aliases[exc.field] || exc.field);
  for (const part of [...(exc.path || [])].reverse()) names.push(aliases[part] || part);
  const fault = exc.fault || exc.message;
  for (const [re, name] of guesses) if (re.test(fault)) names.push(name);
  for (const name of names) if (showFieldError(form, name, fault)) return;
  ctx.toast(fault, "error");
}

/** The form's busy state: a spinner by the submit button while `work` runs. */
async function submitting(form, text, work) {
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

function formActions(label, test) {
  return h("div", {class: "adm-form-actions"},
    h("button", {type: "submit", class: "primary", "data-test": test}, label),
    h("span", {class: "adm-busy"}));
}

function checkbox(name, checked, label, test) {
  return h("label", {class: "field adm-check", "data-field": name},
    h("input", {type: "checkbox", name, id: `f-${name}`, checked, "data-test": test}),
    h("span", {}, label),
    h("span", {class: "field-error", "data-test": `error-${name}`, hidden: true}));
}

function value(form, name) {
  const el = form.elements.namedItem(name);
  return el ? el.value.trim() : "";
}

/**
 * Wait for load balancer `lbId` to settle (ACTIVE or ERROR) after a change, telling `progress`
 * its status as it goes; stops quietly once the view is left. Resolves to the last status.
 */
async function settle(ctx, lbId, progress, isLeft) {
  const lb = await ctx.api.until(
    async () => {
      if (isLeft()) return null;
      return (await ctx.api.get(`${LBAAS}/loadbalancers/${lbId}`)).loadbalancer;
    },
    (x) => x === null || x.provisioning_status === "ACTIVE" || x.provisioning_status === "ERROR",
    (x) => { if (x) progress(x.provisioning_status); },
    {interval: 1000});
  return lb ? lb.provisioning_status : null;
}

function leftFlag(ctx) {
  let left = false;
  ctx.onLeave(() => { left = true; });
  return () => left;
}

// ---------------------------------------------------------------------------------------------
// Agents

async function agentsPage(ctx, body) {
  const canManage = Boolean(ctx.session.can.manage_agents);
  const busy = new Set();

  const refresh = serial(async (current) => {
    let agents;
    try {
      agents = (await ctx.api.get(`${NETWORKING}/agents`)).agents || [];
    } catch (exc) {
      if (current()) loadError(body, exc);
      return;
    }
    if (!agents.length) {
      if (current()) {
        fill(body, empty("no-agents", "No agents have reported: no network node runs " +
          "lbaas-agent, or none has sent a heartbeat yet."));
      }
      return;
    }
    const counts = await Promise.all(agents.map((a) =>
      ctx.api.get(`${NETWORKING}/agents/${a.id}/agent-loadbalancers`)
        .then((d) => (d.loadbalancers || []).length)
        .catch(() => (a.configurations || {}).load_balancers ?? null)));
    if (!current()) return;
    const rows = agents.map((a, i) => agentRow(a, counts[i]));
    const alive = agents.filter((a) => a.alive).length;
    fill(body,
      h("p", {class: "muted", "data-test": "agents-summary"},
        `${agents.length} agent${agents.length === 1 ? "" : "s"}, ${alive} alive.`),
      table(["Host", "Alive", "Admin state", "Last heartbeat", "Zone", "Bridge mappings",
             "Load balancers", ...(canManage ? [""] : [])], rows, {"data-test": "agents"}));
  });

  function agentRow(a, count) {
    const conf = a.configurations || {};
    const mappings = conf.bridge_mappings || conf.interface_mappings || null;
    const mapText = mappings && typeof mappings === "object"
      ? Object.entries(mappings).map(([k, v]) => `${k}:${v}`).join(", ")
      : (mappings ? String(mappings) : "");
    return h("tr", {"data-test": "agent-row", "data-host": a.host, "data-id": a.id,
                    "data-alive": String(Boolean(a.alive)),
                    "data-admin-state-up": String(Boolean(a.admin_state_up))},
      h("td", {}, h("strong", {}, a.host), h("div", {class: "mono muted"}, a.id)),
      h("td", {}, badge(a.alive ? "UP" : "DOWN", "agent-alive")),
      h("td", {}, h("span", {class: `badge ${a.admin_state_up ? "ok" : "warn"}`,
                             "data-status": a.admin_state_up ? "ENABLED" : "DISABLED",
                             "data-test": "agent-admin-state"},
        a.admin_state_up ? "ENABLED" : "DISABLED")),
      h("td", {"data-test": "agent-heartbeat"}, when(a.heartbeat_timestamp)),
      h("td", {"data-test": "agent-zone"}, a.availability_zone || ""),
      h("td", {class: "mono", "data-test": "agent-mappings"}, mapText),
      h("td", {"data-test": "agent-lb-count"}, count === null ? "?" : String(count)),
      canManage ? h("td", {}, toggleButton(a)) : null);
  }

  function toggleButton(a) {
    if (busy.has(a.id)) return spinner(a.admin_state_up ? "Disabling…" : "Enabling…");
    return h("button", {
      type: "button", class: a.admin_state_up ? "secondary" : "primary",
      "data-test": "agent-toggle", "data-action": a.admin_state_up ? "disable" : "enable",
      title: a.admin_state_up ? "Schedule no new load balancer onto this agent"
        : "Let new load balancers be scheduled onto this agent",
      onclick: async (ev) => {
        ev.target.disabled = true;
        busy.add(a.id);
        try {
          await ctx.api.put(`${NETWORKING}/agents/${a.id}`,
            {agent: {admin_state_up: !a.admin_state_up}});
          ctx.toast(`Agent ${a.host} ${a.admin_state_up ? "disabled" : "enabled"}.`, "success");
        } catch (exc) {
          ctx.toast(exc.fault, "error");
        } finally {
          busy.delete(a.id);
          await refresh();
        }
      },
    }, a.admin_state_up ? "Disable" : "Enable");
  }

  ctx.every(refresh, 3000);
}

// ---------------------------------------------------------------------------------------------
// Placement

/** Copies of each load balancer from the amphora API (null when the API refuses it). */
async function copiesByLb(ctx) {
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

function topologyOf(copies) {
  if (!copies || !copies.length) return "SINGLE";
  return copies.length > 1 || copies.some((c) => c.role === "MASTER" || c.role === "BACKUP")
    ? "ACTIVE_STANDBY" : "SINGLE";
}

async function placementPage(ctx, body) {
  const filter = h("input", {type: "search", class: "adm-filter", placeholder: "Filter: name, " +
    "project, host, ID…", "data-test": "placement-filter", oninput: () => draw()});
  const out = h("div", {});
  fill(body, h("div", {class: "toolbar"}, filter, h("span", {class: "spacer"}),
    h("span", {class: "muted", "data-test": "placement-count"})), out);
  let last = null;

  function draw() {
    if (!last) return;
    const {lbs, copies, agents, hosting} = last;
    const needle = filter.value.trim().toLowerCase();
    const shown = lbs.filter((lb) => !needle || [lb.name, lb.id, lb.project_id, lb.vip_address,
      ...(copies.get(lb.id) || []).map((c) => c.agent_host), hosting.get(lb.id)]
      .some((x) => x && String(x).toLowerCase().includes(needle)));
    body.querySelector("[data-test=placement-count]").textContent =
      `${shown.length} of ${lbs.length} load balancer${lbs.length === 1 ? "" : "s"}`;
    if (!lbs.length) {
      fill(out, empty("placement-empty", "No load balancers in any project."));
      return;
    }
    const rows = shown.map((lb) => {
      const mine = copies.get(lb.id) || [];
      const topology = topologyOf(mine);
      return h("tr", {"data-test": "placement-row", "data-lb": lb.id, "data-topology": topology},
        h("td", {}, h("a", {href: `#/loadbalancers/${lb.id}`, "data-test": "placement-lb"},
          lb.name || lb.id), h("div", {class: "mono muted"}, lb.id)),
        h("td", {class: "mono adm-nowrap", "data-test": "placement-project"}, lb.project_id || ""),
        h("td", {"data-test": "placement-topology"}, topology),
        h("td", {}, badge(lb.provisioning_status, "provisioning")),
        h("td", {}, badge(lb.operating_status, "operating")),
        h("td", {class: "mono"}, lb.vip_address || ""),
        h("td", {"data-test": "placement-hosts"},
          hostsCell(topology, mine, hosting.get(lb.id), agents)));
    });
    fill(out, table(["Load balancer", "Project", "Topology", "Provisioning", "Operating", "VIP",
                     "Runs on"], rows, {"data-test": "placement"}));
  }

  ctx.every(serial(async (current) => {
    let lbs;
    try {
      lbs = await ctx.api.list(`${LBAAS}/loadbalancers`, "loadbalancers");
    } catch (exc) {
      if (current()) loadError(out, exc);
      return;
    }
    const [copies, agents] = await Promise.all([
      copiesByLb(ctx),
      ctx.api.get(`${NETWORKING}/agents`).then((d) => d.agents || [], () => [])]);
    // Without the amphora API (or a copy for it), ask which agent hosts each load balancer.
    const hosting = new Map();
    await Promise.all(lbs.filter((lb) => !copies || !copies.has(lb.id)).map((lb) =>
      ctx.api.get(`${NETWORKING}/lbaas/loadbalancers/${lb.id}/loadbalancer-hosting-agent`)
        .then((d) => { if (d.agent) hosting.set(lb.id, d.agent.host); }, () => null)));
    if (!current()) return;
    lbs.sort((a, b) => (a.project_id || "").localeCompare(b.project_id || "") ||
                       (a.name || "").localeCompare(b.name || ""));
    last = {lbs, copies: copies || new Map(), hosting,
            agents: new Map(agents.map((a) => [a.host, a]))};
    draw();
  }), 3000);
}

function hostBit(host, agents) {
  if (!host) return h("span", {class: "muted", "data-test": "unscheduled"}, "not scheduled");
  const agent = agents.get(host);
  return h("span", {class: "adm-host"},
    h("span", {"data-test": "host"}, host),
    agent ? h("span", {class: `adm-dot ${agent.alive ? "ok" : "bad"}`,
                       title: agent.alive ? "agent alive" : "agent down",
                       "data-test": "host-alive", "data-status": agent.alive ? "UP" : "DOWN"})
      : null);
}

function hostsCell(topology, copies, hostingHost, agents) {
  if (topology === "SINGLE") {
    const copy = copies[0];
    const host = copy ? copy.agent_host : hostingHost;
    return h("div", {class: "adm-copy", "data-test": "placement-copy", "data-role": "STANDALONE",
                     "data-host": host || ""},
      hostBit(host, agents),
      copy && copy.status !== "ALLOCATED" ? badge(copy.status, "copy-status") : null);
  }
  return copies.map((c) =>
    h("div", {class: "adm-copy", "data-test": "placement-copy", "data-role": c.role || "",
              "data-host": c.agent_host || "", "data-amphora": c.id},
      h("span", {class: `adm-role ${String(c.role || "none").toLowerCase()}`,
                 "data-test": "copy-role"}, c.role || "no role"),
      hostBit(c.agent_host, agents),
      c.vrrp_ip ? h("span", {class: "mono muted", "data-test": "copy-vrrp-ip"}, c.vrrp_ip) : null,
      c.status !== "ALLOCATED" ? badge(c.status, "copy-status") : null));
}

// ---------------------------------------------------------------------------------------------
// Problems

function problemsOf(lb) {
  const reasons = [];
  if (lb.provisioning_status === "ERROR") reasons.push("Provisioning failed (ERROR)");
  if (["ERROR", "DEGRADED", "OFFLINE"].includes(lb.operating_status)) {
    reasons.push(`Operating status ${lb.operating_status}`);
  }
  if (String(lb.provisioning_status || "").startsWith("PENDING_")) {
    const since = secondsSince(lb.updated_at || lb.created_at);
    if (since > STUCK_AFTER) {
      reasons.push(`Stuck in ${lb.provisioning_status} (no change for ` +
        `${Math.round(since / 60)} min)`);
    }
  }
  return reasons;
}

async function problemsPage(ctx, body) {
  const canFailover = Boolean(ctx.session.can.failover_loadbalancer);
  const isLeft = leftFlag(ctx);
  const busy = new Map();  // load balancer id -> status text while a failover runs

  const refresh = serial(async (current) => {
    let lbs;
    try {
      lbs = await ctx.api.list(`${LBAAS}/loadbalancers`, "loadbalancers");
    } catch (exc) {
      if (current()) loadError(body, exc);
      return;
    }
    const copies = await copiesByLb(ctx);
    if (!current()) return;
    const byId = new Map(lbs.map((lb) => [lb.id, lb]));
    const bad = lbs.map((lb) => [lb, problemsOf(lb)])
      .filter(([lb, reasons]) => reasons.length || busy.has(lb.id));
    const badCopies = [];
    for (const list of (copies || new Map()).values()) {
      for (const c of list) if (c.status === "ERROR") badCopies.push(c);
    }
    if (!bad.length && !badCopies.length) {
      fill(body, empty("no-problems", "No load balancer needs attention."));
      return;
    }
    const lbRows = bad.map(([lb, reasons]) =>
      h("tr", {"data-test": "problem-row", "data-lb": lb.id},
        h("td", {}, h("a", {href: `#/loadbalancers/${lb.id}`}, lb.name || lb.id),
          h("div", {class: "mono muted"}, lb.id)),
        h("td", {class: "mono adm-nowrap"}, lb.project_id || ""),
        h("td", {}, badge(lb.provisioning_status, "provisioning")),
        h("td", {}, badge(lb.operating_status, "operating")),
        h("td", {"data-test": "problem-reason"},
          reasons.length ? reasons.join("; ") : "Failing over"),
        h("td", {}, h("span", {title: `${iso(lb.updated_at || lb.created_at)} UTC`},
          age(iso(lb.updated_at || lb.created_at)))),
        canFailover ? h("td", {}, failoverControl(lb)) : null));
    const copyRows = badCopies.map((c) => {
      const lb = byId.get(c.loadbalancer_id);
      return h("tr", {"data-test": "amphora-problem-row", "data-amphora": c.id,
                      "data-lb": c.loadbalancer_id},
        h("td", {}, h("a", {href: `#/loadbalancers/${c.loadbalancer_id}`},
          (lb && lb.name) || c.loadbalancer_id)),
        h("td", {}, h("span", {class: `adm-role ${String(c.role || "none").toLowerCase()}`},
          c.role || "no role")),
        h("td", {"data-test": "amphora-host"}, c.agent_host || h("span", {class: "muted"},
          "no agent")),
        h("td", {class: "mono"}, c.vrrp_ip || ""),
        h("td", {}, badge(c.status, "amphora-status")),
        h("td", {class: "mono muted"}, c.id),
        canFailover ? h("td", {}, amphoraFailover(c, lb)) : null);
    });
    fill(body,
      bad.length
        ? table(["Load balancer", "Project", "Provisioning", "Operating", "Why", "Changed",
                 ...(canFailover ? [""] : [])], lbRows, {"data-test": "problems"})
        : h("p", {class: "muted", "data-test": "no-lb-problems"},
          "No load balancer needs attention."),
      badCopies.length ? [
        h("h2", {class: "adm-section"}, "Copies (amphorae) in ERROR"),
        table(["Load balancer", "Role", "Agent host", "VRRP IP", "Status", "Amphora",
               ...(canFailover ? [""] : [])], copyRows, {"data-test": "amphora-problems"}),
      ] : null);
  });

  function failoverControl(lb) {
    if (busy.has(lb.id)) {
      const p = spinner(`Failing over: ${busy.get(lb.id)}`);
      p.setAttribute("data-test", "failover-progress");
      return p;
    }
    return h("button", {type: "button", class: "danger", "data-test": "failover",
                        onclick: () => failover(lb)}, "Fail over");
  }

  async function failover(lb) {
    const name = lb.name || lb.id;
    const ok = await ctx.confirm(`Fail over load balancer ${name}? It is rebuilt from ` +
      "scratch (on another live agent when there is one); connections through it are cut.",
    {action: "Fail over", danger: true});
    if (!ok) return;
    busy.set(lb.id, "requested");
    await refresh();
    try {
      await ctx.api.put(`${LBAAS}/loadbalancers/${lb.id}/failover`);
    } catch (exc) {
      busy.delete(lb.id);
      ctx.toast(exc.fault, "error");
      await refresh();
      return;
    }
    await follow(lb.id, name, "Failover");
  }

  function amphoraFailover(c, lb) {
    const lbId = c.loadbalancer_id;
    if (busy.has(lbId)) return spinner(`Failing over: ${busy.get(lbId)}`);
    return h("button", {type: "button", class: "secondary", "data-test": "amphora-failover",
      onclick: async () => {
        const name = (lb && lb.name) || lbId;
        const ok = await ctx.confirm(`Rebuild this copy (${c.role || "copy"} on ` +
          `${c.agent_host || "no agent"}) of load balancer ${name}?`,
        {action: "Rebuild copy", danger: true});
        if (!ok) return;
        busy.set(lbId, "requested");
        await refresh();
        try {
          await ctx.api.put(`${OCTAVIA}/amphorae/${c.id}/failover`);
        } catch (exc) {
          busy.delete(lbId);
          ctx.toast(exc.fault, "error");
          await refresh();
          return;
        }
        await follow(lbId, name, "Copy rebuild");
      }}, "Rebuild copy");
  }

  async function follow(lbId, name, what) {
    try {
      const status = await settle(ctx, lbId, (s) => {
        busy.set(lbId, s);
        for (const text of body.querySelectorAll(`[data-lb="${CSS.escape(lbId)}"] .progress-text`)) {
          text.textContent = `Failing over: ${s}`;
        }
      }, isLeft);
      if (status === "ACTIVE") ctx.toast(`${what} of ${name} done: ACTIVE.`, "success");
      else if (status === "ERROR") ctx.toast(`${what} of ${name} ended in ERROR.`, "error");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    } finally {
      busy.delete(lbId);
      if (!isLeft()) await refresh();
    }
  }

  ctx.every(refresh, 3000);
}

// ---------------------------------------------------------------------------------------------
// Quotas

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

async function quotasPage(ctx, body) {
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

  async function reset(projectId) {
    const ok = await ctx.confirm(`Reset the quotas of project ${projectId} to the defaults?`,
      {action: "Reset", danger: true});
    if (!ok) return;
    try {
      await ctx.api.del(`${LBAAS}/quotas/${encodeURIComponent(projectId)}`);
      ctx.toast(`Quotas of ${projectId} reset to the defaults.`, "success");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    }
    await refresh();
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

// ---------------------------------------------------------------------------------------------
// Flavors

async function flavorsPage(ctx, body) {
  const canManage = Boolean(ctx.session.can.manage_flavors);
  const profilesBox = h("div", {class: "card"});
  const flavorsBox = h("div", {class: "card"});
  let providers = [];
  let profiles = [];

  try {
    providers = (await ctx.api.get(`${LBAAS}/providers`)).providers || [];
  } catch (exc) {
    ctx.toast(exc.fault, "error");
  }

  const capHint = h("span", {class: "hint", "data-test": "flavor-capabilities"});
  const providerSelect = select("provider_name", providers.map((p) => [p.name,
    p.description ? `${p.name} — ${p.description}` : p.name]), providers[0] && providers[0].name,
  {"data-test": "flavorprofile-provider"});
  providerSelect.addEventListener("change", () => loadCapabilities());
  const dataArea = h("textarea", {name: "flavor_data", id: "f-flavor_data", rows: 3,
    class: "mono", spellcheck: "false", "data-test": "flavorprofile-data",
    placeholder: '{"loadbalancer_topology": "ACTIVE_STANDBY"}'});
  const profileForm = h("form", {class: "card adm-form", "data-test": "flavorprofile-form",
                                 novalidate: true},
    h("h2", {}, "New flavor profile"),
    h("div", {class: "row"},
      field("Name", input("name", {required: true, autocomplete: "off",
        "data-test": "flavorprofile-name"})),
      field("Provider", providerSelect)),
    field("Flavor data (JSON)", dataArea),
    capHint,
    formActions("Create profile", "flavorprofile-submit"));

  const profileSelect = select("flavor_profile_id", [], null, {"data-test": "flavor-profile"});
  const flavorForm = h("form", {class: "card adm-form", "data-test": "flavor-form",
                                novalidate: true},
    h("h2", {}, "New flavor"),
    h("div", {class: "row"},
      field("Name", input("name", {required: true, autocomplete: "off",
        "data-test": "flavor-name"})),
      field("Flavor profile", profileSelect)),
    field("Description", input("description", {autocomplete: "off",
      "data-test": "flavor-description"})),
    checkbox("enabled", true, "Enabled (tenants may choose it)", "flavor-enabled-input"),
    formActions("Create flavor", "flavor-submit"));

  async function loadCapabilities() {
    const provider = providerSelect.value;
    if (!provider) { fill(capHint); return; }
    try {
      const caps = (await ctx.api.get(
        `${LBAAS}/providers/${encodeURIComponent(provider)}/flavor_capabilities`))
        .flavor_capabilities || [];
      fill(capHint, caps.length
        ? [`${provider} understands: `, caps.map((c, i) => [i ? "; " : "",
          h("code", {}, c.name), c.description ? ` — ${c.description}` : ""])]
        : `${provider} takes no flavor settings: use {}.`);
    } catch (exc) {
      fill(capHint, exc.fault);
    }
  }

  const refresh = serial(async (current) => {
    let flavors;
    try {
      [profiles, flavors] = await Promise.all([
        ctx.api.list(`${LBAAS}/flavorprofiles`, "flavorprofiles"),
        ctx.api.list(`${LBAAS}/flavors`, "flavors")]);
    } catch (exc) {
      if (current()) loadError(flavorsBox, exc);
      return;
    }
    if (!current()) return;
    const profileName = new Map(profiles.map((p) => [p.id, p.name || p.id]));
    const used = new Map();
    for (const f of flavors) used.set(f.flavor_profile_id, (used.get(f.flavor_profile_id) || 0) + 1);

    const keep = profileSelect.value;
    fill(profileSelect, profiles.map((p) => h("option", {value: p.id, selected: p.id === keep},
      `${p.name || p.id} (${p.provider_name})`)));

    const profileRows = profiles.map((p) => h("tr", {"data-test": "flavorprofile-row",
                                                      "data-id": p.id, "data-name": p.name},
      h("td", {}, h("strong", {}, p.name), h("div", {class: "mono muted"}, p.id)),
      h("td", {}, p.provider_name),
      h("td", {class: "mono adm-json"}, p.flavor_data),
      h("td", {}, String(used.get(p.id) || 0)),
      canManage ? h("td", {class: "adm-row-actions"},
        h("button", {type: "button", class: "danger", "data-test": "flavorprofile-delete",
                     onclick: () => remove("flavorprofiles", p.id, `flavor profile ${p.name}`)},
        "Delete")) : null));
    fill(profilesBox, h("h2", {}, "Flavor profiles"), profileRows.length
      ? table(["Name", "Provider", "Flavor data", "Flavors", ...(canManage ? [""] : [])],
        profileRows, {"data-test": "flavorprofiles"})
      : h("p", {class: "muted", "data-test": "no-flavorprofiles"}, "No flavor profiles yet."));

    const flavorRows = flavors.map((f) => h("tr", {"data-test": "flavor-row", "data-id": f.id,
                                                   "data-name": f.name,
                                                   "data-enabled": String(Boolean(f.enabled))},
      h("td", {}, h("strong", {}, f.name), h("div", {class: "mono muted"}, f.id)),
      h("td", {}, f.description || ""),
      h("td", {}, profileName.get(f.flavor_profile_id) || f.flavor_profile_id),
      h("td", {}, h("span", {class: `badge ${f.enabled ? "ok" : "neutral"}`,
                             "data-test": "flavor-enabled",
                             "data-status": f.enabled ? "ENABLED" : "DISABLED"},
        f.enabled ? "ENABLED" : "DISABLED")),
      canManage ? h("td", {class: "adm-row-actions"},
        h("button", {type: "button", class: "secondary", "data-test": "flavor-toggle",
                     "data-action": f.enabled ? "disable" : "enable",
                     onclick: (ev) => toggle(ev.target, f)}, f.enabled ? "Disable" : "Enable"),
        h("button", {type: "button", class: "danger", "data-test": "flavor-delete",
                     onclick: () => remove("flavors", f.id, `flavor ${f.name}`)}, "Delete"))
        : null));
    fill(flavorsBox, h("h2", {}, "Flavors"), flavorRows.length
      ? table(["Name", "Description", "Profile", "State", ...(canManage ? [""] : [])],
        flavorRows, {"data-test": "flavors"})
      : h("p", {class: "muted", "data-test": "no-flavors"}, "No flavors yet."));
  });

  async function toggle(button, f) {
    button.disabled = true;
    try {
      await ctx.api.put(`${LBAAS}/flavors/${f.id}`, {flavor: {enabled: !f.enabled}});
      ctx.toast(`Flavor ${f.name} ${f.enabled ? "disabled" : "enabled"}.`, "success");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    }
    await refresh();
  }

  async function remove(collection, id, what) {
    const ok = await ctx.confirm(`Delete ${what}?`, {action: "Delete", danger: true});
    if (!ok) return;
    try {
      await ctx.api.del(`${LBAAS}/${collection}/${id}`);
      ctx.toast(`Deleted ${what}.`, "success");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    }
    await refresh();
  }

  profileForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(profileForm);
    const name = value(profileForm, "name");
    const data = dataArea.value.trim() || "{}";
    let bad = false;
    if (!name) { showFieldError(profileForm, "name", "A name is needed."); bad = true; }
    if (!providerSelect.value) {
      showFieldError(profileForm, "provider_name", "Choose a provider.");
      bad = true;
    }
    try {
      const parsed = JSON.parse(data);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("x");
    } catch {
      showFieldError(profileForm, "flavor_data", "Flavor data must be a JSON object.");
      bad = true;
    }
    if (bad) return;
    try {
      const made = await submitting(profileForm, "Creating…", () =>
        ctx.api.post(`${LBAAS}/flavorprofiles`, {flavorprofile: {
          name, provider_name: providerSelect.value, flavor_data: data}}));
      ctx.toast(`Flavor profile ${name} created.`, "success");
      profileForm.elements.namedItem("name").value = "";
      dataArea.value = "";
      await refresh();
      profileSelect.value = made.flavorprofile.id;
    } catch (exc) {
      showError(ctx, profileForm, exc, {guesses: [[/provider/i, "provider_name"],
        [/flavor_data|topology/i, "flavor_data"]]});
    }
  });

  flavorForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(flavorForm);
    const name = value(flavorForm, "name");
    let bad = false;
    if (!name) { showFieldError(flavorForm, "name", "A name is needed."); bad = true; }
    if (!profileSelect.value) {
      showFieldError(flavorForm, "flavor_profile_id", "Create a flavor profile first.");
      bad = true;
    }
    if (bad) return;
    try {
      await submitting(flavorForm, "Creating…", () =>
        ctx.api.post(`${LBAAS}/flavors`, {flavor: {
          name, description: value(flavorForm, "description"),
          flavor_profile_id: profileSelect.value,
          enabled: flavorForm.elements.namedItem("enabled").checked}}));
      ctx.toast(`Flavor ${name} created.`, "success");
      flavorForm.elements.namedItem("name").value = "";
      flavorForm.elements.namedItem("description").value = "";
      await refresh();
    } catch (exc) {
      showError(ctx, flavorForm, exc, {guesses: [[/profile/i, "flavor_profile_id"]]});
    }
  });

  fill(body, profilesBox, flavorsBox,
    canManage ? h("div", {class: "cards"}, profileForm, flavorForm) : null);
  await Promise.all([refresh(), loadCapabilities()]);
}

// ---------------------------------------------------------------------------------------------
// Networks

function ipVersion(cidr) {
  if (!cidr) return null;
  return cidr.includes(":") ? 6 : 4;
}

async function networksPage(ctx, body) {
  const canManage = Boolean(ctx.session.can.manage_networks);
  const listBox = h("div", {"data-test": "networks"});

  const networkForm = h("form", {class: "card adm-form", "data-test": "network-form",
                                 novalidate: true},
    h("h2", {}, "Register a network"),
    h("div", {class: "row"},
      field("Name", input("name", {autocomplete: "off", "data-test": "network-name"})),
      field("MTU", input("mtu", {type: "number", min: 576, max: 65535, value: "1500",
        "data-test": "network-mtu"}))),
    field("Project ID", input("project_id", {autocomplete: "off", "data-test": "network-project",
      placeholder: ctx.session.project_id}), "Empty: your project."),
    h("div", {class: "row"},
      checkbox("shared", true, "Shared with every project", "network-shared"),
      checkbox("admin_state_up", true, "Admin state up", "network-admin-state")),
    formActions("Register network", "network-submit"));

  const networkSelect = select("network_id", [], null, {"data-test": "subnet-network"});
  const versionText = h("span", {class: "hint", "data-test": "subnet-ip-version"},
    "IP version: from the CIDR");
  const cidrInput = input("cidr", {autocomplete: "off", placeholder: "10.30.0.0/24",
    "data-test": "subnet-cidr-input",
    oninput: () => {
      const v = ipVersion(cidrInput.value.trim());
      versionText.textContent = v ? `IPv${v}` : "IP version: from the CIDR";
    }});
  const subnetForm = h("form", {class: "card adm-form", "data-test": "subnet-form",
                                novalidate: true},
    h("h2", {}, "Add a subnet"),
    h("div", {class: "row"},
      field("Network", networkSelect),
      field("Name", input("name", {autocomplete: "off", "data-test": "subnet-name"}))),
    h("div", {class: "row"},
      field("CIDR", cidrInput, versionText),
      field("Gateway IP", input("gateway_ip", {autocomplete: "off",
        "data-test": "subnet-gateway"}), "Empty: the first address.")),
    h("div", {class: "row"},
      field("Allocation pool start", input("pool_start", {autocomplete: "off",
        "data-test": "subnet-pool-start"})),
      field("Allocation pool end", input("pool_end", {autocomplete: "off",
        "data-test": "subnet-pool-end"}), "Empty: the whole subnet but the gateway.")),
    formActions("Add subnet", "subnet-submit"));

  const refresh = serial(async (current) => {
    let networks;
    let subnets;
    let ports;
    try {
      [networks, subnets, ports] = await Promise.all([
        ctx.api.get(`${NETWORKING}/networks`).then((d) => d.networks || []),
        ctx.api.get(`${NETWORKING}/subnets`).then((d) => d.subnets || []),
        ctx.api.get(`${NETWORKING}/ports`).then((d) => d.ports || [], () => null)]);
    } catch (exc) {
      if (current()) loadError(listBox, exc);
      return;
    }
    if (!current()) return;
    const vips = new Map();
    for (const p of ports || []) {
      for (const ip of p.fixed_ips || []) vips.set(ip.subnet_id, (vips.get(ip.subnet_id) || 0) + 1);
    }
    const keep = networkSelect.value;
    fill(networkSelect, networks.map((n) => h("option", {value: n.id, selected: n.id === keep},
      n.name ? `${n.name} (${n.id.slice(0, 8)})` : n.id)));
    if (!networks.length) {
      fill(listBox, empty("no-networks", "No networks registered: register one for VIPs."));
      return;
    }
    fill(listBox, networks.map((n) => {
      const mine = subnets.filter((s) => s.network_id === n.id);
      return h("div", {class: "card adm-network", "data-test": "network-row", "data-id": n.id,
                       "data-name": n.name || ""},
        h("div", {class: "toolbar"},
          h("h3", {}, n.name || h("span", {class: "muted"}, "(no name)")),
          h("span", {class: "mono muted"}, n.id),
          badge(n.status, "network-status"),
          h("span", {class: "spacer"}),
          canManage ? h("button", {type: "button", class: "danger", "data-test": "network-delete",
            onclick: () => remove("networks", n.id, `network ${n.name || n.id}`)}, "Delete")
            : null),
        h("div", {class: "adm-meta"},
          h("span", {}, "project ", h("span", {class: "mono"}, n.project_id || "")),
          h("span", {}, `MTU ${n.mtu}`),
          h("span", {}, n.shared ? "shared" : "not shared"),
          n.admin_state_up === false ? h("span", {}, "admin down") : null,
          n["router:external"] ? h("span", {}, "external") : null),
        mine.length
          ? table(["Subnet", "CIDR", "Gateway", "Allocation pools", "VIPs",
                   ...(canManage ? [""] : [])], mine.map((s) => subnetRow(s, vips, ports)),
            {class: "grid adm-subnets"})
          : h("p", {class: "muted", "data-test": "no-subnets"}, "No subnets."));
    }));
  });

  function subnetRow(s, vips, ports) {
    return h("tr", {"data-test": "subnet-row", "data-id": s.id, "data-name": s.name || ""},
      h("td", {}, s.name || h("span", {class: "muted"}, "(no name)"),
        h("div", {class: "mono muted"}, s.id)),
      h("td", {class: "mono", "data-test": "subnet-cidr"}, s.cidr,
        h("span", {class: "muted"}, ` IPv${s.ip_version}`)),
      h("td", {class: "mono", "data-test": "subnet-gateway"}, s.gateway_ip || "none"),
      h("td", {class: "mono", "data-test": "subnet-pools"},
        (s.allocation_pools || []).map((p) => h("div", {}, `${p.start} – ${p.end}`))),
      h("td", {"data-test": "subnet-vips"}, ports === null ? "?" : String(vips.get(s.id) || 0)),
      canManage ? h("td", {}, h("button", {type: "button", class: "danger",
        "data-test": "subnet-delete",
        onclick: () => remove("subnets", s.id, `subnet ${s.name || s.cidr}`)}, "Delete"))
        : null);
  }

  async function remove(collection, id, what) {
    const ok = await ctx.confirm(`Delete ${what}? Load balancers can no longer get VIPs ` +
      "on it.", {action: "Delete", danger: true});
    if (!ok) return;
    try {
      await ctx.api.del(`${NETWORKING}/${collection}/${id}`);
      ctx.toast(`Deleted ${what}.`, "success");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    }
    await refresh();
  }

  networkForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(networkForm);
    const network = {
      name: value(networkForm, "name"),
      shared: networkForm.elements.namedItem("shared").checked,
      admin_state_up: networkForm.elements.namedItem("admin_state_up").checked,
    };
    const mtu = value(networkForm, "mtu");
    if (mtu) {
      if (!/^\d+$/.test(mtu)) {
        showFieldError(networkForm, "mtu", "A whole number (576 to 65535).");
        return;
      }
      network.mtu = Number(mtu);
    }
    const project = value(networkForm, "project_id");
    if (project) network.project_id = project;
    try {
      const made = await submitting(networkForm, "Registering…", () =>
        ctx.api.post(`${NETWORKING}/networks`, {network}));
      ctx.toast(`Network ${network.name || made.network.id} registered.`, "success");
      networkForm.elements.namedItem("name").value = "";
      networkForm.elements.namedItem("project_id").value = "";
      await refresh();
      networkSelect.value = made.network.id;
    } catch (exc) {
      showError(ctx, networkForm, exc, {aliases: {tenant_id: "project_id"}});
    }
  });

  subnetForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(subnetForm);
    const cidr = value(subnetForm, "cidr");
    const start = value(subnetForm, "pool_start");
    const end = value(subnetForm, "pool_end");
    let bad = false;
    if (!networkSelect.value) {
      showFieldError(subnetForm, "network_id", "Register a network first.");
      bad = true;
    }
    if (!cidr) { showFieldError(subnetForm, "cidr", "A CIDR is needed, e.g. 10.30.0.0/24."); bad = true; }
    if (Boolean(start) !== Boolean(end)) {
      showFieldError(subnetForm, start ? "pool_end" : "pool_start",
        "Give both ends of the pool, or neither.");
      bad = true;
    }
    if (bad) return;
    const subnet = {network_id: networkSelect.value, name: value(subnetForm, "name"), cidr,
                    ip_version: ipVersion(cidr)};
    const gateway = value(subnetForm, "gateway_ip");
    if (gateway) subnet.gateway_ip = gateway;
    if (start) subnet.allocation_pools = [{start, end}];
    try {
      await submitting(subnetForm, "Adding…", () =>
        ctx.api.post(`${NETWORKING}/subnets`, {subnet}));
      ctx.toast(`Subnet ${cidr} added.`, "success");
      for (const name of ["name", "cidr", "gateway_ip", "pool_start", "pool_end"]) {
        subnetForm.elements.namedItem(name).value = "";
      }
      versionText.textContent = "IP version: from the CIDR";
      await refresh();
    } catch (exc) {
      showError(ctx, subnetForm, exc, {
        aliases: {start: "pool_start", end: "pool_end", allocation_pools: "pool_start",
                  ip_version: "cidr"},
        guesses: [[/allocation pool/i, "pool_start"], [/gateway/i, "gateway_ip"],
                  [/network/i, "network_id"], [/cidr|ip_version/i, "cidr"]]});
    }
  });

  fill(body, listBox,
    canManage ? h("div", {class: "cards"}, networkForm, subnetForm) : null);
  await refresh();
}
