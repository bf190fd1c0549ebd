// One load balancer, live: its header (statuses, VIP, actions), the status tree of its
// listeners, pools, members and monitors, traffic charts from its statistics, and cards for
// its listeners (with L7 policies and rules) and pools (with a batch-editable members table).
// This module is the page's shell (layout, polling, the header and its edit, delete and
// failover actions); the parts are views/lb/tree.js, traffic.js, listeners.js and pools.js.

import {LBAAS} from "../api.js";
import {badge, clear, clearErrors, field, fill, h, input} from "../dom.js";
import {PENDING, showError, toastError} from "./lb/common.js";
import {listenerCards} from "./lb/listeners.js";
import {poolCards} from "./lb/pools.js";
import {trafficPanel} from "./lb/traffic.js";
import {statusTree} from "./lb/tree.js";

export async function render(ctx, {id}) {
  const can = ctx.session.can || {};
  const canWrite = Boolean(can.update_loadbalancer);
  const lbPath = `${LBAAS}/loadbalancers/${id}`;
  let left = false;
  ctx.onLeave(() => { left = true; });

  let lb;
  try {
    lb = (await ctx.api.get(lbPath)).loadbalancer;
  } catch (exc) {
    if (exc.status === 404) {
      ctx.toast("That load balancer does not exist (any more).", "error");
      ctx.go("#/loadbalancers");
      return;
    }
    throw exc;
  }

  // ---- state shared by the sections ------------------------------------------------------
  let deleting = false;
  let busyLabel = null;          // an action in progress ("Deleting…"), shown with the status
  const openForms = new Set();   // section forms open: no 5 s refresh while any is
  let poolsById = new Map();
  let refreshing = null;         // the sections' refresh under way
  let lastSections = "";         // what the listener and pool cards show

  // ---- header ----------------------------------------------------------------------------
  const nameEl = h("h1", {class: "lb-title", "data-test": "lb-name"});
  const provSlot = h("span", {class: "lb-badge-slot"});
  const operSlot = h("span", {class: "lb-badge-slot"});
  const descEl = h("p", {class: "lb-description muted", "data-test": "lb-description"});
  const meta = {
    vip: h("span", {class: "mono", "data-test": "lb-vip"}),
    id: h("span", {class: "mono", "data-test": "lb-id", title: id}, id),
    topology: h("span", {"data-test": "lb-topology"}, "—"),
    flavor: h("span", {"data-test": "lb-flavor"}, "—"),
    provider: h("span", {"data-test": "lb-provider"}),
    admin: h("span", {"data-test": "lb-admin-state"}),
    az: h("span", {"data-test": "lb-az"}),
    created: h("span", {"data-test": "lb-created"}),
  };
  const progressText = h("span", {class: "lb-progress-text"});
  const progress = h("div", {class: "progress lb-progress", "data-test": "lb-progress",
                             hidden: true, role: "status"},
    h("span", {class: "spinner"}), progressText);
  const formSlot = h("div", {class: "lb-edit-slot"});

  const actions = h("div", {class: "lb-actions"},
    canWrite ? h("button", {type: "button", class: "secondary", "data-test": "edit-lb",
                            onclick: () => openEdit()}, "Edit") : null,
    can.failover_loadbalancer ? h("button", {type: "button", class: "secondary",
                                             "data-test": "failover-lb",
                                             onclick: () => failover()}, "Failover") : null,
    can.delete_loadbalancer ? h("button", {type: "button", class: "danger",
                                           "data-test": "delete-lb",
                                           onclick: () => remove()}, "Delete") : null);

  const metaItem = (label, el) => h("div", {class: "lb-meta-item"},
    h("span", {class: "lb-meta-label"}, label), el);
  const header = h("section", {class: "card lb-header", "data-test": "lb-header"},
    h("div", {class: "lb-crumbs"}, h("a", {href: "#/loadbalancers"}, "Load balancers"), " / "),
    h("div", {class: "lb-head-row"},
      h("div", {class: "lb-head-title"}, nameEl, provSlot, operSlot),
      h("span", {class: "spacer"}), actions),
    descEl,
    h("div", {class: "lb-meta"},
      metaItem("VIP", meta.vip), metaItem("ID", meta.id), metaItem("Topology", meta.topology),
      metaItem("Flavor", meta.flavor), metaItem("Provider", meta.provider),
      metaItem("Admin state", meta.admin), metaItem("Availability zone", meta.az),
      metaItem("Created", meta.created)),
    progress, formSlot);

  function showHeader(data) {
    lb = data;
    nameEl.textContent = lb.name || lb.id;
    nameEl.title = lb.name || lb.id;
    fill(provSlot, badge(lb.provisioning_status, "lb-provisioning"));
    fill(operSlot, badge(lb.operating_status, "lb-operating"));
    descEl.textContent = lb.description || "";
    descEl.hidden = !lb.description;
    const vips = [lb.vip_address, ...(lb.additional_vips || []).map((v) => v.ip_address)]
      .filter(Boolean);
    meta.vip.textContent = vips.join(", ") || "—";
    meta.provider.textContent = lb.provider || "—";
    meta.admin.textContent = lb.admin_state_up ? "Up" : "Down";
    meta.az.textContent = lb.availability_zone || "—";
    meta.created.textContent = (lb.created_at || "").replace("T", " ");
    if (lb.topology) meta.topology.textContent = lb.topology;
    if (!lb.flavor_id) meta.flavor.textContent = "default";
    showProgress();
  }

  function showProgress() {
    const pending = lb && PENDING.test(lb.provisioning_status || "");
    const text = [busyLabel, pending ? lb.provisioning_status : null].filter(Boolean);
    progressText.textContent = text.join(" — ");
    progress.hidden = !(busyLabel || pending);
  }

  async function loadDetails() {
    if (lb.flavor_id) {
      try {
        const flavor = (await ctx.api.get(`${LBAAS}/flavors/${lb.flavor_id}`)).flavor;
        meta.flavor.textContent = flavor.name || flavor.id;
      } catch {
        meta.flavor.textContent = lb.flavor_id;
      }
    }
    if (!lb.topology && ctx.session.is_admin) {
      try {
        const amps = await ctx.api.list(`/v2/octavia/amphorae?loadbalancer_id=${id}`,
          "amphorae");
        const roles = new Set(amps.map((a) => a.role));
        if (roles.has("MASTER") || roles.has("BACKUP")) {
          meta.topology.textContent = "ACTIVE_STANDBY";
        } else if (amps.length) {
          meta.topology.textContent = "SINGLE";
        }
      } catch { /* not shown */ }
    }
  }

  // ---- status tree and traffic (views/lb/tree.js, views/lb/traffic.js) -------------------
  const tree = statusTree();
  const traffic = trafficPanel();

  // ---- listeners and pools (views/lb/listeners.js, views/lb/pools.js) --------------------
  // What the cards need of this page: its forms pause the 5 s refresh while open, and a change
  // they make is followed here until the load balancer settles.
  const cards = {
    ctx, canWrite, openForms, after,
    get poolsById() { return poolsById; },
    forgetSections() { lastSections = ""; },  // the next refresh redraws the cards
    showBusy(label) { busyLabel = label; showProgress(); },
  };
  const listenerCard = listenerCards(cards);
  const poolCard = poolCards(cards);
  const listenersBox = h("div", {class: "lb-cards", "data-test": "listeners"});
  const poolsBox = h("div", {class: "lb-cards", "data-test": "pools"});

  // ---- page ------------------------------------------------------------------------------
  fill(ctx.root, h("div", {class: "lb-page", "data-test": "lb-page", "data-id": id},
    header,
    h("div", {class: "lb-split"},
      h("section", {class: "card lb-tree-card"},
        h("div", {class: "lb-card-head"}, h("h2", {}, "Status"),
          h("span", {class: "lb-legend"},
            h("span", {class: "tree-dot ok"}), "online",
            h("span", {class: "tree-dot warn"}), "degraded / no monitor",
            h("span", {class: "tree-dot bad"}), "offline / error")),
        tree.el),
      h("section", {class: "card lb-traffic-card"},
        h("div", {class: "lb-card-head"}, h("h2", {}, "Traffic"),
          h("span", {class: "muted lb-small"}, "last 3 minutes, every 2 s")),
        traffic.el)),
    h("div", {class: "lb-objects"},
      h("section", {class: "lb-section"}, h("h2", {}, "Listeners"), listenersBox),
      h("section", {class: "lb-section"}, h("h2", {}, "Pools"), poolsBox))));

  showHeader(lb);
  loadDetails();

  // ---- live updates ----------------------------------------------------------------------
  ctx.every(async () => {
    if (left) return;
    try {
      showHeader((await ctx.api.get(lbPath)).loadbalancer);
    } catch (exc) {
      if (exc.status === 404 && !deleting && !left) {
        ctx.toast(`Load balancer ${lb.name || id} was deleted.`, "info");
        ctx.go("#/loadbalancers");
        return;
      }
      if (exc.status !== 404) throw exc;
    }
  }, 2000);

  ctx.every(async () => {
    if (left || deleting) return;
    const data = await ctx.api.get(`${lbPath}/status`);
    tree.show(data.statuses.loadbalancer);
  }, 2000);

  ctx.every(async () => {
    if (left || deleting) return;
    const data = await ctx.api.get(`${lbPath}/stats`);
    traffic.sample(data.stats || {});
  }, 2000);

  ctx.every(async () => {
    if (left || deleting || openForms.size) return;
    await refreshSections();
  }, 5000);

  function refreshSections() {
    // One refresh at a time; a caller during one waits for it and then runs another.
    const run = async () => {
      const [listeners, pools] = await Promise.all([
        ctx.api.list(`${LBAAS}/listeners?loadbalancer_id=${id}`, "listeners"),
        ctx.api.list(`${LBAAS}/pools?loadbalancer_id=${id}`, "pools"),
      ]);
      const policies = await Promise.all(listeners.map(async (l) => {
        const ps = await ctx.api.list(`${LBAAS}/l7policies?listener_id=${l.id}`, "l7policies");
        return Promise.all(ps.map(async (p) => ({
          ...p, rules: await ctx.api.list(`${LBAAS}/l7policies/${p.id}/rules`, "rules")})));
      }));
      const members = await Promise.all(pools.map((p) =>
        ctx.api.list(`${LBAAS}/pools/${p.id}/members`, "members")));
      const monitors = await Promise.all(pools.map(async (p) => {
        if (!p.healthmonitor_id) return null;
        try {
          return (await ctx.api.get(`${LBAAS}/healthmonitors/${p.healthmonitor_id}`))
            .healthmonitor;
        } catch { return null; }
      }));
      if (left || openForms.size) return;
      // Unchanged data: keep the cards as they are (no flicker, nothing under the pointer moves).
      const sig = JSON.stringify([listeners, policies, pools, members, monitors]);
      if (sig === lastSections) return;
      lastSections = sig;
      poolsById = new Map(pools.map((p) => [p.id, p]));
      const byName = (a, b) => (a.name || a.id).localeCompare(b.name || b.id);
      const lsorted = listeners.map((l, i) => [l, policies[i]])
        .sort(([a], [b]) => a.protocol_port - b.protocol_port || byName(a, b));
      const psorted = pools.map((p, i) => [p, members[i], monitors[i]])
        .sort(([a], [b]) => byName(a, b));
      fill(listenersBox, lsorted.length
        ? lsorted.map(([l, ps]) => listenerCard(l, ps))
        : h("div", {class: "card muted", "data-test": "no-listeners"}, "No listeners."));
      fill(poolsBox, psorted.length
        ? psorted.map(([p, ms, hm]) => poolCard(p, ms, hm))
        : h("div", {class: "card muted", "data-test": "no-pools"}, "No pools."));
    };
    refreshing = (refreshing || Promise.resolve()).catch(() => {}).then(run);
    return refreshing;
  }

  // ---- long operations -------------------------------------------------------------------
  async function settle(label) {
    // Progress until the load balancer is ACTIVE or ERROR again.
    busyLabel = label;
    showProgress();
    try {
      const done = await ctx.api.until(async () => {
        if (left) throw new Error("left");
        return (await ctx.api.get(lbPath)).loadbalancer;
      }, (v) => !PENDING.test(v.provisioning_status), (v) => showHeader(v), {interval: 1000});
      return done;
    } finally {
      busyLabel = null;
      if (!left) showProgress();
    }
  }

  async function after(label, success) {
    try {
      const v = await settle(label);
      if (left) return;
      if (v.provisioning_status === "ERROR") {
        ctx.toast(`Load balancer ${v.name || id} is in ERROR.`, "error");
      } else if (success) {
        ctx.toast(success, "success");
      }
    } catch (exc) {
      if (!left) toastError(ctx, exc);
    }
    if (!left) refreshSections().catch(() => {});
  }

  // ---- edit ------------------------------------------------------------------------------
  function openEdit() {
    if (formSlot.firstChild) return;
    const nameIn = input("name", {value: lb.name || "", maxlength: 255,
                                  "data-test": "edit-lb-name"});
    const descIn = input("description", {value: lb.description || "", maxlength: 255,
                                         "data-test": "edit-lb-description"});
    const adminIn = h("input", {type: "checkbox", name: "admin_state_up", id: "f-admin_state_up",
                                checked: lb.admin_state_up, "data-test": "edit-lb-admin"});
    const form = h("form", {class: "lb-edit-form", "data-test": "edit-lb-form", novalidate: true},
      h("div", {class: "row"}, field("Name", nameIn), field("Description", descIn)),
      h("label", {class: "field lb-check", "data-field": "admin_state_up"}, adminIn,
        h("span", {}, "Admin state up (serving traffic)"),
        h("span", {class: "field-error", "data-test": "error-admin_state_up", hidden: true})),
      h("div", {class: "actions"},
        h("button", {type: "button", class: "secondary", "data-test": "cancel-edit-lb",
                     onclick: () => clear(formSlot)}, "Cancel"),
        h("button", {type: "submit", class: "primary", "data-test": "save-lb"}, "Save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const changes = {};
      if (nameIn.value !== (lb.name || "")) changes.name = nameIn.value;
      if (descIn.value !== (lb.description || "")) changes.description = descIn.value;
      if (adminIn.checked !== Boolean(lb.admin_state_up)) changes.admin_state_up = adminIn.checked;
      if (!Object.keys(changes).length) { clear(formSlot); return; }
      const save = form.querySelector("[data-test=save-lb]");
      save.disabled = true;
      try {
        const data = await ctx.api.put(lbPath, {loadbalancer: changes});
        clear(formSlot);
        showHeader(data.loadbalancer);
        after("Saving changes…", "Load balancer updated.");
      } catch (exc) {
        save.disabled = false;
        showError(ctx, form, exc);
      }
    });
    fill(formSlot, form);
    nameIn.focus();
  }

  // ---- delete / failover -----------------------------------------------------------------
  async function remove() {
    const name = lb.name || id;
    const ok = await ctx.confirm(
      `Delete load balancer ${name} and all its listeners, pools, members and monitors?`,
      {action: "Delete"});
    if (!ok) return;
    try {
      await ctx.api.del(`${lbPath}?cascade=true`);
    } catch (exc) {
      toastError(ctx, exc);
      return;
    }
    deleting = true;
    busyLabel = "Deleting…";
    showProgress();
    try {
      const last = await ctx.api.until(async () => {
        if (left) throw new Error("left");
        try {
          return (await ctx.api.get(lbPath)).loadbalancer;
        } catch (exc) {
          if (exc.status === 404) return null;
          throw exc;
        }
      }, (v) => v === null || v.provisioning_status === "ERROR",
      (v) => { if (v) showHeader(v); }, {interval: 1000});
      if (last) {
        deleting = false;
        busyLabel = null;
        showProgress();
        ctx.toast(`Deleting ${name} failed: it is in ERROR.`, "error");
        return;
      }
      ctx.toast(`Load balancer ${name} deleted.`, "success");
      ctx.go("#/loadbalancers");
    } catch (exc) {
      if (left) return;
      deleting = false;
      busyLabel = null;
      showProgress();
      toastError(ctx, exc);
    }
  }

  async function failover() {
    const name = lb.name || id;
    const ok = await ctx.confirm(
      `Fail over load balancer ${name}? Its amphorae are replaced; connections may drop.`,
      {action: "Failover"});
    if (!ok) return;
    try {
      await ctx.api.put(`${lbPath}/failover`);
    } catch (exc) {
      toastError(ctx, exc);
      return;
    }
    after("Failing over…", `Load balancer ${name} failed over.`);
  }
}
