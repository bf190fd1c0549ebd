// "Create load balancer": a step-by-step wizard in the order of Octavia's Horizon dashboard
// (details, listener, certificates for TERMINATED_HTTPS, pool, members, health monitor,
// review) that ends in ONE single-call create of the whole tree:
// POST /v2/lbaas/loadbalancers {"loadbalancer": {..., listeners: [{..., default_pool: {...}}]}}.
// The client checks little; the API is the judge, and a fault naming a field
// ("Invalid input for field/attribute listeners.0.default_pool.members.1.address") is shown
// next to that field, on its step (for a member, in its row): views/wizard_faults.js reads the
// fault and maps its paths to steps and fields.

import {LBAAS, NETWORKING} from "../api.js";
import {clearErrors, field, fill, h, input, select, showFieldError} from "../dom.js";
import {locateFault} from "./wizard_faults.js";

const SECRETS = "/key-manager/v1/secrets?limit=100";

const STEPS = [
  ["details", "Details"],
  ["listener", "Listener"],
  ["certificates", "Certificates"],
  ["pool", "Pool"],
  ["members", "Members"],
  ["monitor", "Health monitor"],
  ["review", "Review"],
];
const TITLES = Object.fromEntries(STEPS);

const LISTENER_PROTOCOLS = ["HTTP", "HTTPS", "TERMINATED_HTTPS", "TCP", "UDP"];
const POOL_PROTOCOLS = ["HTTP", "HTTPS", "PROXY", "PROXYV2", "TCP", "UDP"];
const POOL_FOR_LISTENER = {HTTP: "HTTP", TERMINATED_HTTPS: "HTTP", HTTPS: "HTTPS",
                           TCP: "TCP", UDP: "UDP"};
const ALGORITHMS = [["ROUND_ROBIN", "Round robin"], ["LEAST_CONNECTIONS", "Least connections"],
                    ["SOURCE_IP", "Source IP"]];
const PERSISTENCE = [["", "None"], ["SOURCE_IP", "Source IP"], ["HTTP_COOKIE", "HTTP cookie"],
                     ["APP_COOKIE", "Application cookie"]];
const MONITOR_TYPES = [["", "No health monitor"], "HTTP", "HTTPS", "TCP", "PING", "UDP-CONNECT",
                       "TLS-HELLO"];
const HTTP_METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE",
                      "CONNECT"];
const HTTP_MONITORS = new Set(["HTTP", "HTTPS"]);
const TLS_LISTENER = "TERMINATED_HTTPS";

export async function render(ctx) {
  if (!ctx.session.can.create_loadbalancer) {
    fill(ctx.root, h("div", {class: "alert info", "data-test": "read-only"},
      "Read only: your role cannot create load balancers."));
    return;
  }

  // What the selects offer; a failure leaves a hint on the step instead of stopping the wizard.
  const [subnets, flavors, secrets] = await Promise.all([
    ctx.api.list(`${NETWORKING}/subnets`, "subnets").catch((exc) => exc),
    ctx.api.list(`${LBAAS}/flavors`, "flavors").catch((exc) => exc),
    ctx.api.get(SECRETS).then((data) => (data && data.secrets) || []).catch((exc) => exc),
  ]);

  new Wizard(ctx, {subnets, flavors, secrets}).mount();
}

/** The value of the control `name` in `scope` (trimmed text; "" if there is none). */
function val(scope, name) {
  const el = scope.querySelector(`[name="${name}"]`);
  return el ? String(el.value).trim() : "";
}

const isWhole = (text) => /^\d+$/.test(text);

