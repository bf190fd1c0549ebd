// One load balancer, live: its header (statuses, VIP, actions), the status tree of its
// listeners, pools, members and monitors, traffic charts from its statistics, and cards for
// its listeners (with L7 policies and rules) and pools (with a batch-editable members table).

import {LBAAS} from "../api.js";
import {LineChart, compact} from "../chart.js";
import {
  badge, clear, clearErrors, field, fill, formatBytes, h, input, select, showFieldError,
  statusClass, table,
} from "../dom.js";

const PENDING = /^PENDING_/;
const KIND_LABEL = {loadbalancer: "Load balancer", listener: "Listener", pool: "Pool",
                    member: "Member", healthmonitor: "Health monitor"};
const L7_ACTIONS = ["REJECT", "REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REDIRECT_PREFIX"];
const RULE_TYPES = ["PATH", "HOST_NAME", "FILE_TYPE", "HEADER", "COOKIE", "SSL_CONN_HAS_CERT",
                    "SSL_VERIFY_RESULT", "SSL_DN_FIELD"];
const COMPARE_TYPES = ["STARTS_WITH", "EQUAL_TO", "ENDS_WITH", "CONTAINS", "REGEX"];
const KEYED_RULES = new Set(["HEADER", "COOKIE", "SSL_DN_FIELD"]);

