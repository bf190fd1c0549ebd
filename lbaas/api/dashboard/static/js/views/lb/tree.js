// The status tree on a load balancer's page: the load balancer, its listeners, pools, members
// and health monitors from Octavia's status document, each with its operating and provisioning
// status; rebuilt only when the tree's shape changes, else updated in place (nothing under the
// pointer moves). Imported by views/loadbalancer.js.

import {fill, h, statusClass} from "../../dom.js";

const KIND_LABEL = {loadbalancer: "Load balancer", listener: "Listener", pool: "Pool",
                    member: "Member", healthmonitor: "Health monitor"};

/** The tree: `el` to place on the page, `show(root)` with `statuses.loadbalancer`. */
export function statusTree() {
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

  return {el: tree, show: showTree};
}
