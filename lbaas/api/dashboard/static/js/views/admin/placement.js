// The operator's placement page (#/admin/placement): every load balancer of every project, its
// topology and the agents its copies (amphorae) run on, with a filter. Imported by
// views/admin.js.

import {LBAAS, NETWORKING} from "../../api.js";
import {badge, fill, h, table} from "../../dom.js";
import {copiesByLb, empty, loadError, serial} from "./common.js";

function topologyOf(copies) {
  if (!copies || !copies.length) return "SINGLE";
  return copies.length > 1 || copies.some((c) => c.role === "MASTER" || c.role === "BACKUP")
    ? "ACTIVE_STANDBY" : "SINGLE";
}

export async function placementPage(ctx, body) {
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