class Wizard {
  constructor(ctx, {subnets, flavors, secrets}) {
    this.ctx = ctx;
    this.subnets = Array.isArray(subnets) ? subnets : [];
    this.subnetError = Array.isArray(subnets) ? null : subnets;
    this.flavors = Array.isArray(flavors) ? flavors.filter((f) => f.enabled !== false) : [];
    this.secrets = Array.isArray(secrets) ? secrets : null;  // null: no listing (hint + text)
    this.current = "details";
    this.reached = 0;  // the furthest step (index in STEPS) the user got to through "Next"
    this.portTouched = false;
    this.poolProtocolTouched = false;
    this.keptRows = [];  // member rows sent in the last body, in order (fault index -> row)
    this.forms = {};
  }

  // ---- building the page ------------------------------------------------------------------

  mount() {
    this.forms = {
      details: this.detailsForm(),
      listener: this.listenerForm(),
      certificates: this.certificatesForm(),
      pool: this.poolForm(),
      members: this.membersForm(),
      monitor: this.monitorForm(),
      review: this.reviewForm(),
    };
    this.tabs = h("ol", {class: "wizard-steps", "data-test": "wizard-steps"},
      STEPS.map(([step, label]) => h("li", {"data-step-tab": step,
                                            onclick: () => this.goTo(step)},
        h("span", {class: "step-number"}), h("span", {class: "step-label"}, label))));
    this.title = h("h2", {"data-test": "wizard-step-title"});
    this.back = h("button", {type: "button", class: "secondary", "data-test": "wizard-back",
                             onclick: () => this.previous()}, "Back");
    this.next = h("button", {type: "submit", class: "primary", "data-test": "wizard-next"},
      "Next");
    this.create = h("button", {type: "submit", class: "primary", "data-test": "wizard-create",
                               hidden: true}, "Create load balancer");
    this.progress = h("span", {class: "progress", "data-test": "wizard-progress", hidden: true},
      h("span", {class: "spinner"}), "Creating load balancer…");
    const cancel = h("button", {type: "button", class: "secondary", "data-test": "wizard-cancel",
                                onclick: () => this.ctx.go("#/loadbalancers")}, "Cancel");

    fill(this.ctx.root, h("section", {class: "wizard", "data-test": "wizard"},
      h("div", {class: "toolbar"}, h("h1", {}, "Create load balancer")),
      this.tabs,
      h("div", {class: "card wizard-body"},
        this.title,
        STEPS.map(([step]) => this.forms[step]),
        h("div", {class: "wizard-actions"}, cancel, h("span", {class: "spacer"}),
          this.progress, this.back, this.next, this.create))));
    this.show("details");
  }

  /** A step's form: Enter submits it through the Next (or Create) button, bound by id. */
  form(step, ...children) {
    return h("form", {"data-step": step, id: `wizard-${step}`, class: "wizard-step",
                      novalidate: true, hidden: true,
                      onsubmit: (event) => {
                        event.preventDefault();
                        if (step === "review") this.submit();
                        else this.forward();
                      },
                      // An edited field's error goes: the user has acted on it.
                      oninput: (event) => clearField(event.target),
                      onchange: (event) => clearField(event.target)},
      h("div", {class: "alert error", "data-test": "step-error", hidden: true}),
      children);
  }

  detailsForm() {
    const subnetOptions = [["", this.subnets.length ? "Choose a subnet" : "No subnet available"],
      ...this.subnets.map((s) => [s.id, `${s.name || s.id} (${s.cidr})`])];
    const flavorOptions = [["", "No flavor"],
      ...this.flavors.map((f) => [f.id, f.description ? `${f.name} — ${f.description}`
                                                     : f.name || f.id])];
    return this.form("details",
      h("p", {class: "muted"}, "The load balancer's name and where its virtual IP (VIP) lives."),
      h("div", {class: "row"},
        field("Name", input("name", {id: "wz-lb-name", maxlength: 255,
                                     placeholder: "optional"})),
        field("Description", input("description", {id: "wz-lb-description", maxlength: 255,
                                                   placeholder: "optional"}))),
      h("div", {class: "row"},
        field("VIP subnet", select("vip_subnet_id", subnetOptions,
                                   this.subnets.length === 1 ? this.subnets[0].id : "",
                                   {id: "wz-lb-vip_subnet_id"}),
              this.subnetError ? `The subnets could not be listed: ${this.subnetError.fault}`
                               : "The VIP is allocated from this subnet."),
        field("Flavor", select("flavor_id", flavorOptions, "", {id: "wz-lb-flavor_id"}),
              this.flavors.length ? null : "No flavor is defined: the provider's defaults apply.")),
      h("label", {class: "field checkbox", "data-field": "admin_state_up"},
        h("span", {class: "check"},
          h("input", {type: "checkbox", name: "admin_state_up", id: "wz-lb-admin_state_up",
                      checked: true}),
          " Admin state up"),
        h("span", {class: "field-error", "data-test": "error-admin_state_up", hidden: true})));
  }

