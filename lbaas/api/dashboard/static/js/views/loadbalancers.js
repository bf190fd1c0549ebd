// The tenant's load balancers at a glance: name, VIP, provisioning and operating status,
// refreshed every few seconds; "Create load balancer" for callers the policy lets create.

import {LBAAS} from "../api.js";
import {badge, fill, h, table} from "../dom.js";

export async function render(ctx) {
  const body = h("div", {"data-test": "lb-list"});
  const create = ctx.session.can.create_loadbalancer
    ? h("button", {type: "button", class: "primary", "data-test": "create-lb",
                   onclick: () => ctx.go("#/loadbalancers/new")}, "Create load balancer")
    : h("span", {class: "muted", "data-test": "read-only"},
      "Read only: your role cannot create load balancers.");
  fill(ctx.root, h("div", {class: "toolbar"}, h("h1", {}, "Load balancers"),
    h("span", {class: "spacer"}), create), body);

  ctx.every(async () => {
    const lbs = await ctx.api.list(`${LBAAS}/loadbalancers`, "loadbalancers");
    if (!lbs.length) {
      fill(body, h("div", {class: "card muted", "data-test": "lb-empty"},
        "No load balancers yet."));
      return;
    }
    const rows = lbs.sort((a, b) => (a.name || "").localeCompare(b.name || "")).map((lb) =>
      h("tr", {"data-test": "lb-row", "data-id": lb.id, "data-name": lb.name},
        h("td", {}, h("a", {href: `#/loadbalancers/${lb.id}`}, lb.name || lb.id)),
        h("td", {class: "mono"}, lb.vip_address || ""),
        h("td", {}, badge(lb.provisioning_status, "provisioning")),
        h("td", {}, badge(lb.operating_status, "operating")),
        h("td", {}, String((lb.listeners || []).length)),
        ctx.session.is_admin ? h("td", {class: "mono"}, lb.project_id) : null));
    fill(body, table(["Name", "VIP", "Provisioning", "Operating", "Listeners",
                      ...(ctx.session.is_admin ? ["Project"] : [])], rows));
  }, 3000);
}
