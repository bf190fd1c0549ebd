// The operator's pages (#/admin/<page>): agents and where load balancers run, what needs
// attention (with failover), quotas, flavors and the networks agents plug VIPs into. Only for
// admins; every write is offered only when the session's policy allows it (the API decides).
// This module is the router's "admin" view: the admin-only guard and the page's heading; each
// page is its own module in views/admin/ (shared helpers in views/admin/common.js).

import {fill, h} from "../dom.js";
import {agentsPage} from "./admin/agents.js";
import {flavorsPage} from "./admin/flavors.js";
import {networksPage} from "./admin/networks.js";
import {placementPage} from "./admin/placement.js";
import {problemsPage} from "./admin/problems.js";
import {quotasPage} from "./admin/quotas.js";

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
