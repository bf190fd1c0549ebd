"""TLS in haproxy.cfg: TERMINATED_HTTPS frontends, re-encrypting pools, and the files they name
(:mod:`lbaas.drivers.haproxy.view_tls`, :mod:`lbaas.drivers.haproxy.tls_files`, the TLS parts
of :mod:`lbaas.drivers.haproxy.view_frontends` and :mod:`lbaas.drivers.haproxy.view_backends`).
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import NameOID

from lbaas.core.tree import AmphoraNode, CertificateNode, LoadBalancerTree
from lbaas.drivers.haproxy.escaping import UnsafeConfigValue
from lbaas.drivers.haproxy.render import render_haproxy_config
from lbaas.drivers.haproxy.tls_files import plan_tls_files, prune_tls_files, write_tls_files
from tests.unit.haproxy_samples import (
    CERTS_DIR,
    INJECTIONS,
    PATHS,
    make_cert,
    make_listener,
    make_member,
    make_monitor,
    make_pool,
    make_tls_listener,
    make_tree,
    render,
    sample_authority,
    section,
    section_headers,
    server_lines,
    tls_plan,
)

CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"


def tls_tree(**listener: Any) -> LoadBalancerTree:
    return make_tree(listeners=[make_tls_listener(**listener)])


def tls_pool_tree(**pool: Any) -> LoadBalancerTree:
    return make_tree(pools=[make_pool(tls_enabled=True, **pool)])


# --- frontends ------------------------------------------------------------------------------------


def test_terminated_https_frontend_golden() -> None:
    authority = sample_authority()
    tree = tls_tree(
        sni_tls=[make_cert("cert-sni", "api.example.com")],
        client_authentication="MANDATORY",
        client_ca=authority.cert_pem,
        client_crl=authority.crl_pem(),
        tls_ciphers=CIPHERS,
        tls_versions=["TLSv1.2", "TLSv1.3"],
        alpn_protocols=["h2", "http/1.1"],
        hsts_max_age=31536000,
        hsts_include_subdomains=True,
        hsts_preload=True,
        insert_headers={"X-Forwarded-Proto": "true", "X-SSL-Client-Verify": "true",
                        "X-SSL-Client-CN": "True", "X-SSL-Client-Not-After": "1"},
    )
    files = tls_plan(tree).listeners["listener-1"]
    assert section(render(tree), "frontend listener-1") == [
        "mode http",
        f"bind 203.0.113.10:443 ssl crt-list '{files.crt_list}' ca-file '{files.client_ca}'"
        f" verify required crl-file '{files.client_crl}' ciphers {CIPHERS}"
        " ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 alpn h2,http/1.1",
        "maxconn 8000",
        "timeout client 50000ms",
        "option idle-close-on-response",
        "http-request set-header X-Forwarded-Proto https if { ssl_fc }",
        "http-request set-header X-Forwarded-Proto http if !{ ssl_fc }",
        "http-request set-header X-SSL-Client-Verify %[ssl_c_verify]",
        "http-request set-header X-SSL-Client-CN %{+Q}[ssl_c_s_dn(cn)]",
        "http-request set-header X-SSL-Client-Not-After %{+Q}[ssl_c_notafter]",
        "http-response set-header Strict-Transport-Security"
        " 'max-age=31536000; includeSubDomains; preload' if { ssl_fc }",
        "default_backend pool-1",
    ]
    assert all(path.startswith(f"{CERTS_DIR}/") for path in vars(files).values())


def test_terminated_https_minimal_frontend() -> None:
    tree = tls_tree()
    crt_list = tls_plan(tree).listeners["listener-1"].crt_list
    assert section(render(tree), "frontend listener-1")[:2] == [
        "mode http",
        f"bind 203.0.113.10:443 ssl crt-list '{crt_list}'",
    ]
    assert section(render(tree), "backend pool-1")[0] == "mode http"


def test_every_ssl_header_renders_octavias_fetch() -> None:
    names = ["X-SSL-Client-Verify", "X-SSL-Client-Has-Cert", "X-SSL-Client-DN",
             "X-SSL-Client-CN", "X-SSL-Issuer", "X-SSL-Client-SHA1", "X-SSL-Client-Not-Before",
             "X-SSL-Client-Not-After"]
    tree = tls_tree(insert_headers={name: "true" for name in names})
    lines = [line for line in section(render(tree), "frontend listener-1") if "X-SSL" in line]
    assert lines == [
        "http-request set-header X-SSL-Client-Verify %[ssl_c_verify]",
        "http-request set-header X-SSL-Client-Has-Cert %[ssl_c_used]",
        "http-request set-header X-SSL-Client-DN %{+Q}[ssl_c_s_dn]",
        "http-request set-header X-SSL-Client-CN %{+Q}[ssl_c_s_dn(cn)]",
        "http-request set-header X-SSL-Issuer %{+Q}[ssl_c_i_dn]",
        "http-request set-header X-SSL-Client-SHA1 %{+Q}[ssl_c_sha1,hex]",
        "http-request set-header X-SSL-Client-Not-Before %{+Q}[ssl_c_notbefore]",
        "http-request set-header X-SSL-Client-Not-After %{+Q}[ssl_c_notafter]",
    ]


def test_ssl_headers_and_hsts_only_on_terminated_https() -> None:
    listener = make_listener(insert_headers={"X-SSL-Client-Verify": "true"}, hsts_max_age=60)
    config = render(make_tree(listeners=[listener]))
    assert "X-SSL" not in config and "Strict-Transport-Security" not in config
    assert "ssl" not in section(config, "frontend listener-1")[1]


@pytest.mark.parametrize(("auth", "verify"), [("OPTIONAL", "optional"), ("MANDATORY", "required")])
def test_client_authentication_asks_for_a_certificate(auth: str, verify: str) -> None:
    tree = tls_tree(client_authentication=auth, client_ca=sample_authority().cert_pem)
    files = tls_plan(tree).listeners["listener-1"]
    bind = section(render(tree), "frontend listener-1")[1]
    assert bind.endswith(f" ca-file '{files.client_ca}' verify {verify}")
    assert files.client_crl is None


def test_client_authentication_none_ignores_ca_and_crl() -> None:
    tree = tls_tree(client_ca=sample_authority().cert_pem, client_crl=sample_authority().crl_pem())
    assert not [name for name in tls_plan(tree).contents if name.startswith(("ca.", "crl."))]
    assert "ca-file" not in render(tree) and "verify" not in render(tree)


def test_client_authentication_without_ca_is_refused() -> None:
    with pytest.raises(UnsafeConfigValue, match="client CA"):
        render(tls_tree(client_authentication="MANDATORY"))


def test_terminated_https_without_any_certificate_is_refused() -> None:
    with pytest.raises(UnsafeConfigValue, match="has no certificate"):
        render(tls_tree(default_tls=None, sni_tls=[]))


def test_without_a_default_the_first_sni_certificate_comes_first() -> None:
    sni = tls_tree().listeners[0].default_tls
    plan = tls_plan(tls_tree(default_tls=None, sni_tls=[sni]))
    crt_list = next(text for name, text in plan.contents.items() if name.endswith(".crt-list"))
    assert crt_list.splitlines() == [str(plan.directory / name) for name in plan.contents
                                     if name.endswith(".pem") and not name.startswith("ca.")]


def test_tls_needs_its_planned_files() -> None:
    with pytest.raises(UnsafeConfigValue, match="planned"):
        render_haproxy_config(tls_tree(), PATHS)
    with pytest.raises(UnsafeConfigValue, match="planned"):
        render_haproxy_config(tls_pool_tree(), PATHS)


@pytest.mark.parametrize(
    ("versions", "expected"),
    [
        pytest.param([], "", id="none-given"),
        pytest.param(["TLSv1.2"], " ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.2", id="one"),
        pytest.param(["TLSv1.3", "TLSv1.2"], " ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3",
                     id="unordered"),
        pytest.param(["SSLv3", "TLSv1"], " ssl-min-ver SSLv3 ssl-max-ver TLSv1.0", id="old"),
        pytest.param(["TLSv1", "TLSv1.1", "TLSv1.3"], " ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3",
                     id="hole-keeps-the-highest-run"),
        pytest.param(["TLSv1", "TLSv1.2", "TLSv1.3"], " ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3",
                     id="hole-below-the-top"),
    ],
)
def test_tls_versions_render_as_a_range(versions: list[str], expected: str) -> None:
    listener_bind = section(render(tls_tree(tls_versions=versions)), "frontend listener-1")[1]
    assert listener_bind.endswith(".crt-list'" + expected)
    server = server_lines(render(tls_pool_tree(tls_versions=versions)))[0]
    assert server.endswith(" verify none" + expected)


@pytest.mark.parametrize("versions", [["TLSv1.4"], ["tlsv1.2"], ["TLSv1.2 no-sslv3"]])
def test_unknown_tls_versions_are_refused(versions: list[str]) -> None:
    with pytest.raises(UnsafeConfigValue, match="tls_versions"):
        render(tls_tree(tls_versions=versions))
    with pytest.raises(UnsafeConfigValue, match="tls_versions"):
        render(tls_pool_tree(tls_versions=versions))


def test_alpn_keeps_the_given_order() -> None:
    bind = section(render(tls_tree(alpn_protocols=["http/1.1", "h2", "h2"])),
                   "frontend listener-1")[1]
    assert bind.endswith(" alpn http/1.1,h2")


@pytest.mark.parametrize("protocols", [["h3"], ["h2,http/1.1"], ["h2 crt /etc/passwd"]])
def test_unknown_alpn_is_refused(protocols: list[str]) -> None:
    with pytest.raises(UnsafeConfigValue, match="alpn"):
        render(tls_tree(alpn_protocols=protocols))


@pytest.mark.parametrize(
    "ciphers",
    [
        *INJECTIONS,
        "HIGH\nbackend evil",
        "HIGH crt /etc/shadow",
        "HIGH verify none",
        "HIGH'",
        'HIGH"',
        "HIGH#x",
        "HIGH\tverify",
    ],
)
def test_hostile_cipher_strings_are_refused(ciphers: str) -> None:
    with pytest.raises(UnsafeConfigValue, match="tls_ciphers"):
        render(tls_tree(tls_ciphers=ciphers))
    with pytest.raises(UnsafeConfigValue, match="tls_ciphers"):
        render(tls_pool_tree(tls_ciphers=ciphers))


def test_cipher_string_operators_are_accepted() -> None:
    ciphers = "HIGH:!aNULL:+SHA1:-MD5:@STRENGTH:@SECLEVEL=1:AES128-GCM-SHA256:kEECDH.x_y"
    assert f" ciphers {ciphers}" in section(render(tls_tree(tls_ciphers=ciphers)),
                                             "frontend listener-1")[1]


# --- the files ------------------------------------------------------------------------------------


def test_crt_list_names_the_default_certificate_first_then_sni_ones() -> None:
    default, sni_a, sni_b = make_cert(), make_cert("sni-a", "a.example"), make_cert("sni-b", "b")
    plan = tls_plan(tls_tree(sni_tls=[sni_a, sni_b, default]))
    crt_list = Path(plan.listeners["listener-1"].crt_list).name
    lines = plan.contents[crt_list].splitlines()
    stems = [Path(line).name.split(".")[0] for line in lines]
    assert stems == ["cert-1", "sni-a", "sni-b"]  # the default once, first
    assert all(line.startswith(f"{CERTS_DIR}/") and " " not in line for line in lines)


def test_certificate_file_holds_certificate_then_key_and_the_config_never_the_key() -> None:
    cert = make_cert()
    tree = tls_tree()
    plan = tls_plan(tree)
    pem_name = next(name for name in plan.contents if name.startswith("cert-1."))
    key = cert.private_key.get_secret_value()
    assert plan.contents[pem_name] == cert.certificate.strip() + "\n" + key.strip() + "\n"
    assert "PRIVATE KEY" not in render(tree)
    assert "PRIVATE" not in repr(plan)


def test_names_follow_the_content() -> None:
    first = tls_plan(tls_tree())
    again = tls_plan(tls_tree())
    rotated = tls_plan(tls_tree(default_tls=make_cert("cert-1", "rotated.example.com")))
    assert first.contents == again.contents
    assert first.listeners == again.listeners
    assert not set(first.contents) & set(rotated.contents)


@pytest.mark.parametrize("cert_id", ["../etc", "a/b", "..", ".hidden", "x..y", "a b", "a\nb", ""])
def test_hostile_certificate_ids_are_refused(cert_id: str) -> None:
    cert = make_cert().model_copy(update={"id": cert_id})
    with pytest.raises(UnsafeConfigValue, match="id"):
        render(tls_tree(default_tls=cert))
    with pytest.raises(UnsafeConfigValue, match="id"):
        render(tls_pool_tree(tls_certificate=cert))


@pytest.mark.parametrize(
    "update",
    [
        pytest.param({"certificate": "not a certificate"}, id="certificate"),
        pytest.param({"private_key": "-----BEGIN CERTIFICATE-----"}, id="key"),
    ],
)
def test_certificates_must_be_pem(update: dict[str, Any]) -> None:
    cert = CertificateNode(**(make_cert().model_dump() | update))
    with pytest.raises(UnsafeConfigValue, match="PEM"):
        render(tls_tree(default_tls=cert))


def test_hostile_names_inside_a_certificate_reach_no_generated_file() -> None:
    hostile = "evil\n[verify none] *.example.com\n'\"#$x"
    issued = sample_authority().issue(
        "x", dns_names=[hostile], subject_extra=[x509.NameAttribute(NameOID.ORGANIZATION_NAME,
                                                                     hostile)])
    cert = CertificateNode(id="hostile", certificate=issued.cert_pem,
                           private_key=issued.key_pem)
    benign = tls_tree(sni_tls=[make_cert("sni", "sni.example")])
    tree = tls_tree(sni_tls=[cert])
    plan = tls_plan(tree)
    crt_list = plan.contents[Path(plan.listeners["listener-1"].crt_list).name]
    assert len(crt_list.splitlines()) == 2 and "verify" not in crt_list
    assert section_headers(render(tree)) == section_headers(render(benign))
    assert len(render(tree).splitlines()) == len(render(benign).splitlines())


@pytest.mark.parametrize("directory", ["relative/certs", "/a b/certs", "/a/../certs", "/a\n/c"])
def test_unsafe_certificate_directories_are_refused(directory: str) -> None:
    with pytest.raises(UnsafeConfigValue, match="directory"):
        plan_tls_files(tls_tree(), directory)


def test_files_are_private_and_unreferenced_ones_are_pruned(tmp_path: Path) -> None:
    directory = tmp_path / "certs"
    old = plan_tls_files(tls_tree(), directory)
    write_tls_files(old)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == sorted(old.contents)
    for name, text in old.contents.items():
        assert (directory / name).read_text() == text
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600

    new = plan_tls_files(tls_tree(default_tls=make_cert("cert-1", "new.example")), directory)
    write_tls_files(new)
    assert set(p.name for p in directory.iterdir()) == set(old.contents) | set(new.contents)
    assert sorted(prune_tls_files(new)) == sorted(old.contents)
    assert sorted(p.name for p in directory.iterdir()) == sorted(new.contents)

    prune_tls_files(plan_tls_files(make_tree(), directory))
    assert not directory.exists()


# --- re-encrypting pools --------------------------------------------------------------------------


def test_tls_pool_without_ca_does_not_verify() -> None:
    assert server_lines(render(tls_pool_tree())) == [
        "server member-1 192.0.2.11:8080 weight 1 ssl verify none"
    ]


def test_tls_pool_golden() -> None:
    authority = sample_authority()
    tree = tls_pool_tree(
        ca_certificate=authority.cert_pem,
        crl=authority.crl_pem(),
        tls_certificate=make_cert("client", "lbaas client"),
        tls_ciphers=CIPHERS,
        tls_versions=["TLSv1.3"],
        alpn_protocols=["h2", "http/1.1"],
        healthmonitor=make_monitor(type="HTTP"),
    )
    files = tls_plan(tree).pools["pool-1"]
    assert server_lines(render(tree)) == [
        f"server member-1 192.0.2.11:8080 weight 1 ssl verify required ca-file '{files.ca}'"
        f" crl-file '{files.crl}' crt '{files.client_cert}' ciphers {CIPHERS}"
        " ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3 alpn h2,http/1.1"
        " check inter 5s fall 3 rise 2 check-ssl"
    ]


def test_tls_disabled_pool_ignores_its_tls_fields() -> None:
    tree = make_tree(pools=[make_pool(ca_certificate="junk", tls_certificate=make_cert())])
    assert tls_plan(tree).contents == {}
    assert " ssl" not in server_lines(render(tree))[0]


@pytest.mark.parametrize(
    ("monitor_type", "tls_enabled", "check_ssl"),
    [
        ("HTTP", True, " check-ssl"),
        ("HTTPS", True, " check-ssl"),
        ("TCP", True, " check-ssl"),
        ("PING", True, " check-ssl"),
        ("TLS-HELLO", True, " no-check-ssl"),
        ("HTTPS", False, " check-ssl verify none"),
        ("HTTP", False, ""),
        ("TLS-HELLO", False, ""),
    ],
)
def test_checks_of_tls_pools_go_over_tls_as_verified_as_the_traffic(
    monitor_type: str, tls_enabled: bool, check_ssl: str
) -> None:
    pool = make_pool(tls_enabled=tls_enabled, ca_certificate=sample_authority().cert_pem,
                     healthmonitor=make_monitor(type=monitor_type))
    line = server_lines(render(make_tree(pools=[pool])))[0]
    assert line.endswith(f" check inter 5s fall 3 rise 2{check_ssl}")
    if tls_enabled:  # "verify none" would turn off the verification of the traffic too
        assert "verify none" not in line


def test_tls_pool_checks_sent_elsewhere_stay_on_tls() -> None:
    pool = make_pool(tls_enabled=True, healthmonitor=make_monitor(type="HTTP"),
                     members=[make_member(monitor_address="192.0.2.99", monitor_port=9443)])
    line = server_lines(render(make_tree(pools=[pool])))[0]
    assert line.endswith(" check-ssl addr 192.0.2.99 port 9443")


@pytest.mark.parametrize(("listener_protocol", "option"), [
    ("TERMINATED_HTTPS", "send-proxy-v2-ssl-cn"), ("HTTP", "send-proxy-v2")])
def test_proxyv2_pool_behind_tls_sends_the_ssl_facts(listener_protocol: str, option: str) -> None:
    listener = (make_tls_listener() if listener_protocol == "TERMINATED_HTTPS"
                else make_listener())
    tree = make_tree(listeners=[listener], pools=[make_pool(protocol="PROXYV2")])
    assert server_lines(render(tree)) == [
        f"server member-1 192.0.2.11:8080 weight 1 {option}"
    ]


def test_both_copies_of_a_pair_name_the_same_files() -> None:
    copies = [
        AmphoraNode(id=f"amp-{n}", position=n, host=f"host-{n}", vrrp_ip=f"203.0.113.{11 + n}",
                    vrrp_priority=100 - n)
        for n in (0, 1)
    ]
    tree = make_tree(listeners=[make_tls_listener()], pools=[make_pool(tls_enabled=True)],
                     topology="ACTIVE_STANDBY", amphorae=copies)
    configs = [
        render_haproxy_config(tree, PATHS, copy=copy, tls_files=tls_plan(tree)) for copy in copies
    ]
    assert configs[0].replace("localpeer amp-0", "localpeer amp-1") == configs[1]
    assert "ssl crt-list" in configs[0]