  listenerForm() {
    const protocol = select("protocol", LISTENER_PROTOCOLS, "HTTP", {id: "wz-li-protocol"});
    const port = input("protocol_port", {id: "wz-li-protocol_port", type: "number", min: 1,
                                         max: 65535, value: "80"});
    port.addEventListener("input", () => { this.portTouched = true; });
    protocol.addEventListener("change", () => this.listenerProtocolChanged());
    return this.form("listener",
      h("p", {class: "muted"}, "The listener: the protocol and port the VIP accepts traffic on."),
      h("div", {class: "row"},
        field("Name", input("name", {id: "wz-li-name", maxlength: 255, placeholder: "optional"})),
        field("Protocol", protocol,
              "TERMINATED_HTTPS decrypts TLS with a certificate from the secret store."),
        field("Port", port)));
  }

  certificatesForm() {
    const text = input("default_tls_container_ref_text", {id: "wz-tls-text", maxlength: 255,
      placeholder: "https://…/key-manager/v1/secrets/… or …/containers/…"});
    let choices;
    if (this.secrets === null) {
      choices = [h("div", {class: "alert info", "data-test": "secrets-unavailable"},
        "The secret store's list could not be read (for example a Barbican this page cannot " +
        "list). Type the reference of the certificate secret or container below.")];
    } else {
      const options = this.secrets.map((s) => [s.secret_ref, this.secretLabel(s)]);
      choices = [
        field("Default certificate",
              select("default_tls_container_ref",
                     [["", this.secrets.length ? "Choose a secret" : "No secret stored"],
                      ...options], "", {id: "wz-tls-default"}),
              "A PKCS12 bundle from the project's secret store."),
        options.length
          ? field("SNI certificates", select("sni_container_refs", options, null,
                                             {id: "wz-tls-sni", multiple: true, size: 4}),
                  "Optional: more certificates chosen by the client's server name (Ctrl-click).")
          : null,
      ];
    }
    return this.form("certificates",
      h("p", {class: "muted"}, "A TERMINATED_HTTPS listener needs a certificate and its key."),
      choices,
      field("Certificate reference", text,
            this.secrets === null ? "Required: the secret or container reference."
                                  : "Or type a reference by hand (used instead of the choice above)."));
  }

  secretLabel(secret) {
    const id = (secret.secret_ref || "").split("/").pop();
    const kind = secret.secret_type ? `, ${secret.secret_type}` : "";
    return secret.name ? `${secret.name} (${id}${kind})` : `${id}${kind}`;
  }

  poolForm() {
    const protocol = select("protocol", POOL_PROTOCOLS, "HTTP", {id: "wz-pool-protocol"});
    protocol.addEventListener("change", () => { this.poolProtocolTouched = true; });
    const persistence = select("session_persistence", PERSISTENCE, "",
                               {id: "wz-pool-session_persistence"});
    const cookie = field("Cookie name", input("cookie_name", {id: "wz-pool-cookie_name",
                                                               maxlength: 255}),
                         "The application's cookie that keeps a client on one member.");
    cookie.hidden = true;
    persistence.addEventListener("change", () => {
      cookie.hidden = persistence.value !== "APP_COOKIE";
    });
    return this.form("pool",
      h("p", {class: "muted"}, "The listener's default pool: how requests are spread over the " +
        "members."),
      h("div", {class: "row"},
        field("Name", input("name", {id: "wz-pool-name", maxlength: 255,
                                     placeholder: "optional"})),
        field("Algorithm", select("lb_algorithm", ALGORITHMS, "ROUND_ROBIN",
                                  {id: "wz-pool-lb_algorithm"})),
        field("Protocol", protocol, "Derived from the listener's protocol.")),
      h("div", {class: "row"}, field("Session persistence", persistence), cookie));
  }

