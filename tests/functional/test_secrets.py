"""The secret store under /key-manager at the HTTP level, on every database: Barbican's wire
format, paging, project isolation, policy, errors in Barbican's body, refusal to delete what a
listener or pool uses, encryption at rest, and no payload in any log line."""

from __future__ import annotations

import base64
import logging
import os
import stat
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from lbaas.db.engine import write_session
from lbaas.db.models import Listener, Pool, Secret
from lbaas.services.secrets import SecretNotFound, StoredContainer, StoredSecret
from tests.functional.harness import Api, Caller

KM = "/key-manager/v1"
V11 = {"OpenStack-API-Version": "key-manager 1.1"}
PAYLOAD = "correct horse battery staple 7f3a9c"


def km(caller: Caller, method: str, path: str, **kw: Any) -> Any:
    headers = {"X-Auth-Token": caller.token, **V11, **kw.pop("headers", {})}
    return caller.client.request(method, f"{KM}{path}", headers=headers, **kw)


def store(caller: Caller, **body: Any) -> str:
    body = {"payload": PAYLOAD, "payload_content_type": "text/plain", **body}
    r = km(caller, "POST", "/secrets/", json=body)
    assert r.status_code == 201, r.text
    ref: str = r.json()["secret_ref"]
    assert r.headers["location"] == ref
    return ref


def path_of(ref: str) -> str:
    return ref.split("/key-manager/v1", 1)[1]


def assert_barbican_error(r: Any, code: int, words: str) -> None:
    body = r.json()
    assert r.status_code == code, r.text
    assert set(body) == {"code", "title", "description"}, body
    assert body["code"] == code
    assert words in body["description"], body


def test_version_documents_as_barbican_answers_them(sqlite_api: Api) -> None:
    c = sqlite_api.client
    root = c.get("/key-manager")
    assert root.status_code == 300
    assert root.headers["openstack-api-version"] == "key-manager 1.0"
    [v1] = root.json()["versions"]["values"]
    assert (v1["id"], v1["status"]) == ("v1", "stable")
    assert v1["links"][0] == {"rel": "self", "href": "http://testserver/key-manager/v1/"}
    assert v1["media-types"][0]["type"] == "application/vnd.openstack.key-manager-v1+json"
    current = c.get("/key-manager/", headers=V11)
    assert current.status_code == 300
    assert current.json()["versions"] == [{
        "id": "v1", "status": "CURRENT", "min_version": "1.0", "max_version": "1.1",
        "links": [{"rel": "self", "href": "http://testserver/key-manager/v1/"},
                  {"rel": "describedby", "type": "text/html",
                   "href": "https://docs.openstack.org/"}]}]
    assert current.headers["openstack-api-version"] == "key-manager 1.1"
    assert_barbican_error(c.get("/key-manager/v1"), 401, "Authentication required")
    v1_doc = km(sqlite_api.member, "GET", "").json()["version"]
    assert (v1_doc["status"], v1_doc["max_version"]) == ("CURRENT", "1.1")
    assert_barbican_error(c.get("/key-manager", headers={
        "OpenStack-API-Version": "key-manager 1.2"}), 406, "Invalid microversion")
    # The Octavia API keeps its own version document and error body.
    assert "versions" in c.get("/").json()
    assert "faultstring" in c.get("/v2/lbaas/loadbalancers").json()


def test_keystoneauth_discovery_finds_v1(sqlite_api: Api) -> None:
    """What python-barbicanclient does first: discovery with the 1.1 header."""
    from keystoneauth1 import discover

    from lbaas.api.app import create_app
    from tests.live import run_live_server  # a real socket for keystoneauth

    with run_live_server(create_app(sqlite_api.services.conf, sqlite_api.services)) as url:
        from keystoneauth1 import session as ks_session
        session = ks_session.Session()
        data = discover.get_version_data(session, f"{url}/key-manager",
                                         version_header="key-manager 1.1")
        assert (data[0]["id"], data[0]["min_version"], data[0]["max_version"]) == (
            "v1", "1.0", "1.1")
        found = discover.Discover(session, f"{url}/key-manager").url_for("v1")
        assert found == f"{url}/key-manager/v1/"


