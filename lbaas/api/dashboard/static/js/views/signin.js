// Sign-in: with an lbaas (or Keystone) token, or with Keystone credentials where the server
// authenticates with Keystone (POST /dashboard/api/login asks Keystone for the token).

import {signedIn} from "../app.js";
import {field, fill, h, input} from "../dom.js";

export async function render(ctx) {
  const config = await ctx.api.request("GET", "/dashboard/api/config", undefined, {auth: false});
  const error = h("div", {class: "alert error", "data-test": "signin-error", hidden: true});
  const fail = (exc) => { error.textContent = exc.fault || exc.message; error.hidden = false; };

  const tokenForm = h("form", {class: "card", "data-test": "token-form"},
    h("h2", {}, "Sign in with a token"),
    field("Token", input("token", {type: "password", autocomplete: "off", required: true}),
      config.keystone_sign_in ? "A Keystone token" : "From lbaas token create, or the " +
      "all-in-one's admin-token file"),
    h("button", {type: "submit", class: "primary", "data-test": "token-submit"}, "Sign in"));
  tokenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.hidden = true;
    try { await signedIn(tokenForm.elements.token.value.trim()); } catch (exc) { fail(exc); }
  });

  let keystoneForm = null;
  if (config.keystone_sign_in) {
    keystoneForm = h("form", {class: "card", "data-test": "keystone-form"},
      h("h2", {}, "Sign in with Keystone"),
      field("User", input("username", {autocomplete: "username", required: true})),
      field("Password", input("password", {type: "password", autocomplete: "current-password",
                                           required: true})),
      field("Project", input("project_name", {required: true})),
      field("User domain", input("user_domain_name", {value: "Default"})),
      field("Project domain", input("project_domain_name", {value: "Default"})),
      h("button", {type: "submit", class: "primary", "data-test": "keystone-submit"}, "Sign in"));
    keystoneForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      error.hidden = true;
      const f = keystoneForm.elements;
      try {
        const answer = await ctx.api.request("POST", "/dashboard/api/login", {
          username: f.username.value, password: f.password.value,
          project_name: f.project_name.value, user_domain_name: f.user_domain_name.value,
          project_domain_name: f.project_domain_name.value}, {auth: false});
        await signedIn(answer.token);
      } catch (exc) { fail(exc); }
    });
  }
  fill(ctx.root, h("section", {class: "signin"}, h("h1", {}, "lbaas"), error,
    h("div", {class: "cards"}, keystoneForm, tokenForm)));
}