  membersForm() {
    this.memberBody = h("tbody", {"data-test": "member-rows"});
    const form = this.form("members",
      h("p", {class: "muted"}, "The servers the pool sends traffic to. Rows without an address " +
        "are left out."),
      h("table", {class: "grid members", "data-test": "members-table"},
        h("thead", {}, h("tr", {}, ["Name", "Address", "Port", "Weight", ""].map(
          (x) => h("th", {}, x)))),
        this.memberBody),
      h("div", {class: "toolbar members-tools"},
        h("button", {type: "button", class: "secondary", "data-test": "add-member",
                     onclick: () => this.addMember(true)}, "Add member")));
    this.addMember(false);
    return form;
  }

  addMember(focus) {
    const cell = (label, el) => h("td", {}, field(label, el));
    const address = input("address", {id: undefined, placeholder: "192.0.2.10",
                                      "aria-label": "Address"});
    const row = h("tr", {"data-test": "member-row"},
      cell("Name", input("name", {id: undefined, placeholder: "optional", maxlength: 255,
                                  "aria-label": "Name"})),
      cell("Address", address),
      cell("Port", input("protocol_port", {id: undefined, type: "number", min: 1, max: 65535,
                                           value: "80", "aria-label": "Port"})),
      cell("Weight", input("weight", {id: undefined, type: "number", min: 0, max: 256,
                                      value: "1", "aria-label": "Weight"})),
      h("td", {class: "row-actions"},
        h("button", {type: "button", class: "secondary", "data-test": "remove-member",
                     title: "Remove this member",
                     onclick: () => { row.remove(); this.numberMembers(); }}, "Remove")));
    this.memberBody.append(row);
    this.numberMembers();
    if (focus) address.focus();
  }

  numberMembers() {
    [...this.memberBody.children].forEach((row, i) => { row.dataset.index = String(i); });
  }

  monitorForm() {
    const type = select("type", MONITOR_TYPES, "", {id: "wz-hm-type"});
    const timing = h("div", {class: "monitor-timing"},
      h("div", {class: "row"},
        field("Delay (s)", input("delay", {id: "wz-hm-delay", type: "number", min: 0,
                                           value: "5"}), "Seconds between checks."),
        field("Timeout (s)", input("timeout", {id: "wz-hm-timeout", type: "number", min: 0,
                                               value: "5"}), "Seconds a check may take."),
        field("Max retries", input("max_retries", {id: "wz-hm-max_retries", type: "number",
                                                   min: 1, max: 10, value: "3"}),
              "Successes before a member is ONLINE."),
        field("Max retries down", input("max_retries_down",
                                        {id: "wz-hm-max_retries_down", type: "number", min: 1,
                                         max: 10, value: "3"}),
              "Failures before a member is ERROR.")));
    const http = h("div", {class: "row monitor-http"},
      field("URL path", input("url_path", {id: "wz-hm-url_path", value: "/"})),
      field("HTTP method", select("http_method", HTTP_METHODS, "GET",
                                  {id: "wz-hm-http_method"})),
      field("Expected codes", input("expected_codes", {id: "wz-hm-expected_codes",
                                                       value: "200"}),
            "A code, a list (200,202) or a range (200-204)."));
    const update = () => {
      timing.hidden = !type.value;
      http.hidden = !HTTP_MONITORS.has(type.value);
    };
    type.addEventListener("change", update);
    update();
    return this.form("monitor",
      h("p", {class: "muted"}, "An optional health monitor: members that fail its checks " +
        "get no traffic."),
      h("div", {class: "row"}, field("Type", type)), timing, http);
  }