const bytesRate = (n) => `${formatBytes(n)}/s`;
const perSecond = (n) => `${compact(n)}/s`;

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

  // ---- status tree -----------------------------------------------------------------------
  const tree = h("div", {class: "lb-tree", "data-test": "status-tree"});
  let treeShape = "";
  const treeNodes = new Map();

  function flatten(root) {
    // [{kind, id, name, status, prov, detail, children: [...]}] from Octavia's status shape.
    const node = (kind, o, detail, children = []) => ({
      kind, id: o.id, name: o.name || "", status: o.operating_status || "",
      prov: o.provisioning_status || "", detail, children});
    const pool = (p) => {
      const hm = p.health_monitor || p.healthmonitor;
      return node("pool", p, null, [
        ...(hm ? [node("healthmonitor", hm, hm.type || null)] : []),
        ...(p.members || []).map((m) => node("member", m,
          m.address ? `${m.address}:${m.protocol_port}` : null)),
      ]);
    };
    const listenerPools = new Set();
    const listeners = (root.listeners || []).map((l) => node("listener", l, null,
      (l.pools || []).map((p) => { listenerPools.add(p.id); return pool(p); })));
    const loose = (root.pools || []).filter((p) => !listenerPools.has(p.id)).map(pool);
    return node("loadbalancer", root, null, [...listeners, ...loose]);
  }

  function shapeOf(n) {
    return `${n.kind}:${n.id}:${n.name}:${n.detail || ""}(${n.children.map(shapeOf).join(",")})`;
  }

  function buildNode(n) {
    const dot = h("span", {class: "tree-dot"});
    const state = h("span", {class: "tree-state"});
    const prov = h("span", {class: "tree-prov"});
    const box = h("div", {class: "tree-node", "data-kind": n.kind, "data-id": n.id,
                          "data-name": n.name, title: `${KIND_LABEL[n.kind]} ${n.id}`},
      dot,
      h("span", {class: "tree-kind"}, KIND_LABEL[n.kind]),
      h("span", {class: "tree-name"}, n.name || n.id.slice(0, 8)),
      n.detail ? h("span", {class: "tree-detail mono"}, n.detail) : null,
      h("span", {class: "spacer"}), prov, state);
    treeNodes.set(`${n.kind}:${n.id}`, {box, state, prov});
    updateNode(n);
    return h("li", {}, box,
      n.children.length ? h("ul", {}, n.children.map(buildNode)) : null);
  }

  function updateNode(n) {
    const ref = treeNodes.get(`${n.kind}:${n.id}`);
    if (!ref) return;
    const cls = statusClass(n.status);
    if (ref.box.dataset.status !== n.status) ref.box.dataset.status = n.status;
    ref.box.dataset.provisioning = n.prov;
    ref.box.className = `tree-node ${cls}`;
    ref.state.textContent = n.status || "—";
    ref.prov.textContent = n.prov && n.prov !== "ACTIVE" ? n.prov : "";
    ref.prov.hidden = !ref.prov.textContent;
    n.children.forEach(updateNode);
  }

  function showTree(root) {
    const n = flatten(root);
    const shape = shapeOf(n);
    if (shape !== treeShape) {
      treeShape = shape;
      treeNodes.clear();
      fill(tree, h("ul", {class: "tree-root"}, buildNode(n)));
    } else {
      updateNode(n);
    }
  }

  // ---- traffic ---------------------------------------------------------------------------
  const connChart = new LineChart({test: "chart-connections", title: "Connections",
    series: [{name: "new/s", color: "#2f6fde"}, {name: "active", color: "#1f9d55"}],
    format: compact});
  const bytesChart = new LineChart({test: "chart-bytes", title: "Throughput",
    series: [{name: "in", color: "#7a4fd6"}, {name: "out", color: "#d98b00"}],
    format: bytesRate, minTop: 1000});
  const totals = {
    bytes_in: h("span", {class: "lb-total-value", "data-test": "total-bytes-in"}, "–"),
    bytes_out: h("span", {class: "lb-total-value", "data-test": "total-bytes-out"}, "–"),
    active_connections: h("span", {class: "lb-total-value", "data-test": "total-active"}, "–"),
    total_connections: h("span", {class: "lb-total-value", "data-test": "total-connections"},
      "–"),
    request_errors: h("span", {class: "lb-total-value", "data-test": "total-errors"}, "–"),
  };
  const total = (label, el) => h("div", {class: "lb-total"}, el,
    h("span", {class: "lb-total-label"}, label));
  const traffic = h("div", {class: "lb-traffic", "data-test": "traffic"},
    h("div", {class: "lb-totals", "data-test": "stats-totals"},
      total("Active connections", totals.active_connections),
      total("Total connections", totals.total_connections),
      total("Bytes in", totals.bytes_in), total("Bytes out", totals.bytes_out),
      total("Request errors", totals.request_errors)),
    connChart.el, bytesChart.el);

  let previous = null;
  function sample(stats) {
    const now = performance.now();
    const n = (k) => Number(stats[k]) || 0;
    totals.bytes_in.textContent = formatBytes(n("bytes_in"));
    totals.bytes_out.textContent = formatBytes(n("bytes_out"));
    totals.active_connections.textContent = String(n("active_connections"));
    totals.total_connections.textContent = String(n("total_connections"));
    totals.request_errors.textContent = String(n("request_errors"));
    totals.request_errors.classList.toggle("lb-total-bad", n("request_errors") > 0);
    if (previous) {
      const dt = Math.max(0.001, (now - previous.at) / 1000);
      // A counter that went down was reset (a failover, a restart): that step counts as 0.
      const rate = (k) => Math.max(0, n(k) - (Number(previous.stats[k]) || 0)) / dt;
      connChart.push([rate("total_connections"), n("active_connections")]);
      bytesChart.push([rate("bytes_in"), rate("bytes_out")]);
    }
    previous = {at: now, stats};
  }

  // ---- listeners and pools ---------------------------------------------------------------
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
        tree),
      h("section", {class: "card lb-traffic-card"},
        h("div", {class: "lb-card-head"}, h("h2", {}, "Traffic"),
          h("span", {class: "muted lb-small"}, "last 3 minutes, every 2 s")),
        traffic)),
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
    showTree(data.statuses.loadbalancer);
  }, 2000);

  ctx.every(async () => {
    if (left || deleting) return;
    const data = await ctx.api.get(`${lbPath}/stats`);
    sample(data.stats || {});
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

  function toastError(exc) {
    ctx.toast(exc.fault || exc.message, "error");
  }

  /** The field path a fault names (api.js may keep the sentence's final "." as an empty part). */
  function faultPath(exc) {
    return (exc.path || []).filter(Boolean);
  }

  /** A fault naming a field shows next to it in `form`; otherwise as a toast. */
  function showError(form, exc) {
    const path = faultPath(exc);
    const name = path[path.length - 1];
    if (name && showFieldError(form, name, exc.fault)) return;
    toastError(exc);
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
      if (!left) toastError(exc);
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
        showError(form, exc);
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
      toastError(exc);
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
      toastError(exc);
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
      toastError(exc);
      return;
    }
    after("Failing over…", `Load balancer ${name} failed over.`);
  }

  // ---- listener cards --------------------------------------------------------------------
  function kv(label, value, attrs = {}) {
    return h("div", {class: "lb-kv", ...attrs}, h("span", {class: "lb-kv-label"}, label),
      h("span", {class: "lb-kv-value"}, value));
  }

  function poolLabel(poolId) {
    const p = poolsById.get(poolId);
    return p ? (p.name || p.id) : poolId;
  }

  function listenerCard(l, policies) {
    const tls = [l.default_tls_container_ref, ...(l.sni_container_refs || [])].filter(Boolean);
    const l7box = h("div", {class: "lb-l7"});
    const formSlotL = h("div", {class: "lb-inline-form-slot"});
    const card = h("article", {class: "card lb-obj", "data-test": "listener", "data-id": l.id,
                               "data-name": l.name || ""},
      h("div", {class: "lb-obj-head"},
        h("span", {class: "lb-proto"}, `${l.protocol}:${l.protocol_port}`),
        h("h3", {}, l.name || l.id.slice(0, 8)),
        h("span", {class: "spacer"}),
        badge(l.provisioning_status, "listener-provisioning"),
        badge(l.operating_status, "listener-operating")),
      h("div", {class: "lb-kvs"},
        kv("Default pool", l.default_pool_id ? poolLabel(l.default_pool_id) : "—",
          {"data-test": "listener-default-pool"}),
        kv("Connection limit", l.connection_limit === -1 ? "unlimited"
          : String(l.connection_limit)),
        kv("Admin state", l.admin_state_up ? "Up" : "Down"),
        l.allowed_cidrs && l.allowed_cidrs.length
          ? kv("Allowed CIDRs", l.allowed_cidrs.join(", ")) : null,
        tls.length ? kv("TLS", h("span", {class: "lb-refs"},
          tls.map((ref) => h("span", {class: "mono lb-ref", title: ref}, ref))),
        {"data-test": "listener-tls"}) : null),
      h("div", {class: "lb-sub-head"}, h("h4", {}, "L7 policies"),
        h("span", {class: "spacer"}),
        canWrite ? h("button", {type: "button", class: "secondary small",
                                "data-test": "add-l7policy",
                                onclick: () => openPolicyForm(l, formSlotL)},
        "Add L7 policy") : null),
      formSlotL, l7box);
    const sorted = [...policies].sort((a, b) => a.position - b.position);
    if (!sorted.length) {
      l7box.append(h("p", {class: "muted lb-small"},
        "No L7 policies: all requests go to the default pool."));
    }
    for (const p of sorted) l7box.append(policyItem(p));
    return card;
  }

  function policyTarget(p) {
    switch (p.action) {
      case "REDIRECT_TO_POOL": return `→ pool ${poolLabel(p.redirect_pool_id)}`;
      case "REDIRECT_TO_URL":
        return `→ ${p.redirect_url}${p.redirect_http_code ? ` (${p.redirect_http_code})` : ""}`;
      case "REDIRECT_PREFIX":
        return `→ ${p.redirect_prefix}…${p.redirect_http_code ? ` (${p.redirect_http_code})` : ""}`;
      default: return "";
    }
  }

  function ruleText(r) {
    return [r.invert ? "NOT" : null, r.type, r.key ? `[${r.key}]` : null, r.compare_type,
            r.value].filter(Boolean).join(" ");
  }

  function policyItem(p) {
    const ruleSlot = h("div", {class: "lb-inline-form-slot"});
    return h("div", {class: "lb-policy", "data-test": "l7policy", "data-id": p.id,
                     "data-name": p.name || "", "data-action": p.action},
      h("div", {class: "lb-policy-head"},
        h("span", {class: "lb-position", title: "position"}, `#${p.position}`),
        h("span", {class: `lb-action ${p.action === "REJECT" ? "bad" : "ok"}`,
                   "data-test": "l7policy-action"}, p.action),
        h("span", {class: "lb-policy-name"}, p.name || ""),
        h("span", {class: "lb-target mono"}, policyTarget(p)),
        h("span", {class: "spacer"}),
        badge(p.provisioning_status, "l7policy-provisioning"),
        canWrite ? h("button", {type: "button", class: "link", "data-test": "add-l7rule",
                                onclick: () => openRuleForm(p, ruleSlot)}, "Add rule") : null,
        canWrite ? h("button", {type: "button", class: "link lb-danger-link",
                                "data-test": "delete-l7policy",
                                onclick: () => deletePolicy(p)}, "Delete") : null),
      h("ul", {class: "lb-rules"},
        p.rules.length ? p.rules.map((r) =>
          h("li", {"data-test": "l7rule", "data-id": r.id, "data-type": r.type,
                   "data-compare": r.compare_type, "data-value": r.value},
            h("span", {class: "mono"}, ruleText(r)),
            canWrite ? h("button", {type: "button", class: "link lb-danger-link",
                                    "data-test": "delete-l7rule",
                                    onclick: () => deleteRule(p, r)}, "×") : null))
          : h("li", {class: "muted"}, "No rules: this policy never matches.")),
      ruleSlot);
  }

  function inlineForm(slot, test, title, fields, onSubmit, saveTest, cancelTest) {
    const form = h("form", {class: "lb-inline-form", "data-test": test, novalidate: true},
      h("h4", {}, title), fields,
      h("div", {class: "actions"},
        h("button", {type: "button", class: "secondary", "data-test": cancelTest,
                     onclick: () => { closeForm(slot, form); }}, "Cancel"),
        h("button", {type: "submit", class: "primary", "data-test": saveTest}, "Save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const save = form.querySelector("[type=submit]");
      save.disabled = true;
      try {
        await onSubmit(form);
      } catch (exc) {
        showError(form, exc);
      } finally {
        save.disabled = false;
      }
    });
    openForms.add(form);
    fill(slot, form);
    return form;
  }

  function closeForm(slot, form) {
    openForms.delete(form);
    lastSections = "";
    clear(slot);
  }

  function openPolicyForm(l, slot) {
    if (slot.firstChild) return;
    const pools = [...poolsById.values()];
    const action = select("action", L7_ACTIONS, "REJECT", {"data-test": "l7policy-action-input"});
    const poolSel = select("redirect_pool_id", pools.map((p) => [p.id, p.name || p.id]),
      undefined, {"data-test": "l7policy-pool-input"});
    const url = input("redirect_url", {placeholder: "https://example.com/",
                                       "data-test": "l7policy-url-input"});
    const prefix = input("redirect_prefix", {placeholder: "https://example.com",
                                             "data-test": "l7policy-prefix-input"});
    const name = input("name", {maxlength: 255, "data-test": "l7policy-name-input"});
    const position = input("position", {type: "number", min: 1, placeholder: "last",
                                        "data-test": "l7policy-position-input"});
    const fPool = field("Redirect pool", poolSel);
    const fUrl = field("Redirect URL", url);
    const fPrefix = field("Redirect prefix", prefix);
    const sync = () => {
      fPool.hidden = action.value !== "REDIRECT_TO_POOL";
      fUrl.hidden = action.value !== "REDIRECT_TO_URL";
      fPrefix.hidden = action.value !== "REDIRECT_PREFIX";
    };
    action.addEventListener("change", sync);
    sync();
    inlineForm(slot, "l7policy-form", `New L7 policy on ${l.name || l.protocol_port}`,
      [h("div", {class: "row"}, field("Name", name), field("Action", action),
        field("Position", position, "1 = first")),
      h("div", {class: "row"}, fPool, fUrl, fPrefix)],
      async (form) => {
        const body = {listener_id: l.id, action: action.value};
        if (name.value.trim()) body.name = name.value.trim();
        if (position.value) body.position = Number(position.value);
        if (action.value === "REDIRECT_TO_POOL") body.redirect_pool_id = poolSel.value || null;
        if (action.value === "REDIRECT_TO_URL") body.redirect_url = url.value.trim();
        if (action.value === "REDIRECT_PREFIX") body.redirect_prefix = prefix.value.trim();
        await ctx.api.post(`${LBAAS}/l7policies`, {l7policy: body});
        closeForm(slot, form);
        ctx.toast("L7 policy created.", "success");
        after("Adding L7 policy…");
      }, "save-l7policy", "cancel-l7policy");
  }

  function openRuleForm(p, slot) {
    if (slot.firstChild) return;
    const type = select("type", RULE_TYPES, "PATH", {"data-test": "l7rule-type-input"});
    const compare = select("compare_type", COMPARE_TYPES, "STARTS_WITH",
      {"data-test": "l7rule-compare-input"});
    const key = input("key", {placeholder: "header / cookie name",
                              "data-test": "l7rule-key-input"});
    const value = input("value", {placeholder: "/admin", "data-test": "l7rule-value-input"});
    const invert = h("input", {type: "checkbox", name: "invert", "data-test": "l7rule-invert-input"});
    const fKey = field("Key", key);
    const sync = () => {
      fKey.hidden = !KEYED_RULES.has(type.value);
      if (type.value === "SSL_CONN_HAS_CERT") { compare.value = "EQUAL_TO"; value.value = "True"; }
    };
    type.addEventListener("change", sync);
    sync();
    inlineForm(slot, "l7rule-form", `New rule for ${p.name || `policy #${p.position}`}`,
      [h("div", {class: "row"}, field("Type", type), field("Compare", compare), fKey,
        field("Value", value)),
      h("label", {class: "field lb-check", "data-field": "invert"}, invert,
        h("span", {}, "Invert (match when the rule does not)"),
        h("span", {class: "field-error", hidden: true}))],
      async (form) => {
        const body = {type: type.value, compare_type: compare.value, value: value.value.trim(),
                      invert: invert.checked};
        if (KEYED_RULES.has(type.value)) body.key = key.value.trim();
        await ctx.api.post(`${LBAAS}/l7policies/${p.id}/rules`, {rule: body});
        closeForm(slot, form);
        ctx.toast("L7 rule created.", "success");
        after("Adding L7 rule…");
      }, "save-l7rule", "cancel-l7rule");
  }

  async function deletePolicy(p) {
    const ok = await ctx.confirm(
      `Delete L7 policy ${p.name || `#${p.position}`} (${p.action}) and its rules?`,
      {action: "Delete"});
    if (!ok) return;
    try {
      await ctx.api.del(`${LBAAS}/l7policies/${p.id}`);
    } catch (exc) { toastError(exc); return; }
    after("Deleting L7 policy…", "L7 policy deleted.");
  }

  async function deleteRule(p, r) {
    const ok = await ctx.confirm(`Delete the rule "${ruleText(r)}"?`, {action: "Delete"});
    if (!ok) return;
    try {
      await ctx.api.del(`${LBAAS}/l7policies/${p.id}/rules/${r.id}`);
    } catch (exc) { toastError(exc); return; }
    after("Deleting L7 rule…", "L7 rule deleted.");
  }

  // ---- pool cards ------------------------------------------------------------------------
  function persistence(sp) {
    if (!sp) return "none";
    return sp.cookie_name ? `${sp.type} (${sp.cookie_name})` : sp.type;
  }

  function monitorText(hm) {
    if (!hm) return "none";
    const target = hm.type === "HTTP" || hm.type === "HTTPS"
      ? ` ${hm.http_method || "GET"} ${hm.url_path || "/"}` : "";
    return `${hm.type}${target} every ${hm.delay}s, timeout ${hm.timeout}s, ` +
      `${hm.max_retries} retries`;
  }

  function poolCard(p, members, hm) {
    const body = h("div", {class: "lb-members"});
    const card = h("article", {class: "card lb-obj", "data-test": "pool", "data-id": p.id,
                               "data-name": p.name || ""},
      h("div", {class: "lb-obj-head"},
        h("span", {class: "lb-proto"}, p.protocol),
        h("h3", {}, p.name || p.id.slice(0, 8)),
        h("span", {class: "spacer"}),
        badge(p.provisioning_status, "pool-provisioning"),
        badge(p.operating_status, "pool-operating")),
      h("div", {class: "lb-kvs"},
        kv("Algorithm", p.lb_algorithm, {"data-test": "pool-algorithm"}),
        kv("Persistence", persistence(p.session_persistence), {"data-test": "pool-persistence"}),
        kv("Monitor", monitorText(hm), {"data-test": "pool-monitor"}),
        p.tls_enabled ? kv("TLS to members", "enabled") : null),
      body);
    const show = () => {
      fill(body, h("div", {class: "lb-sub-head"},
        h("h4", {}, `Members (${members.length})`), h("span", {class: "spacer"}),
        canWrite ? h("button", {type: "button", class: "secondary small",
                                "data-test": "batch-edit", onclick: edit}, "Edit members")
          : null),
      members.length ? membersTable(members)
        : h("p", {class: "muted lb-small"}, "No members."));
    };
    const edit = () => batchEdit(p, members, body, show);
    show();
    return card;
  }

  function membersTable(members) {
    const sorted = [...members].sort((a, b) => (a.name || a.address).localeCompare(
      b.name || b.address));
    return table(["Name", "Address", "Weight", "Admin", "Status"], sorted.map((m) =>
      h("tr", {"data-test": "member-row", "data-id": m.id, "data-name": m.name || "",
               "data-weight": m.weight, "data-address": `${m.address}:${m.protocol_port}`},
        h("td", {}, m.name || h("span", {class: "muted"}, m.id.slice(0, 8)),
          m.backup ? h("span", {class: "lb-tag"}, "backup") : null),
        h("td", {class: "mono"}, `${m.address}:${m.protocol_port}`),
        h("td", {}, String(m.weight)),
        h("td", {}, m.admin_state_up ? "up" : h("span", {class: "lb-down"}, "down")),
        h("td", {}, badge(m.operating_status, "member-status"),
          PENDING.test(m.provisioning_status) ? h("span", {class: "lb-small muted"},
            ` ${m.provisioning_status}`) : null))), {class: "grid lb-members-table"});
  }

  function batchEdit(pool, members, body, done) {
    const rows = h("tbody", {});
    const cell = (name, el) => h("td", {}, h("div", {class: "field lb-cell", "data-field": name},
      el, h("span", {class: "field-error", hidden: true})));
    const addRow = (m) => {
      const existing = Boolean(m);
      m = m || {name: "", address: "", protocol_port: "", weight: 1, admin_state_up: true};
      const tr = h("tr", {"data-test": "batch-row", "data-id": existing ? m.id : null,
                          "data-new": existing ? null : "true"},
        cell("name", h("input", {name: "name", value: m.name || "", maxlength: 255,
                                 "aria-label": "name"})),
        cell("address", h("input", {name: "address", value: m.address, readonly: existing,
                                    placeholder: "10.0.0.10", "aria-label": "address",
                                    class: existing ? "mono lb-readonly" : "mono"})),
        cell("protocol_port", h("input", {name: "protocol_port", type: "number", min: 1,
                                          max: 65535, value: m.protocol_port,
                                          readonly: existing, "aria-label": "port",
                                          class: existing ? "lb-readonly" : null})),
        cell("weight", h("input", {name: "weight", type: "number", min: 0, max: 256,
                                   value: m.weight, "aria-label": "weight"})),
        cell("admin_state_up", h("input", {type: "checkbox", name: "admin_state_up",
                                           checked: m.admin_state_up,
                                           "aria-label": "admin state up"})),
        h("td", {}, h("button", {type: "button", class: "link lb-danger-link",
                                 "data-test": "batch-remove", title: "Remove this member",
                                 onclick: () => tr.remove()}, "Remove")));
      tr.member = existing ? m : null;
      rows.append(tr);
      return tr;
    };
    [...members].sort((a, b) => (a.name || a.address).localeCompare(b.name || b.address))
      .forEach(addRow);
    const form = h("form", {class: "lb-batch", "data-test": "batch-form", novalidate: true},
      h("table", {class: "grid lb-batch-table"},
        h("thead", {}, h("tr", {}, ["Name", "Address", "Port", "Weight", "Up", ""].map((x) =>
          h("th", {}, x)))),
        rows),
      h("div", {class: "lb-batch-actions"},
        h("button", {type: "button", class: "secondary small", "data-test": "batch-add",
                     onclick: () => addRow(null).querySelector("[name=address]").focus()},
        "+ Add member"),
        h("span", {class: "spacer"}),
        h("span", {class: "hint"},
          "Saving replaces the pool's members with this list (Octavia batch update)."),
        h("button", {type: "button", class: "secondary", "data-test": "batch-cancel",
                     onclick: () => { openForms.delete(form); lastSections = ""; done(); }},
        "Cancel"),
        h("button", {type: "submit", class: "primary", "data-test": "batch-save"}, "Save")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      clearErrors(form);
      const trs = [...rows.querySelectorAll("tr")];
      const wanted = trs.map((tr) => {
        const val = (n) => tr.querySelector(`[name=${n}]`);
        const m = {address: val("address").value.trim(),
                   protocol_port: Number(val("protocol_port").value),
                   admin_state_up: val("admin_state_up").checked};
        if (val("name").value.trim()) m.name = val("name").value.trim();
        else if (tr.member && tr.member.name) m.name = "";
        if (val("weight").value !== "") m.weight = Number(val("weight").value);
        const old = tr.member;
        if (old) {
          m.backup = old.backup;
          if (old.subnet_id) m.subnet_id = old.subnet_id;
          if (old.monitor_address) m.monitor_address = old.monitor_address;
          if (old.monitor_port) m.monitor_port = old.monitor_port;
          if (old.tags && old.tags.length) m.tags = old.tags;
        }
        return m;
      });
      let bad = false;
      trs.forEach((tr, i) => {
        if (!wanted[i].address) { showFieldError(tr, "address", "Required."); bad = true; }
        const port = wanted[i].protocol_port;
        if (!(port >= 1 && port <= 65535)) {
          showFieldError(tr, "protocol_port", "1-65535."); bad = true;
        }
      });
      if (bad) return;
      const kept = new Set(trs.filter((tr) => tr.member).map((tr) => tr.member.id));
      const removed = members.filter((m) => !kept.has(m.id));
      if (removed.length) {
        const names = removed.map((m) => m.name || `${m.address}:${m.protocol_port}`).join(", ");
        const ok = await ctx.confirm(
          `Remove ${removed.length} member${removed.length > 1 ? "s" : ""} (${names}) from ` +
          `pool ${pool.name || pool.id}? Members not in the list are deleted.`,
          {action: "Save and remove"});
        if (!ok) return;
      }
      const save = form.querySelector("[data-test=batch-save]");
      save.disabled = true;
      try {
        await ctx.api.put(`${LBAAS}/pools/${pool.id}/members`, {members: wanted});
      } catch (exc) {
        save.disabled = false;
        // "members.1.address" (or "1.address") -> that row's field.
        const path = faultPath(exc);
        const at = path.findIndex((x) => /^\d+$/.test(x));
        const idx = at >= 0 && at < path.length - 1 ? Number(path[at]) : NaN;
        if (Number.isInteger(idx) && trs[idx] &&
            showFieldError(trs[idx], path[path.length - 1], exc.fault)) return;
        toastError(exc);
        return;
      }
      openForms.delete(form);
      lastSections = "";
      busyLabel = "Updating members…";
      showProgress();
      fill(body, h("div", {class: "progress", "data-test": "batch-progress"},
        h("span", {class: "spinner"}), "Updating members…"));
      after("Updating members…", `Members of pool ${pool.name || pool.id} updated.`);
    });
    openForms.add(form);
    fill(body, h("div", {class: "lb-sub-head"}, h("h4", {}, "Edit members")), form);
  }
}
