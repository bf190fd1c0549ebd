// The pool cards on a load balancer's page: each pool's algorithm, persistence and health
// monitor, and its members table with a batch editor (Octavia's members batch update: the list
// saved replaces the pool's members). Imported by views/loadbalancer.js, which passes the page
// it draws them on.

import {LBAAS} from "../../api.js";
import {badge, clearErrors, fill, h, showFieldError, table} from "../../dom.js";
import {PENDING, kv, toastError} from "./common.js";

/**
 * `poolCard(pool, members, healthmonitor)` for `page` ({ctx, canWrite, openForms,
 * forgetSections(), showBusy(label), after(label, success)}, see views/loadbalancer.js).
 */
export function poolCards(page) {
  const {ctx, canWrite, openForms, after} = page;

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
                     onclick: () => { openForms.delete(form); page.forgetSections(); done(); }},
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
        const part = (exc.parts || [])[0];
        const path = part ? part.path : [];
        const at = path.findIndex((x) => /^\d+$/.test(x));
        const idx = at >= 0 && at < path.length - 1 ? Number(path[at]) : NaN;
        if (Number.isInteger(idx) && trs[idx] &&
            showFieldError(trs[idx], path[path.length - 1], part.message)) return;
        toastError(ctx, exc);
        return;
      }
      openForms.delete(form);
      page.forgetSections();
      page.showBusy("Updating members…");
      fill(body, h("div", {class: "progress", "data-test": "batch-progress"},
        h("span", {class: "spinner"}), "Updating members…"));
      after("Updating members…", `Members of pool ${pool.name || pool.id} updated.`);
    });
    openForms.add(form);
    fill(body, h("div", {class: "lb-sub-head"}, h("h4", {}, "Edit members")), form);
  }

  return poolCard;
}