  reviewForm() {
    this.summary = h("div", {class: "wizard-summary", "data-test": "wizard-summary"});
    this.json = h("pre", {class: "mono wizard-json", "data-test": "wizard-json"});
    this.error = h("div", {class: "alert error", "data-test": "wizard-error", hidden: true});
    return this.form("review", this.error, this.summary,
      h("h3", {}, "Request body"),
      h("p", {class: "muted"}, "POST /v2/lbaas/loadbalancers, in one call:"),
      this.json);
  }

  // ---- moving between steps ---------------------------------------------------------------

  /** The steps that apply now (certificates only for a TERMINATED_HTTPS listener). */
  activeSteps() {
    const tls = val(this.forms.listener, "protocol") === TLS_LISTENER;
    return STEPS.map(([step]) => step).filter((step) => step !== "certificates" || tls);
  }

  show(step) {
    this.current = step;
    const active = this.activeSteps();
    const index = STEPS.findIndex(([s]) => s === step);
    this.reached = Math.max(this.reached, index);
    for (const [name, form] of Object.entries(this.forms)) form.hidden = name !== step;
    for (const tab of this.tabs.children) {
      const name = tab.dataset.stepTab;
      const position = active.indexOf(name);
      const stepIndex = STEPS.findIndex(([s]) => s === name);
      tab.hidden = position < 0;
      tab.classList.toggle("skipped", position < 0);
      tab.classList.toggle("current", name === step);
      tab.classList.toggle("done", stepIndex < index);
      tab.classList.toggle("reachable", position >= 0 && stepIndex <= this.reached);
      tab.querySelector(".step-number").textContent = position < 0 ? "" : String(position + 1);
    }
    this.title.textContent = TITLES[step];
    const last = step === "review";
    this.back.disabled = step === active[0];
    this.next.hidden = last;
    this.create.hidden = !last;
    // The visible submit button is bound to this step's form: Enter in a field "clicks" it.
    this.next.setAttribute("form", `wizard-${step}`);
    this.create.setAttribute("form", "wizard-review");
    if (last) this.renderReview();
  }

  previous() {
    const active = this.activeSteps();
    const i = active.indexOf(this.current);
    if (i > 0) this.show(active[i - 1]);
  }

  forward() {
    const active = this.activeSteps();
    const i = active.indexOf(this.current);
    if (!this.check(this.current)) return;
    if (i < active.length - 1) {
      this.show(active[i + 1]);
      this.focusFirst();
    }
  }

  /** A tab: back freely; forward up to the furthest step reached, checking each step passed. */
  goTo(step) {
    const active = this.activeSteps();
    const from = active.indexOf(this.current);
    const to = active.indexOf(step);
    if (to < 0 || to === from || this.busy) return;
    if (STEPS.findIndex(([s]) => s === step) > this.reached) return;
    for (let i = from; i < to; i++) {
      if (!this.check(active[i])) {
        if (active[i] !== this.current) this.show(active[i]);
        return;
      }
    }
    this.show(step);
  }

  focusFirst() {
    const form = this.forms[this.current];
    const el = [...form.querySelectorAll("input, select")].find((e) => !e.closest("[hidden]"));
    if (el) el.focus();
  }

  listenerProtocolChanged() {
    const protocol = val(this.forms.listener, "protocol");
    if (!this.portTouched) {
      this.forms.listener.querySelector("[name=protocol_port]").value =
        protocol === "HTTPS" || protocol === TLS_LISTENER ? "443" : "80";
    }
    if (!this.poolProtocolTouched && POOL_FOR_LISTENER[protocol]) {
      this.forms.pool.querySelector("[name=protocol]").value = POOL_FOR_LISTENER[protocol];
    }
    this.show(this.current);  // the certificates tab comes and goes
  }

