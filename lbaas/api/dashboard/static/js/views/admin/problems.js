// The operator's problems page (#/admin/problems): load balancers in ERROR, degraded or offline,
// stuck in a PENDING state, and copies (amphorae) in ERROR; failover of either, followed until
// it settles. Imported by views/admin.js.

import {LBAAS} from "../../api.js";
import {age, badge, fill, h, table} from "../../dom.js";
import {copiesByLb, empty, iso, loadError, OCTAVIA, serial, spinner} from "./common.js";

const STUCK_AFTER = 60;  // seconds a PENDING_* load balancer may take before it is "stuck"

function secondsSince(stamp) {
  if (!stamp) return Infinity;
  const s = iso(stamp);
  return (Date.now() - Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`)) / 1000;
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

export async function problemsPage(ctx, body) {
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