def test_store_show_and_read_the_payload(api: Api) -> None:
    ref = store(api.member, name="db", secret_type="passphrase", algorithm="aes",
                bit_length=256, mode="cbc")
    assert ref.startswith("http://testserver/key-manager/v1/secrets/")
    meta = km(api.member, "GET", path_of(ref)).json()
    assert meta == {**meta, "name": "db", "secret_type": "passphrase", "algorithm": "aes",
                    "bit_length": 256, "mode": "cbc", "status": "ACTIVE", "secret_ref": ref,
                    "expiration": None, "consumers": [],
                    "content_types": {"default": "text/plain"}}
    assert {"created", "updated", "creator_id"} <= set(meta)
    assert PAYLOAD not in str(meta)
    old = km(api.member, "GET", path_of(ref), headers={"OpenStack-API-Version": ""}).json()
    assert "consumers" not in old  # 1.0
    text = km(api.member, "GET", path_of(ref) + "/payload", headers={"Accept": "text/plain"})
    assert (text.status_code, text.text) == (200, PAYLOAD)
    assert text.headers["content-type"].startswith("text/plain")
    # Old clients: GET of the secret itself with a non-JSON Accept is the payload.
    legacy = km(api.member, "GET", path_of(ref), headers={"Accept": "text/plain"})
    assert legacy.text == PAYLOAD
    assert_barbican_error(km(api.member, "GET", path_of(ref) + "/payload",
                             headers={"Accept": "application/json"}),
                          406, "Wrong payload content-type")


def test_base64_payload_round_trips_binary(api: Api) -> None:
    raw = bytes(range(256)) * 4
    ref = store(api.member, payload=base64.encodebytes(raw).decode(),
                payload_content_type="application/octet-stream",
                payload_content_encoding="base64")
    got = km(api.member, "GET", path_of(ref) + "/payload",
             headers={"Accept": "application/octet-stream"})
    assert got.content == raw
    assert km(api.member, "GET", path_of(ref) + "/payload", headers={"Accept": "*/*"}
              ).content == raw
    assert_barbican_error(km(api.member, "GET", path_of(ref) + "/payload",
                             headers={"Accept": "text/plain"}), 406, "Wrong payload")


def test_payload_is_encrypted_at_rest(sqlite_api: Api) -> None:
    ref = store(sqlite_api.member)
    with write_session(sqlite_api.services.sessions) as s:
        row = s.get(Secret, path_of(ref).rsplit("/", 1)[1])
        assert row is not None and row.encrypted_payload is not None
        assert PAYLOAD.encode() not in row.encrypted_payload
        assert PAYLOAD not in repr(row)
    key = Path(sqlite_api.services.conf.key_manager.encryption_key_file)
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600


def test_two_step_store(api: Api) -> None:
    r = km(api.member, "POST", "/secrets", json={"name": "later"})
    ref = r.json()["secret_ref"]
    assert "content_types" not in km(api.member, "GET", path_of(ref)).json()
    assert_barbican_error(km(api.member, "GET", path_of(ref) + "/payload"), 404,
                          "has no payload")
    put = km(api.member, "PUT", path_of(ref), content=b"\x00\x01binary",
             headers={"Content-Type": "application/octet-stream"})
    assert put.status_code == 204, put.text
    assert km(api.member, "GET", path_of(ref) + "/payload").content == b"\x00\x01binary"
    again = km(api.member, "PUT", path_of(ref), content=b"x",
               headers={"Content-Type": "text/plain"})
    assert_barbican_error(again, 409, "already has data")


@pytest.mark.parametrize(("body", "code", "words"), [
    pytest.param({"payload": "x"}, 400, "'payload_content_type' must also be supplied",
                 id="payload-without-type"),
    pytest.param({"payload": "x", "payload_content_type": "application/json"}, 400,
                 "payload_content_type is not one of", id="unsupported-type"),
    pytest.param({"payload": "x", "payload_content_type": "application/octet-stream"}, 400,
                 "payload_content_encoding is not one of", id="binary-without-base64"),
    pytest.param({"payload": "!!!", "payload_content_type": "application/octet-stream",
                  "payload_content_encoding": "base64"}, 400, "Invalid payload",
                 id="no-base64"),
    pytest.param({"payload": "abc", "payload_content_type": "application/octet-stream",
                  "payload_content_encoding": "base64"}, 400, "Invalid payload",
                 id="bad-base64-padding"),
    pytest.param({"payload": "  ", "payload_content_type": "text/plain"}, 400,
                 "must be non empty", id="empty"),
    pytest.param({"name": "n" * 256}, 400, "Invalid property: 'name'", id="long-name"),
    pytest.param({"secret_type": "banana"}, 400, "Invalid property: 'secret_type'",
                 id="bad-type"),
    pytest.param({"bit_length": 0}, 400, "Invalid property: 'bit_length'", id="bit-length"),
    pytest.param({"expiration": "2001-01-01T00:00:00Z"}, 400, "before current time",
                 id="expired"),
    pytest.param({"expiration": "tomorrow"}, 400, "Invalid date", id="bad-date"),
    pytest.param({"payload": "x" * 20001, "payload_content_type": "text/plain"}, 413,
                 "too large", id="too-large"),
    pytest.param([1], 400, "is not of type 'object'", id="not-an-object"),
])
def test_invalid_secrets_are_refused_in_barbicans_words(sqlite_api: Api, body: Any,
                                                        code: int, words: str) -> None:
    r = km(sqlite_api.member, "POST", "/secrets", json=body)
    assert_barbican_error(r, code, words)
    assert "x" * 100 not in r.text