  // ---- light client-side checks -----------------------------------------------------------

  /** Check one step's entries; show what is wrong next to the fields. True if all is well. */
  check(step) {
    const form = this.forms[step];
    clearErrors(form);
    this.stepError(form, null);
    const problems = [];
    const bad = (scope, name, message) => {
      showFieldError(scope, name, message);
      problems.push(name);
    };
    const port = (scope, name) => {
      const text = val(scope, name);
      if (!isWhole(text) || Number(text) < 1 || Number(text) > 65535) {
        bad(scope, name, "A port is a whole number from 1 to 65535.");
      }
    };
    if (step === "details") {
      if (!val(form, "vip_subnet_id")) bad(form, "vip_subnet_id", "Choose the VIP's subnet.");
    } else if (step === "listener") {
      port(form, "protocol_port");
    } else if (step === "certificates") {
      if (!this.defaultTlsRef() && !this.sniRefs().length) {
        bad(form, this.secrets === null ? "default_tls_container_ref_text"
                                        : "default_tls_container_ref",
            "A TERMINATED_HTTPS listener needs a certificate.");
      }
    } else if (step === "pool") {
      if (val(form, "session_persistence") === "APP_COOKIE" && !val(form, "cookie_name")) {
        bad(form, "cookie_name", "An application cookie persistence needs the cookie's name.");
      }
    } else if (step === "members") {
      for (const row of this.memberBody.children) {
        if (!this.keepRow(row)) continue;
        if (!val(row, "address")) bad(row, "address", "Give the member's address.");
        port(row, "protocol_port");
        const weight = val(row, "weight");
        if (weight && !isWhole(weight)) bad(row, "weight", "A weight is a whole number.");
      }
    } else if (step === "monitor" && val(form, "type")) {
      for (const name of ["delay", "timeout", "max_retries", "max_retries_down"]) {
        if (!isWhole(val(form, name))) bad(form, name, "A whole number.");
      }
    }
    if (problems.length) {
      const first = (step === "members" ? this.memberBody : form)
        .querySelector(".field.invalid input, .field.invalid select");
      if (first) first.focus();
    }
    return problems.length === 0;
  }

  /** A member row is sent when it has an address or a name (an untouched row is left out). */
  keepRow(row) {
    return Boolean(val(row, "address") || val(row, "name"));
  }

  defaultTlsRef() {
    const form = this.forms.certificates;
    return val(form, "default_tls_container_ref_text") || val(form, "default_tls_container_ref");
  }

  sniRefs() {
    const el = this.forms.certificates.querySelector("[name=sni_container_refs]");
    return el ? [...el.selectedOptions].map((o) => o.value).filter(Boolean) : [];
  }

  // ---- the request ------------------------------------------------------------------------

