// The operator's agents page (#/admin/agents): each network node agent with its heartbeat,
// zone, bridge mappings and load balancer count; enable/disable when policy allows. Imported by
// views/admin.js.

import {NETWORKING} from "../../api.js";
import {badge, fill, h, table} from "../../dom.js";
import {empty, loadError, serial, spinner, when} from "./common.js";

export async function agentsPage(ctx, body) {
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
