"""Property-based API testing with schemathesis over the server's own ``/openapi.json``.

The fuzz test sends every documented operation schema-generated requests (admin token) and fails
on any 5xx, any response whose body breaks its documented schema, any undocumented content type
or header, and the other response checks schemathesis runs by default. Generated ids usually
name nothing, so roughly half of the GET/PUT/POST cases are pointed at objects seeded in the
database (a full load balancer tree, a flavor, a flavor profile): success bodies get validated
too.

Deliberately not run by the fuzz test:

* ``status_code_conformance`` and ``allow_header_conformance``: the schema documents neither the
  error statuses the server really returns nor complete ``Allow`` headers; deterministic tests
  below pin those down.
* ``positive_data_acceptance`` / ``negative_data_rejection``: request validation beyond what the
  JSON schema says (UUIDs, CIDRs, IP addresses, Octavia's cross-field rules) and Pydantic's lax
  coercion (``0`` for ``false``) make them report expected behaviour, not bugs.

Behaviour the fuzz test cannot reach (documented error statuses, Allow headers, plain-text
endpoints, bodiless 202s, explicit nulls in updates) is pinned by deterministic tests below.

One fresh SQLite-backed application per module; bounded by ``max_examples`` so the module stays
under three minutes on two cores.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
import uuid
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.types import ASGIApp, Receive, Scope, Send

from lbaas.api.app import create_app
from lbaas.services.amphorae import standalone_id
from tests.functional.harness import Api, build_api, close_api

MAX_EXAMPLES = 25
# Plain-text endpoints: covered by test_plain_text_endpoints_document_their_content_type.
NOT_FUZZED_PATHS = ["/healthcheck", "/metrics"]
EXCLUDED_CHECKS = [status_code_conformance, allow_header_conformance, positive_data_acceptance,
                   negative_data_rejection]

@dataclass
class Fuzzed:
    """The application under test, its schema and the ids of the seeded objects."""

    api: Api
    schema: schemathesis.BaseSchema
    ids: dict[str, str]
    batch_pool_id: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Auth-Token": self.api.admin.token}

    def settle(self) -> None:
        """Wait until the seeded load balancer is ACTIVE again."""
        self.api.wait_active(self.api.admin, f"/loadbalancers/{self.ids['lb_id']}",
                             "loadbalancer")


def _created(response: Any, key: str) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()[key]["id"])


def _seed(api: Api) -> tuple[dict[str, str], str]:
    """A full tree in project-a plus a flavor and an availability zone; path-parameter name ->
    id of a real object (the amphora: the seeded load balancer's one STANDALONE copy)."""
    member = api.member
    lb = api.create_lb(name="fuzz-lb")
    lb_path = f"/loadbalancers/{lb['id']}"

    def settle() -> None:
        api.wait_active(member, lb_path, "loadbalancer")

    listener_id = _created(member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}}), "listener")
    settle()
    pool_id = _created(member.post("/pools", {"pool": {
        "listener_id": listener_id, "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}), "pool")
    settle()
    batch_pool_id = _created(member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}}),
        "pool")
    settle()
    member_id = _created(member.post(f"/pools/{pool_id}/members", {"member": {
        "address": "10.20.0.10", "protocol_port": 8080}}), "member")
    settle()
    hm_id = _created(member.post("/healthmonitors", {"healthmonitor": {
        "pool_id": pool_id, "type": "HTTP", "delay": 5, "timeout": 3, "max_retries": 3,
        "url_path": "/health"}}), "healthmonitor")
    settle()
    policy_id = _created(member.post("/l7policies", {"l7policy": {
        "listener_id": listener_id, "action": "REJECT"}}), "l7policy")
    settle()
    rule_id = _created(member.post(f"/l7policies/{policy_id}/rules", {"rule": {
        "type": "PATH", "compare_type": "STARTS_WITH", "value": "/api"}}), "rule")
    settle()
    profile_id = _created(api.admin.post("/flavorprofiles", {"flavorprofile": {
        "name": "fuzz-profile", "provider_name": "noop", "flavor_data": "{}"}}),
        "flavorprofile")
    flavor_id = _created(api.admin.post("/flavors", {"flavor": {
        "name": "fuzz-flavor", "flavor_profile_id": profile_id}}), "flavor")
    az_profile_id = _created(api.admin.post("/availabilityzoneprofiles", {
        "availability_zone_profile": {"name": "fuzz-az-profile", "provider_name": "noop",
                                      "availability_zone_data": "{}"}}),
        "availability_zone_profile")
    az_name = api.admin.post("/availabilityzones", {"availability_zone": {
        "name": "fuzz-az", "availability_zone_profile_id": az_profile_id}}).json()[
        "availability_zone"]["name"]
    ids = {"lb_id": lb["id"], "listener_id": listener_id, "pool_id": pool_id,
           "member_id": member_id, "hm_id": hm_id, "policy_id": policy_id, "rule_id": rule_id,
           "profile_id": profile_id, "flavor_id": flavor_id, "az_profile_id": az_profile_id,
           "az_name": az_name, "project_id": "project-a",
           "provider": "noop", "network_id": api.network_id, "subnet_id": api.subnet_id,
           "port_id": lb["vip_port_id"], "amphora_id": standalone_id(lb["id"])}
    return ids, batch_pool_id


# schemathesis' lazy ``from_fixture`` loader does not work with pytest 9 (it sets
# ``request.node._nodeid``), so the application is built when the module is imported: a fresh
# SQLite state directory, removed at exit. Seeding waits for the module fixture.
_STATE = tempfile.mkdtemp(prefix="lbaas-schemathesis-")
atexit.register(shutil.rmtree, _STATE, True)
_API = build_api(_STATE)


def _without_lifespan(app: ASGIApp) -> ASGIApp:
    """``app`` with its lifespan acknowledged but not run: the harness owns the services.

    schemathesis' pytest plugin ends an ASGI application's lifespan after every test item, and
    lbaas's lifespan shutdown stops the providers, which this app shares with the harness:
    from the second operation on, no change would ever complete (objects stay PENDING_*).
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    return wrapped


FULL_SCHEMA = schemathesis.openapi.from_asgi(
    "/openapi.json", _without_lifespan(create_app(_API.services.conf, _API.services)))
schema = FULL_SCHEMA.exclude(path=NOT_FUZZED_PATHS)


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Fuzzed]:
    """The module's application, seeded, with its schema; closed after the module."""
    try:
        ids, batch_pool_id = _seed(_API)
        yield Fuzzed(_API, FULL_SCHEMA, ids, batch_pool_id)
    finally:
        close_api(_API)


# Request-body attributes that name a parent object, and the seeded object to name instead.
BODY_REFERENCES = {"loadbalancer_id": "lb_id", "listener_id": "listener_id", "pool_id": "pool_id",
                   "vip_subnet_id": "subnet_id", "subnet_id": "subnet_id",
                   "network_id": "network_id", "flavor_profile_id": "profile_id",
                   "availability_zone_profile_id": "az_profile_id"}


def _point_at_seeded_objects(case: schemathesis.Case, fuzzed: Fuzzed) -> None:
    """For about half of the GET/PUT/POST cases, name seeded objects instead of generated ids.

    Path ids are replaced, and so are the parent references of a create body
    (``{"listener": {"loadbalancer_id": ...}}``), so that success responses get validated too.
    Chosen by a checksum of the generated values, so a failing example replays identically.
    DELETE keeps generated ids: deleting the seeded tree would starve the other operations.
    Hypothesis also draws string constants from the test's own source ("fuzz-az"), so a DELETE
    that names a seeded object by chance is pointed elsewhere.
    """
    params = case.path_parameters or {}
    if case.method == "DELETE":
        seeded = set(fuzzed.ids.values())
        for name, value in params.items():
            if value in seeded:
                params[name] = f"not-{value}"
        return
    if case.method not in ("GET", "PUT", "POST"):
        return
    body = case.body if isinstance(case.body, dict) else {}
    if zlib.crc32(repr((sorted(params.items()), body)).encode()) % 2:
        return
    for name in params:
        if name in fuzzed.ids:
            params[name] = fuzzed.ids[name]
    if case.method == "PUT" and case.path == "/v2/lbaas/pools/{pool_id}/members":
        params["pool_id"] = fuzzed.batch_pool_id  # batch updates replace members: own pool
    if case.method == "POST" and len(body) == 1:
        [inner] = body.values()
        if isinstance(inner, dict):
            for attr, seeded in BODY_REFERENCES.items():
                if attr in inner:
                    inner[attr] = fuzzed.ids[seeded]


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_schema(case: schemathesis.Case,
                                                      fuzzed: Fuzzed) -> None:
    """No 5xx and no response outside its documented schema, for any generated request."""
    _point_at_seeded_objects(case, fuzzed)
    case.call_and_validate(headers=fuzzed.headers, excluded_checks=list(EXCLUDED_CHECKS))


# -- deterministic checks of what the fuzz test leaves out --------------------------------------


def _call(fuzzed: Fuzzed, path: str, method: str, token: str | None = None,
          **case_kwargs: Any) -> tuple[schemathesis.Case, Any]:
    case = fuzzed.schema[path][method].Case(**case_kwargs)
    headers = {"X-Auth-Token": token} if token else {}
    return case, case.call(headers=headers)


ERROR_CASES = [
    pytest.param("/v2/lbaas/loadbalancers/{lb_id}", "GET", "admin",
                 {"path_parameters": {"lb_id": str(uuid.UUID(int=7))}}, 404, id="404-unknown-lb"),
    pytest.param("/v2/lbaas/loadbalancers", "POST", "admin",
                 {"body": {"loadbalancer": {}}}, 400, id="400-invalid-body"),
    pytest.param("/v2/lbaas/loadbalancers", "GET", None, {}, 401, id="401-no-token"),
]


@pytest.mark.parametrize(("path", "method", "who", "case_kwargs", "status"), ERROR_CASES)
def test_error_statuses_are_documented(fuzzed: Fuzzed, path: str, method: str, who: str | None,
                                       case_kwargs: dict[str, Any], status: int) -> None:
    """The error statuses the server really answers are in the schema, with their body."""
    token = fuzzed.api.admin.token if who == "admin" else None
    case, response = _call(fuzzed, path, method, token, **case_kwargs)
    assert response.status_code == status, response.text
    assert set(response.json()) == {"faultcode", "faultstring", "debuginfo"}
    case.validate_response(response, checks=[status_code_conformance,
                                             response_schema_conformance])


@pytest.mark.parametrize(("path", "expected"), [
    ("/v2/lbaas/loadbalancers", {"GET", "POST"}),
    ("/v2/lbaas/pools/{pool_id}/members", {"GET", "POST", "PUT"}),
])
def test_method_not_allowed_lists_every_method(fuzzed: Fuzzed, path: str,
                                               expected: set[str]) -> None:
    """A 405's Allow header lists every method the resource supports (RFC 9110 15.5.6)."""
    url = path.replace("{pool_id}", fuzzed.ids["pool_id"])
    response = fuzzed.api.client.request("PATCH", url, headers=fuzzed.headers)
    assert response.status_code == 405, response.text
    allowed = {m.strip().upper() for m in response.headers.get("allow", "").split(",")}
    assert expected <= allowed, response.headers.get("allow")


@pytest.mark.parametrize("path", NOT_FUZZED_PATHS)
def test_plain_text_endpoints_document_their_content_type(fuzzed: Fuzzed, path: str) -> None:
    """The documented content type of /healthcheck and /metrics is the one they send."""
    case, response = _call(fuzzed, path, "GET", fuzzed.api.admin.token)
    assert response.status_code == 200, response.text
    case.validate_response(response, checks=[not_a_server_error, content_type_conformance])


BODILESS_202_PUTS = ("/v2/lbaas/loadbalancers/{lb_id}/failover",
                     "/v2/lbaas/pools/{pool_id}/members",
                     "/v2/octavia/amphorae/{amphora_id}/failover",
                     "/v2/octavia/amphorae/{amphora_id}/config")
"""The PUTs that only start work and answer 202 without a body, as in Octavia."""
ACCEPTED_PUTS = frozenset({*BODILESS_202_PUTS, "/v2/lbaas/quotas/{project_id}"})
"""Every PUT that answers 202 (Octavia's quota update does too); any other PUT answers 200 with
the updated object."""


def _put_success_code(path: str) -> int:
    return 202 if path in ACCEPTED_PUTS else 200


def test_every_put_documents_octavias_success_code() -> None:
    """The document gives each PUT exactly one success status: 202 for those that Octavia
    answers 202 (failovers, amphora configuration, batch member update, quota update), 200 for
    every other one."""
    documented = {path: sorted(code for code in operations["put"]["responses"]
                               if code.startswith("2"))
                  for path, operations in FULL_SCHEMA.raw_schema["paths"].items()
                  if "put" in operations}
    assert set(documented) >= ACCEPTED_PUTS
    assert len(documented) > len(ACCEPTED_PUTS)
    assert documented == {path: [str(_put_success_code(path))] for path in documented}


@pytest.mark.parametrize("path", BODILESS_202_PUTS)
def test_bodiless_202_is_documented_as_such(fuzzed: Fuzzed, path: str) -> None:
    """The 202 of a failover (of a load balancer, of an amphora), of an amphora's
    configuration refresh and of a batch member update matches its documentation."""
    fuzzed.settle()
    params = {"lb_id": fuzzed.ids["lb_id"], "pool_id": fuzzed.batch_pool_id,
              "amphora_id": fuzzed.ids["amphora_id"]}
    kwargs: dict[str, Any] = {"path_parameters": {k: v for k, v in params.items()
                                                  if f"{{{k}}}" in path}}
    if path.endswith("/members"):
        kwargs["body"] = {"members": []}
    case, response = _call(fuzzed, path, "PUT", fuzzed.api.admin.token, **kwargs)
    fuzzed.settle()
    assert response.status_code == 202, response.text
    case.validate_response(response, checks=[content_type_conformance,
                                             response_schema_conformance])


@pytest.mark.parametrize(("path", "collection", "fields"), [
    ("/v2/lbaas/healthmonitors", "healthmonitors", "id,name"),
    ("/v2/lbaas/loadbalancers", "loadbalancers", "id,name"),
    ("/v2/lbaas/pools/{pool_id}/members", "members", "id,name"),
    ("/v2/lbaas/flavors", "flavors", "id,name"),
    ("/v2/lbaas/flavorprofiles", "flavorprofiles", "id,name"),
    ("/v2/lbaas/providers", "providers", "name"),
    ("/v2/octavia/amphorae", "amphorae", "id,role")])
def test_a_list_with_fields_matches_its_schema(fuzzed: Fuzzed, path: str, collection: str,
                                               fields: str) -> None:
    """?fields= trims every object of a list page, and the page's schema allows that."""
    params = {"pool_id": fuzzed.ids["pool_id"]} if "{pool_id}" in path else {}
    case, response = _call(fuzzed, path, "GET", fuzzed.api.admin.token,
                           path_parameters=params, query={"fields": fields})
    assert response.status_code == 200, response.text
    objects = response.json()[collection]
    assert objects and all(set(obj) == set(fields.split(",")) for obj in objects), objects
    case.validate_response(response, checks=[response_schema_conformance])


def test_the_documented_limit_minimum_is_the_smallest_limit_accepted(fuzzed: Fuzzed) -> None:
    """Octavia takes a limit below 1 as "no limit"; lbaas refuses it (docs/compatibility.md),
    and its document says so."""
    parameters = FULL_SCHEMA.raw_schema["paths"]["/v2/lbaas/loadbalancers"]["get"]["parameters"]
    [limit] = [p for p in parameters if p["name"] == "limit"]
    minimum = limit["schema"]["minimum"]
    assert fuzzed.api.admin.get(f"/loadbalancers?limit={minimum}").status_code == 200
    for below in (minimum - 1, -1):
        answer = fuzzed.api.admin.get(f"/loadbalancers?limit={below}")
        assert answer.status_code == 400, answer.text


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if not ref:
        return node
    return FULL_SCHEMA.raw_schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]