  /** The single-call create body, empty optional fields left out. */
  body() {
    const put = (obj, key, value) => {
      if (value !== "" && value !== null && value !== undefined &&
          !(Array.isArray(value) && !value.length)) obj[key] = value;
      return obj;
    };
    const d = this.forms.details;
    const lb = {};
    put(lb, "name", val(d, "name"));
    put(lb, "description", val(d, "description"));
    put(lb, "vip_subnet_id", val(d, "vip_subnet_id"));
    put(lb, "flavor_id", val(d, "flavor_id"));
    lb.admin_state_up = d.querySelector("[name=admin_state_up]").checked;

    const l = this.forms.listener;
    const listener = {};
    put(listener, "name", val(l, "name"));
    listener.protocol = val(l, "protocol");
    listener.protocol_port = Number(val(l, "protocol_port"));
    if (listener.protocol === TLS_LISTENER) {
      put(listener, "default_tls_container_ref", this.defaultTlsRef());
      put(listener, "sni_container_refs", this.sniRefs());
    }

    const p = this.forms.pool;
    const pool = {};
    put(pool, "name", val(p, "name"));
    pool.protocol = val(p, "protocol");
    pool.lb_algorithm = val(p, "lb_algorithm");
    const persistence = val(p, "session_persistence");
    if (persistence) {
      pool.session_persistence = {type: persistence};
      if (persistence === "APP_COOKIE") {
        put(pool.session_persistence, "cookie_name", val(p, "cookie_name"));
      }
    }

    this.keptRows = [...this.memberBody.children].filter((row) => this.keepRow(row));
    pool.members = this.keptRows.map((row) => {
      const member = {};
      put(member, "name", val(row, "name"));
      member.address = val(row, "address");
      member.protocol_port = Number(val(row, "protocol_port"));
      const weight = val(row, "weight");
      if (weight !== "") member.weight = Number(weight);
      return member;
    });
    if (!pool.members.length) delete pool.members;

    const m = this.forms.monitor;
    const type = val(m, "type");
    if (type) {
      const monitor = {type};
      for (const name of ["delay", "timeout", "max_retries", "max_retries_down"]) {
        monitor[name] = Number(val(m, name));
      }
      if (HTTP_MONITORS.has(type)) {
        put(monitor, "url_path", val(m, "url_path"));
        put(monitor, "http_method", val(m, "http_method"));
        put(monitor, "expected_codes", val(m, "expected_codes"));
      }
      pool.healthmonitor = monitor;
    }

    listener.default_pool = pool;
    lb.listeners = [listener];
    return {loadbalancer: lb};
  }

  renderReview() {
    const body = this.body();
    const lb = body.loadbalancer;
    const listener = lb.listeners[0];
    const pool = listener.default_pool;
    const subnet = this.subnets.find((s) => s.id === lb.vip_subnet_id);
    const flavor = this.flavors.find((f) => f.id === lb.flavor_id);
    const dl = (pairs) => h("dl", {class: "summary-list"},
      pairs.filter(([, v]) => v !== undefined && v !== null && v !== "").map(([k, v]) =>
        [h("dt", {}, k), h("dd", {}, String(v))]));
    const section = (title, test, ...content) => h("div", {class: "summary-section",
                                                           "data-test": test},
      h("h3", {}, title), content);
    const sp = pool.session_persistence;
    const hm = pool.healthmonitor;
    fill(this.summary,
      section("Load balancer", "summary-loadbalancer", dl([
        ["Name", lb.name || "(no name)"],
        ["Description", lb.description],
        ["VIP subnet", subnet ? `${subnet.name || subnet.id} (${subnet.cidr})`
                              : lb.vip_subnet_id],
        ["Flavor", flavor ? flavor.name : "No flavor"],
        ["Admin state", lb.admin_state_up ? "Up" : "Down"]])),
      section("Listener", "summary-listener", dl([
        ["Name", listener.name || "(no name)"],
        ["Protocol / port", `${listener.protocol} ${listener.protocol_port}`],
        ["Default certificate", listener.default_tls_container_ref],
        ["SNI certificates", (listener.sni_container_refs || []).join(", ")]])),
      section("Pool", "summary-pool", dl([
        ["Name", pool.name || "(no name)"],
        ["Protocol", pool.protocol],
        ["Algorithm", pool.lb_algorithm],
        ["Session persistence", sp ? `${sp.type}${sp.cookie_name ? ` (${sp.cookie_name})` : ""}`
                                   : "None"]])),
      section(`Members (${(pool.members || []).length})`, "summary-members",
        (pool.members || []).length
          ? h("table", {class: "grid"},
            h("thead", {}, h("tr", {}, ["Name", "Address", "Port", "Weight"].map(
              (x) => h("th", {}, x)))),
            h("tbody", {}, pool.members.map((m) => h("tr", {},
              h("td", {}, m.name || ""), h("td", {class: "mono"}, m.address),
              h("td", {}, String(m.protocol_port)),
              h("td", {}, m.weight === undefined ? "" : String(m.weight))))))
          : h("p", {class: "muted"}, "No members: add them later.")),
      section("Health monitor", "summary-monitor", hm
        ? dl([["Type", hm.type],
              ["Delay / timeout", `${hm.delay} s / ${hm.timeout} s`],
              ["Retries up / down", `${hm.max_retries} / ${hm.max_retries_down}`],
              ["Check", hm.url_path ? `${hm.http_method || "GET"} ${hm.url_path} → ` +
                                      `${hm.expected_codes || "200"}` : null]])
        : h("p", {class: "muted"}, "No health monitor.")));
    this.json.textContent = JSON.stringify(body, null, 2);
  }

