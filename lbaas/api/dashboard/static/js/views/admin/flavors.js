// The operator's flavors page (#/admin/flavors): flavor profiles (provider and its settings)
// and flavors, with forms to create them, enable/disable and delete. Imported by
// views/admin.js.

import {LBAAS} from "../../api.js";
import {clearErrors, field, fill, h, input, select, showFieldError, table} from "../../dom.js";
import {checkbox, confirmedDelete, formActions, loadError, serial, showError, submitting, value}
  from "./common.js";

export async function flavorsPage(ctx, body) {
  const canManage = Boolean(ctx.session.can.manage_flavors);
  const profilesBox = h("div", {class: "card"});
  const flavorsBox = h("div", {class: "card"});
  let providers = [];
  let profiles = [];

  try {
    providers = (await ctx.api.get(`${LBAAS}/providers`)).providers || [];
  } catch (exc) {
    ctx.toast(exc.fault, "error");
  }

  const capHint = h("span", {class: "hint", "data-test": "flavor-capabilities"});
  const providerSelect = select("provider_name", providers.map((p) => [p.name,
    p.description ? `${p.name} — ${p.description}` : p.name]), providers[0] && providers[0].name,
  {"data-test": "flavorprofile-provider"});
  providerSelect.addEventListener("change", () => loadCapabilities());
  const dataArea = h("textarea", {name: "flavor_data", id: "f-flavor_data", rows: 3,
    class: "mono", spellcheck: "false", "data-test": "flavorprofile-data",
    placeholder: '{"loadbalancer_topology": "ACTIVE_STANDBY"}'});
  const profileForm = h("form", {class: "card adm-form", "data-test": "flavorprofile-form",
                                 novalidate: true},
    h("h2", {}, "New flavor profile"),
    h("div", {class: "row"},
      field("Name", input("name", {required: true, autocomplete: "off",
        "data-test": "flavorprofile-name"})),
      field("Provider", providerSelect)),
    field("Flavor data (JSON)", dataArea),
    capHint,
    formActions("Create profile", "flavorprofile-submit"));

  const profileSelect = select("flavor_profile_id", [], null, {"data-test": "flavor-profile"});
  const flavorForm = h("form", {class: "card adm-form", "data-test": "flavor-form",
                                novalidate: true},
    h("h2", {}, "New flavor"),
    h("div", {class: "row"},
      field("Name", input("name", {required: true, autocomplete: "off",
        "data-test": "flavor-name"})),
      field("Flavor profile", profileSelect)),
    field("Description", input("description", {autocomplete: "off",
      "data-test": "flavor-description"})),
    checkbox("enabled", true, "Enabled (tenants may choose it)", "flavor-enabled-input"),
    formActions("Create flavor", "flavor-submit"));

  async function loadCapabilities() {
    const provider = providerSelect.value;
    if (!provider) { fill(capHint); return; }
    try {
      const caps = (await ctx.api.get(
        `${LBAAS}/providers/${encodeURIComponent(provider)}/flavor_capabilities`))
        .flavor_capabilities || [];
      fill(capHint, caps.length
        ? [`${provider} understands: `, caps.map((c, i) => [i ? "; " : "",
          h("code", {}, c.name), c.description ? ` — ${c.description}` : ""])]
        : `${provider} takes no flavor settings: use {}.`);
    } catch (exc) {
      fill(capHint, exc.fault);
    }
  }

  const refresh = serial(async (current) => {
    let flavors;
    try {
      [profiles, flavors] = await Promise.all([
        ctx.api.list(`${LBAAS}/flavorprofiles`, "flavorprofiles"),
        ctx.api.list(`${LBAAS}/flavors`, "flavors")]);
    } catch (exc) {
      if (current()) loadError(flavorsBox, exc);
      return;
    }
    if (!current()) return;
    const profileName = new Map(profiles.map((p) => [p.id, p.name || p.id]));
    const used = new Map();
    for (const f of flavors) used.set(f.flavor_profile_id, (used.get(f.flavor_profile_id) || 0) + 1);

    const keep = profileSelect.value;
    fill(profileSelect, profiles.map((p) => h("option", {value: p.id, selected: p.id === keep},
      `${p.name || p.id} (${p.provider_name})`)));

    const profileRows = profiles.map((p) => h("tr", {"data-test": "flavorprofile-row",
                                                      "data-id": p.id, "data-name": p.name},
      h("td", {}, h("strong", {}, p.name), h("div", {class: "mono muted"}, p.id)),
      h("td", {}, p.provider_name),
      h("td", {class: "mono adm-json"}, p.flavor_data),
      h("td", {}, String(used.get(p.id) || 0)),
      canManage ? h("td", {class: "adm-row-actions"},
        h("button", {type: "button", class: "danger", "data-test": "flavorprofile-delete",
                     onclick: () => remove("flavorprofiles", p.id, `flavor profile ${p.name}`)},
        "Delete")) : null));
    fill(profilesBox, h("h2", {}, "Flavor profiles"), profileRows.length
      ? table(["Name", "Provider", "Flavor data", "Flavors", ...(canManage ? [""] : [])],
        profileRows, {"data-test": "flavorprofiles"})
      : h("p", {class: "muted", "data-test": "no-flavorprofiles"}, "No flavor profiles yet."));

    const flavorRows = flavors.map((f) => h("tr", {"data-test": "flavor-row", "data-id": f.id,
                                                   "data-name": f.name,
                                                   "data-enabled": String(Boolean(f.enabled))},
      h("td", {}, h("strong", {}, f.name), h("div", {class: "mono muted"}, f.id)),
      h("td", {}, f.description || ""),
      h("td", {}, profileName.get(f.flavor_profile_id) || f.flavor_profile_id),
      h("td", {}, h("span", {class: `badge ${f.enabled ? "ok" : "neutral"}`,
                             "data-test": "flavor-enabled",
                             "data-status": f.enabled ? "ENABLED" : "DISABLED"},
        f.enabled ? "ENABLED" : "DISABLED")),
      canManage ? h("td", {class: "adm-row-actions"},
        h("button", {type: "button", class: "secondary", "data-test": "flavor-toggle",
                     "data-action": f.enabled ? "disable" : "enable",
                     onclick: (ev) => toggle(ev.target, f)}, f.enabled ? "Disable" : "Enable"),
        h("button", {type: "button", class: "danger", "data-test": "flavor-delete",
                     onclick: () => remove("flavors", f.id, `flavor ${f.name}`)}, "Delete"))
        : null));
    fill(flavorsBox, h("h2", {}, "Flavors"), flavorRows.length
      ? table(["Name", "Description", "Profile", "State", ...(canManage ? [""] : [])],
        flavorRows, {"data-test": "flavors"})
      : h("p", {class: "muted", "data-test": "no-flavors"}, "No flavors yet."));
  });

  async function toggle(button, f) {
    button.disabled = true;
    try {
      await ctx.api.put(`${LBAAS}/flavors/${f.id}`, {flavor: {enabled: !f.enabled}});
      ctx.toast(`Flavor ${f.name} ${f.enabled ? "disabled" : "enabled"}.`, "success");
    } catch (exc) {
      ctx.toast(exc.fault, "error");
    }
    await refresh();
  }

  function remove(collection, id, what) {
    return confirmedDelete(ctx, {question: `Delete ${what}?`,
                                 path: `${LBAAS}/${collection}/${id}`, done: `Deleted ${what}.`,
                                 refresh});
  }

  profileForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(profileForm);
    const name = value(profileForm, "name");
    const data = dataArea.value.trim() || "{}";
    let bad = false;
    if (!name) { showFieldError(profileForm, "name", "A name is needed."); bad = true; }
    if (!providerSelect.value) {
      showFieldError(profileForm, "provider_name", "Choose a provider.");
      bad = true;
    }
    try {
      const parsed = JSON.parse(data);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("x");
    } catch {
      showFieldError(profileForm, "flavor_data", "Flavor data must be a JSON object.");
      bad = true;
    }
    if (bad) return;
    try {
      const made = await submitting(profileForm, "Creating…", () =>
        ctx.api.post(`${LBAAS}/flavorprofiles`, {flavorprofile: {
          name, provider_name: providerSelect.value, flavor_data: data}}));
      ctx.toast(`Flavor profile ${name} created.`, "success");
      profileForm.elements.namedItem("name").value = "";
      dataArea.value = "";
      await refresh();
      profileSelect.value = made.flavorprofile.id;
    } catch (exc) {
      showError(ctx, profileForm, exc, {guesses: [[/provider/i, "provider_name"],
        [/flavor_data|topology/i, "flavor_data"]]});
    }
  });

  flavorForm.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    clearErrors(flavorForm);
    const name = value(flavorForm, "name");
    let bad = false;
    if (!name) { showFieldError(flavorForm, "name", "A name is needed."); bad = true; }
    if (!profileSelect.value) {
      showFieldError(flavorForm, "flavor_profile_id", "Create a flavor profile first.");
      bad = true;
    }
    if (bad) return;
    try {
      await submitting(flavorForm, "Creating…", () =>
        ctx.api.post(`${LBAAS}/flavors`, {flavor: {
          name, description: value(flavorForm, "description"),
          flavor_profile_id: profileSelect.value,
          enabled: flavorForm.elements.namedItem("enabled").checked}}));
      ctx.toast(`Flavor ${name} created.`, "success");
      flavorForm.elements.namedItem("name").value = "";
      flavorForm.elements.namedItem("description").value = "";
      await refresh();
    } catch (exc) {
      showError(ctx, flavorForm, exc, {guesses: [[/profile/i, "flavor_profile_id"]]});
    }
  });

  fill(body, profilesBox, flavorsBox,
    canManage ? h("div", {class: "cards"}, profileForm, flavorForm) : null);
  await Promise.all([refresh(), loadCapabilities()]);
}
