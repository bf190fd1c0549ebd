"""``openstack secret ...`` (python-openstackclient + python-barbicanclient, unchanged) against
the secret store of a live server, authenticated with lbaas tokens.

The CLI uses ``admin_token`` auth with ``OS_ENDPOINT`` at ``<server>/key-manager/v1``: with that
plugin every service's endpoint is ``OS_ENDPOINT`` as given, so it names the version (through
Keystone's catalog the client finds ``/key-manager`` and discovers v1 itself:
``tests/clients/test_keystone.py``). The client first reads the version document with
``OpenStack-API-Version: key-manager 1.1`` and then speaks 1.1.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives.serialization import pkcs12

from tests.clients.conftest import LiveApi
from tests.clients.osc import OPENSTACK, Cli
from tests.tls_material import Authority

pytestmark = pytest.mark.skipif(not OPENSTACK.exists(),
                                reason=f"python-openstackclient not installed ({OPENSTACK})")


def secret_cli(live: LiveApi, cli_environ: dict[str, str], token: str) -> Cli:
    return Cli({**cli_environ, "OS_AUTH_TYPE": "admin_token", "OS_TOKEN": token,
                "OS_ENDPOINT": f"{live.url}/key-manager/v1"})


@pytest.fixture(scope="module")
def cli(live: LiveApi, cli_environ: dict[str, str]) -> Cli:
    """A member of project-a."""
    return secret_cli(live, cli_environ, live.api.member.token)


@pytest.fixture(scope="module")
def other(live: LiveApi, cli_environ: dict[str, str]) -> Cli:
    """A member of project-b."""
    return secret_cli(live, cli_environ, live.api.other.token)


def test_store_text_then_get_metadata_and_payload(cli: Cli, live: LiveApi) -> None:
    stored = cli.json("secret", "store", "--name", "db-password", "-t", "text/plain",
                      "--payload", "s3cr3t words")
    ref = stored["Secret href"]
    assert ref.startswith(f"{live.url}/key-manager/v1/secrets/")
    assert stored["Name"] == "db-password"
    shown = cli.json("secret", "get", ref)
    assert (shown["Name"], shown["Status"], shown["Secret type"]) == ("db-password", "ACTIVE",
                                                                      "opaque")
    assert shown["Content types"] == "{'default': 'text/plain'}" or \
        "text/plain" in str(shown["Content types"])
    payload = cli.json("secret", "get", "--payload", ref)
    assert payload["Payload"] == "s3cr3t words"


def test_store_base64_pkcs12_as_octavia_cookbook(cli: Cli, tmp_path: Path) -> None:
    """``openssl pkcs12 -export ... -passout pass: | openstack secret store -t
    application/octet-stream -e base64 --payload "$(base64 < server.p12)"``: the bytes come
    back unchanged (``secret get --payload_content_type`` writes them to a file)."""
    server = Authority.create().issue("www.example.com", dns_names=["www.example.com"])
    bundle = server.pkcs12()
    encoded = base64.encodebytes(bundle).decode()  # base64(1)'s output: lines of 76
    assert "\n" in encoded.strip()
    stored = cli.json("secret", "store", "--name", "tls1", "-t", "application/octet-stream",
                      "-e", "base64", "--payload", encoded)
    out = tmp_path / "back.p12"
    cli.run("secret", "get", stored["Secret href"], "--file", str(out),
            "--payload_content_type", "application/octet-stream")
    assert out.read_bytes() == bundle
    key, cert, _extra = pkcs12.load_key_and_certificates(out.read_bytes(), None)
    assert key is not None and cert is not None


def test_list_pages_with_limit_and_offset(cli: Cli) -> None:
    refs = [cli.json("secret", "store", "--name", f"paged-{i}", "-t", "text/plain",
                     "--payload", f"value {i}")["Secret href"] for i in range(3)]
    every = cli.json("secret", "list", "--name", "paged-1")
    assert [s["Secret href"] for s in every] == [refs[1]]
    listed = cli.json("secret", "list", "--limit", "100")
    mine = [s["Secret href"] for s in listed if s["Name"].startswith("paged-")]
    assert mine == refs
    first = cli.json("secret", "list", "--limit", "1", "--offset", "0")
    second = cli.json("secret", "list", "--limit", "1", "--offset", "1")
    assert len(first) == len(second) == 1
    assert first[0]["Secret href"] != second[0]["Secret href"]


def test_delete_then_get_is_not_found(cli: Cli) -> None:
    ref = cli.json("secret", "store", "--name", "gone", "-t", "text/plain",
                   "--payload", "bye")["Secret href"]
    cli.run("secret", "delete", ref)
    missing = cli.run("secret", "get", ref, check=False)
    assert missing.returncode != 0
    assert "Secret not found" in missing.stderr


def test_other_project_gets_not_found(cli: Cli, other: Cli) -> None:
    ref = cli.json("secret", "store", "--name", "mine", "-t", "text/plain",
                   "--payload", "only project-a")["Secret href"]
    for args in (("secret", "get", ref), ("secret", "get", "--payload", ref),
                 ("secret", "delete", ref)):
        refused = other.run(*args, check=False)
        assert refused.returncode != 0, args
        assert "Not Found" in refused.stderr and "only project-a" not in refused.stderr
    assert ref not in [s["Secret href"] for s in other.json("secret", "list")]
    assert cli.json("secret", "get", "--payload", ref)["Payload"] == "only project-a"


def test_certificate_container_lifecycle(cli: Cli, other: Cli, live: LiveApi) -> None:
    server = Authority.create().issue("tls.example.com")
    cert = cli.json("secret", "store", "--name", "c-cert", "-s", "certificate",
                    "-t", "text/plain", "--payload", server.cert_pem)["Secret href"]
    key = cli.json("secret", "store", "--name", "c-key", "-s", "private",
                   "-t", "text/plain", "--payload", server.key_pem)["Secret href"]
    made = cli.json("secret", "container", "create", "--name", "tls-pair", "--type",
                    "certificate", "--secret", f"certificate={cert}",
                    "--secret", f"private_key={key}")
    ref = made["Container href"]
    assert ref.startswith(f"{live.url}/key-manager/v1/containers/")
    # -f yaml: the client's certificate container formatter hands cliff a datetime, which
    # its JSON formatter cannot write (as against Barbican itself).
    shown = yaml.safe_load(cli.run("secret", "container", "get", ref, "-f", "yaml").stdout)
    assert (shown["Name"], shown["Type"]) == ("tls-pair", "certificate")
    assert (shown["Certificate"], shown["Private Key"]) == (cert, key)
    listed = cli.json("secret", "container", "list")
    assert [c["Container href"] for c in listed if c["Name"] == "tls-pair"] == [ref]
    refused = other.run("secret", "container", "get", ref, check=False)
    assert refused.returncode != 0 and "Not Found" in refused.stderr
    cli.run("secret", "container", "delete", ref)
    gone = cli.run("secret", "container", "get", ref, check=False)
    assert gone.returncode != 0 and "container not found" in gone.stderr
    cli.run("secret", "delete", cert)  # the container no longer holds it


def test_reader_may_not_store(live: LiveApi, cli_environ: dict[str, str]) -> None:
    """Barbican's default: creating needs the member role."""
    reader = secret_cli(live, cli_environ, live.api.reader.token)
    refused = reader.run("secret", "store", "--name", "x", "-t", "text/plain", "--payload",
                         "y", check=False)
    assert refused.returncode != 0
    assert "Forbidden" in refused.stderr