  async submit() {
    if (this.busy) return;
    // Every step once more (a server fault may have sent the user back and forth).
    for (const step of this.activeSteps()) {
      if (step !== "review" && !this.check(step)) { this.show(step); return; }
    }
    for (const form of Object.values(this.forms)) {
      clearErrors(form);
      this.stepError(form, null);
    }
    this.error.hidden = true;
    const body = this.body();
    this.json.textContent = JSON.stringify(body, null, 2);
    this.busy = true;
    this.create.disabled = true;
    this.back.disabled = true;
    this.progress.hidden = false;
    try {
      const created = await this.ctx.api.post(`${LBAAS}/loadbalancers`, body);
      const lb = created.loadbalancer;
      this.ctx.toast(`Creating load balancer ${lb.name || lb.id}`, "success");
      this.ctx.go(`#/loadbalancers/${lb.id}`);
    } catch (exc) {
      this.busy = false;
      this.create.disabled = false;
      this.progress.hidden = true;
      this.show(this.current);
      this.showFault(exc);
    }
  }

  // ---- the API's verdict --------------------------------------------------------------------

  /** Put a fault next to the field it names (on its step), or on the review step. */
  showFault(exc) {
    const placed = (exc.parts || []).map((part) => this.place(part)).filter(Boolean);
    if (!placed.length) {
      this.show("review");
      this.error.textContent = exc.fault || exc.message;
      this.error.hidden = false;
      this.error.scrollIntoView({block: "nearest"});
      return;
    }
    // Go to the earliest step with a problem and focus the first field marked there.
    const order = STEPS.map(([s]) => s);
    const first = placed.sort((a, b) => order.indexOf(a.step) - order.indexOf(b.step))[0];
    this.show(first.step);
    if (first.element) first.element.focus();
    else this.forms[first.step].querySelector("[data-test=step-error]")
      .scrollIntoView({block: "nearest"});
  }

  /** Show one {path, message} part; returns {step, element} or null if it names nothing. */
  place({path, message, text}) {
    const target = this.locate(path);
    if (!target) return null;
    const form = this.forms[target.step];
    const scope = target.row || form;
    if (target.field && showFieldError(scope, target.field, message)) {
      const slot = scope.querySelector(`[data-field="${CSS.escape(target.field)}"]`);
      return {step: target.step, element: slot.querySelector("input, select")};
    }
    const prefix = target.row ? `Member ${Number(target.row.dataset.index) + 1}: ` : "";
    this.stepError(form, prefix + text);
    return {step: target.step, element: null};
  }

  /** Which step, field and member row a fault path names (views/wizard_faults.js). */
  locate(path) {
    return locateFault(path, {
      rows: this.keptRows,
      typedTlsRef: () => this.secrets === null ||
        Boolean(val(this.forms.certificates, "default_tls_container_ref_text")),
    });
  }

  stepError(form, message) {
    const slot = form.querySelector(":scope > [data-test=step-error]");
    if (!slot) return;
    slot.textContent = message || "";
    slot.hidden = !message;
  }
}

function clearField(el) {
  const box = el && el.closest && el.closest(".field");
  if (!box) return;
  box.classList.remove("invalid");
  const slot = box.querySelector(".field-error");
  if (slot) { slot.textContent = ""; slot.hidden = true; }
}
