// The listener cards on a load balancer's page: each listener's settings and its L7 policies
// and rules, with forms to add a policy or a rule and buttons to delete them (when the caller
// may write). Imported by views/loadbalancer.js, which passes the page it draws them on.

import {LBAAS} from "../../api.js";
import {badge, clear, clearErrors, field, fill, h, input, select} from "../../dom.js";
import {kv, showError, toastError} from "./common.js";

const L7_ACTIONS = ["REJECT", "REDIRECT_TO_POOL", "REDIRECT_TO_URL", "REDIRECT_PREFIX"];
const RULE_TYPES = ["PATH", "HOST_NAME", "FILE_TYPE", "HEADER", "COOKIE", "SSL_CONN_HAS_CERT",
                    "SSL_VERIFY_RESULT", "SSL_DN_FIELD"];
const COMPARE_TYPES = ["STARTS_WITH", "EQUAL_TO", "ENDS_WITH", "CONTAINS", "REGEX"];
const KEYED_RULES = new Set(["HEADER", "COOKIE", "SSL_DN_FIELD"]);

/**
 * `listenerCard(listener, policies)` for `page` ({ctx, canWrite, openForms, poolsById,
 * forgetSections(), after(label, success)}, see views/loadbalancer.js); `policies` carry their
 * `rules`.
 */
export function listenerCards(page) {
  const {ctx, canWrite, openForms, after} = page;

  function poolLabel(poolId) {
    const p = page.poolsById.get(poolId);
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
        showError(ctx, form, exc);
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
    page.forgetSections();
    clear(slot);
  }

  function openPolicyForm(l, slot) {
    if (slot.firstChild) return;
    const pools = [...page.poolsById.values()];
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
    } catch (exc) { toastError(ctx, exc); return; }
    after("Deleting L7 policy…", "L7 policy deleted.");
  }

  async function deleteRule(p, r) {
    const ok = await ctx.confirm(`Delete the rule "${ruleText(r)}"?`, {action: "Delete"});
    if (!ok) return;
    try {
      await ctx.api.del(`${LBAAS}/l7policies/${p.id}/rules/${r.id}`);
    } catch (exc) { toastError(ctx, exc); return; }
    after("Deleting L7 rule…", "L7 rule deleted.");
  }

  return listenerCard;
}