def test_malformed_requests_are_refused(sqlite_api: Api) -> None:
    m = sqlite_api.member
    assert_barbican_error(km(m, "POST", "/secrets", content=b"{nope",
                             headers={"Content-Type": "application/json"}), 400,
                          "Malformed JSON")
    assert_barbican_error(km(m, "POST", "/secrets", content=b"{}",
                             headers={"Content-Type": "text/plain"}), 415,
                          "Unexpected content type")
    assert_barbican_error(km(m, "GET", "/secrets/not-a-uuid"), 404, "secret id is invalid")
    assert_barbican_error(km(m, "GET", f"/secrets/{uuid.uuid4()}"), 404, "Secret not found")
    assert_barbican_error(km(m, "PATCH", "/secrets"), 405, "not allowed")
    assert_barbican_error(km(m, "GET", "/orders"), 404, "could not be found")


def test_list_pages_with_total_and_links(api: Api) -> None:
    caller = api.caller("paging-project", "member")
    refs = [store(caller, name=f"s{i}", algorithm="aes" if i % 2 else "rsa")
            for i in range(5)]
    first = km(caller, "GET", "/secrets?limit=2").json()
    assert first["total"] == 5
    assert [s["secret_ref"] for s in first["secrets"]] == refs[:2]
    assert first["next"] == "http://testserver/key-manager/v1/secrets?limit=2&offset=2"
    assert "previous" not in first
    middle = km(caller, "GET", "/secrets?limit=2&offset=2&alg=aes").json()
    assert middle["total"] == 2 and middle["secrets"] == []
    middle = km(caller, "GET", "/secrets?limit=2&offset=2").json()
    assert [s["secret_ref"] for s in middle["secrets"]] == refs[2:4]
    assert middle["previous"].endswith("limit=2&offset=0")
    assert middle["next"].endswith("limit=2&offset=4")
    filtered = km(caller, "GET", "/secrets?alg=aes&limit=1").json()
    assert filtered["total"] == 2
    assert filtered["next"].endswith("limit=1&offset=1&alg=aes")
    assert km(caller, "GET", "/secrets?name=s3").json()["total"] == 1
    assert km(caller, "GET", "/secrets?limit=junk").json()["total"] == 5  # default kept


def test_another_project_sees_nothing(api: Api) -> None:
    ref = store(api.member, name="private")
    other = api.other
    for method, suffix in (("GET", ""), ("GET", "/payload"), ("DELETE", ""),
                           ("PUT", "")):
        r = km(other, method, path_of(ref) + suffix, content=b"x",
               headers={"Content-Type": "text/plain"})
        assert_barbican_error(r, 404, "Secret not found")
    assert ref not in str(km(other, "GET", "/secrets").json())
    # Barbican's defaults: an admin of another project reads metadata, not the payload.
    admin = api.admin
    assert km(admin, "GET", path_of(ref)).json()["name"] == "private"
    assert_barbican_error(km(admin, "GET", path_of(ref) + "/payload"), 404, "not found")
    assert km(api.member, "GET", path_of(ref) + "/payload").text == PAYLOAD


