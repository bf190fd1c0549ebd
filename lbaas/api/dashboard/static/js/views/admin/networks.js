// The operator's networks page (#/admin/networks): the networks and subnets lbaas may place
// VIPs on, with forms to register a network and add a subnet. Imported by views/admin.js.

import {NETWORKING} from "../../api.js";
import {badge, clearErrors, field, fill, h, input, select, showFieldError, table}
  from "../../dom.js";
import {checkbox, confirmedDelete, empty, formActions, loadError, serial, showError, submitting,
  value} from "./common.js";

function ipVersion(cidr) {
  if (!cidr) return null;
  return cidr.includes(":") ? 6 : 4;
}

export async function networksPage(ctx, body) {
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
        "data-test": "subnet-gateway-input"}), "Empty: the first address.")),
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

  function remove(collection, id, what) {
    return confirmedDelete(ctx, {
      question: `Delete ${what}? Load balancers can no longer get VIPs on it.`,
      path: `${NETWORKING}/${collection}/${id}`, done: `Deleted ${what}.`, refresh});
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