def _update_attributes() -> list[Any]:
    """(path, envelope, attribute) for each attribute of each documented update body."""
    found = []
    for path, operations in FULL_SCHEMA.raw_schema["paths"].items():
        body = operations.get("put", {}).get("requestBody")
        if not body or "{agent_id}" in path:  # no agent is seeded
            continue
        envelope = _resolve(body["content"]["application/json"]["schema"])
        for key, inner in envelope.get("properties", {}).items():
            for attribute in _resolve(inner).get("properties", {}):
                found.append(pytest.param(path, key, attribute, id=f"{key}.{attribute}"))
    return found


@pytest.mark.parametrize(("path", "envelope", "attribute"), _update_attributes())
def test_explicit_null_in_an_update_is_no_server_error(fuzzed: Fuzzed, path: str, envelope: str,
                                                       attribute: str) -> None:
    """``{"<resource>": {"<attribute>": null}}`` on a real object: the PUT's success code (200,
    or 202 for a quota) or 400, never a 5xx."""
    fuzzed.settle()
    response = fuzzed.api.admin.put(path.format(**fuzzed.ids), {envelope: {attribute: None}})
    fuzzed.settle()
    assert response.status_code in (_put_success_code(path), 400), response.text


def test_renaming_a_flavor_to_a_taken_name_is_a_conflict(fuzzed: Fuzzed) -> None:
    """PUT /flavors/{id} {"flavor": {"name": <taken>}} answers 409 like the create does."""
    admin = fuzzed.api.admin
    profile = fuzzed.ids["profile_id"]
    taken, other = f"rename-a-{uuid.uuid4().hex[:8]}", f"rename-b-{uuid.uuid4().hex[:8]}"
    first, second = (admin.post("/flavors", {"flavor": {"name": name,
                                                         "flavor_profile_id": profile}})
                     for name in (taken, other))
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    again = admin.post("/flavors", {"flavor": {"name": taken, "flavor_profile_id": profile}})
    assert again.status_code == 409, again.text
    renamed = admin.put(f"/flavors/{second.json()['flavor']['id']}",
                        {"flavor": {"name": taken}})
    assert renamed.status_code == 409, renamed.text