def test_reader_reads_nothing(sqlite_api: Api) -> None:
    """Barbican's secure-RBAC defaults give a reader no access to secrets at all."""
    ref = store(sqlite_api.member)
    reader = sqlite_api.reader
    assert_barbican_error(km(reader, "GET", path_of(ref) + "/payload"), 403,
                          "attempt not allowed")
    assert_barbican_error(km(reader, "GET", path_of(ref)), 403, "attempt not allowed")
    assert_barbican_error(km(reader, "GET", "/secrets"), 403, "attempt not allowed")
    assert_barbican_error(km(reader, "POST", "/secrets", json={"name": "x"}), 403,
                          "Secret creation attempt not allowed")
    assert_barbican_error(km(reader, "DELETE", path_of(ref)), 403, "attempt not allowed")


def test_containers(api: Api) -> None:
    cert, key = store(api.member, name="cert"), store(api.member, name="key")
    body = {"type": "certificate", "name": "pair",
            "secret_refs": [{"name": "certificate", "secret_ref": cert},
                            {"name": "private_key", "secret_ref": key}]}
    r = km(api.member, "POST", "/containers/", json=body)
    assert r.status_code == 201, r.text
    ref = r.json()["container_ref"]
    shown = km(api.member, "GET", path_of(ref)).json()
    assert shown == {**shown, "name": "pair", "type": "certificate", "status": "ACTIVE",
                     "container_ref": ref, "consumers": [],
                     "secret_refs": [{"name": "certificate", "secret_ref": cert},
                                     {"name": "private_key", "secret_ref": key}]}
    listed = km(api.member, "GET", "/containers?limit=1").json()
    assert listed["total"] == 1 and listed["containers"][0]["container_ref"] == ref
    assert_barbican_error(km(api.other, "GET", path_of(ref)), 404, "container not found")
    assert_barbican_error(km(api.member, "DELETE", path_of(cert)), 409, "held by container")
    no_cert = {**body, "secret_refs": body["secret_refs"][1:]}
    assert_barbican_error(km(api.member, "POST", "/containers", json=no_cert), 400,
                          "minimum required reference name is 'certificate'")
    foreign = {"type": "generic", "secret_refs": [{"name": "a", "secret_ref": store(api.other)}]}
    assert_barbican_error(km(api.member, "POST", "/containers", json=foreign), 404,
                          "Secret provided for 'a' doesn't exist")
    assert km(api.member, "DELETE", path_of(ref)).status_code == 204
    assert km(api.member, "DELETE", path_of(cert)).status_code == 204


def _listener_and_pool(api: Api) -> tuple[str, str]:
    lb = api.create_lb(api.member)
    listener = api.member.post("/listeners", {"listener": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "protocol_port": 80}}).json()
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    pool = api.member.post("/pools", {"pool": {
        "loadbalancer_id": lb["id"], "protocol": "HTTP", "lb_algorithm": "ROUND_ROBIN"}})
    api.wait_active(api.member, f"/loadbalancers/{lb['id']}", "loadbalancer")
    return listener["listener"]["id"], pool.json()["pool"]["id"]


def test_secret_in_use_cannot_be_deleted(api: Api) -> None:
    """409 naming the listener or pool, directly or through a container. The references are
    written into the rows (the noop provider need not accept TLS listeners for this)."""
    listener_id, pool_id = _listener_and_pool(api)
    direct, sni, ca = store(api.member), store(api.member), store(api.member)
    held = store(api.member)
    container = km(api.member, "POST", "/containers", json={
        "type": "generic", "secret_refs": [{"name": "x", "secret_ref": held}]}
    ).json()["container_ref"]
    with write_session(api.services.sessions) as s:
        listener = s.get(Listener, listener_id)
        pool = s.get(Pool, pool_id)
        assert listener is not None and pool is not None
        listener.default_tls_container_ref = direct
        listener.sni_container_refs = [sni.replace("testserver", "elsewhere:9311")]
        pool.ca_tls_container_ref = ca.rsplit("/", 1)[1]  # a bare id
        pool.tls_container_ref = container
    for ref, user in ((direct, listener_id), (sni, listener_id), (ca, pool_id),
                      (container, pool_id), (held, pool_id)):
        r = km(api.member, "DELETE", path_of(ref))
        assert_barbican_error(r, 409, user)
        with write_session(api.services.sessions) as s:
            assert api.services.secrets.in_use(s, path_of(ref).rsplit("/", 1)[1]) == [user]
    with write_session(api.services.sessions) as s:
        s.get(Listener, listener_id).provisioning_status = "DELETED"  # type: ignore[union-attr]
    assert km(api.member, "DELETE", path_of(direct)).status_code == 204


