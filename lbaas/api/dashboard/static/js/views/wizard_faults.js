// Where the create wizard shows a field the API refused (ApiError.parts, api.js): the step,
// field and member row its path names, e.g. listeners.0.default_pool.members.1.address -> the
// "members" step, row 2, field "address". Pure (no DOM writes). Imported by views/wizard.js.

/**
 * Which step, field and member row a fault path names: {step, field, row?}. `rows` are the
 * member rows sent in the body, in order (a path's index -> its row); `typedTlsRef()` tells
 * whether the default certificate is typed as text (no secret listing, or text given) rather
 * than chosen from the list.
 */
export function locateFault(path, {rows, typedTlsRef}) {
  if (!path.length) return {step: "details", field: null};
  const [head, , ...rest] = path;
  if (head !== "listeners") {
    if (head === "pools") return {step: "pool", field: null};
    return {step: "details", field: path.length === 1 ? head : null};
  }
  if (!rest.length) return {step: "listener", field: null};
  const [attr, ...below] = rest;
  if (/container_ref/.test(attr)) {
    let name = attr;
    if (attr === "default_tls_container_ref" && typedTlsRef()) {
      name = "default_tls_container_ref_text";
    }
    return {step: "certificates", field: name};
  }
  if (attr !== "default_pool") return {step: "listener", field: below.length ? null : attr};
  const [what, ...more] = below;
  if (what === undefined) return {step: "pool", field: null};
  if (what === "members") {
    const row = rows[Number(more[0])];
    if (!row || !row.isConnected) return {step: "members", field: null};
    return {step: "members", row, field: more[1] || null};
  }
  if (what === "healthmonitor") return {step: "monitor", field: more[0] || "type"};
  if (what === "session_persistence") {
    return {step: "pool", field: more[0] === "cookie_name" ? "cookie_name"
                                                           : "session_persistence"};
  }
  return {step: "pool", field: more.length ? null : what};
}