def test_read_interface_for_the_load_balancer_service(sqlite_api: Api) -> None:
    api = sqlite_api
    store_ = api.services.secrets
    cert = store(api.member, payload="CERT", secret_type="certificate")
    key = store(api.member, payload="KEY", secret_type="private")
    container = km(api.member, "POST", "/containers", json={
        "type": "certificate", "secret_refs": [{"name": "certificate", "secret_ref": cert},
                                               {"name": "private_key", "secret_ref": key}]}
    ).json()["container_ref"]
    empty = km(api.member, "POST", "/secrets", json={}).json()["secret_ref"]
    project = api.member.project_id
    with write_session(api.services.sessions) as s:
        got = store_.read(s, cert.replace("testserver", "other.host"), project)
        assert got == StoredSecret(id=cert.rsplit("/", 1)[1], payload=b"CERT",
                                   content_type="text/plain", secret_type="certificate")
        assert store_.read(s, cert.rsplit("/", 1)[1], project) == got
        pair = store_.read(s, container, project)
        assert isinstance(pair, StoredContainer) and pair.type == "certificate"
        assert {n: v.payload for n, v in pair.secrets.items()} == {
            "certificate": b"CERT", "private_key": b"KEY"}
        assert "CERT" not in repr(got)
        for bad in (empty, "garbage", f"http://x/v1/orders/{uuid.uuid4()}",
                    f"http://x/v1/secrets/{uuid.uuid4()}"):
            with pytest.raises(SecretNotFound, match=bad.replace("?", r"\?")):
                store_.read(s, bad, project)
        with pytest.raises(SecretNotFound):
            store_.read(s, cert, api.other.project_id)


def test_payloads_never_reach_logs(sqlite_api: Api, caplog: pytest.LogCaptureFixture) -> None:
    secret = "hunter2-" + uuid.uuid4().hex
    encoded = base64.b64encode(secret.encode()).decode()
    with caplog.at_level(logging.DEBUG):
        ref = store(sqlite_api.member, payload=secret)
        store(sqlite_api.member, payload=encoded, payload_content_type="application/"
              "octet-stream", payload_content_encoding="base64")
        km(sqlite_api.member, "GET", path_of(ref) + "/payload")
        km(sqlite_api.member, "POST", "/secrets", json={"payload": secret})  # refused
        km(sqlite_api.member, "POST", "/secrets", json={"payload": secret,
                                                       "secret_type": "bad"})
        km(sqlite_api.member, "PUT", path_of(ref), content=secret.encode(),
           headers={"Content-Type": "text/plain"})
        with write_session(sqlite_api.services.sessions) as s:
            sqlite_api.services.secrets.read(s, ref, sqlite_api.member.project_id)
    assert caplog.records, "nothing was logged: the check would prove nothing"
    assert secret not in caplog.text
    assert encoded not in caplog.text
    rows = select(Secret)
    assert secret not in str(rows)


def test_server_without_key_file_refuses_to_start_and_secret_key_create_makes_one(
        tmp_path: Path) -> None:
    """``lbaas server`` names the option and the command; ``lbaas secret-key create`` writes a
    0600 key the server then accepts, and refuses to overwrite it."""
    import subprocess
    import sys

    lbaas = str(Path(sys.executable).parent / "lbaas")
    conf = tmp_path / "lbaas.conf"
    conf.write_text(f"[DEFAULT]\nstate_path = {tmp_path}\nlog_json = false\n"
                    "[api]\nbind_port = 1\n")
    env = {**os.environ, "COLUMNS": "200"}
    refused = subprocess.run([lbaas, "server", "-c", str(conf)], capture_output=True,
                             text=True, timeout=60, env=env)
    assert refused.returncode == 1
    out = " ".join((refused.stdout + refused.stderr).split())
    assert "[key_manager] encryption_key_file" in out and "lbaas secret-key create" in out
    made = subprocess.run([lbaas, "secret-key", "create", "-c", str(conf)], capture_output=True,
                          text=True, timeout=60, env=env)
    assert made.returncode == 0, made.stdout
    key = tmp_path / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    before = key.read_bytes()
    again = subprocess.run([lbaas, "secret-key", "create", "-c", str(conf)],
                           capture_output=True, text=True, timeout=60, env=env)
    assert again.returncode == 1 and key.read_bytes() == before
    assert before.strip().decode() not in made.stdout + again.stdout
