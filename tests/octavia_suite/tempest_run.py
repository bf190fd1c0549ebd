"""A tempest workspace pointed at one lbaas server and one Keystone, and a run of tests in it.

Called by :mod:`tests.octavia_suite.stack` (which starts the services) for the CI subset
(``test_octavia_api.py``) and the whole suite (``python -m tests.octavia_suite``). tempest and
octavia-tempest-plugin live in ``tests/peers/.venv`` and run as a subprocess there.

tempest is pointed at lbaas the way Octavia's own gate points it at Octavia with the noop
provider, except that the networks are real lbaas networks: lbaas serves the Neutron subset the
tests read (``/v2.0/networks``) and is registered in Keystone's catalog as the ``network``
service too, so ``test_with_noop`` stays false and every operating-status assertion of a live
cloud applies. lbaas is the ``key-manager`` service as well (its secret store), so the TLS tests
store their certificates in it and create TERMINATED_HTTPS listeners naming them.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PEERS_BIN = Path(__file__).resolve().parents[1] / "peers" / ".venv" / "bin"
SUBUNIT_TO_JSON = Path(__file__).resolve().parent / "subunit_to_json.py"
FLAVOR_TOPOLOGY = "The load balancer topology: SINGLE or ACTIVE_STANDBY."
"""How lbaas describes its one flavor capability (a deployer states it in tempest.conf)."""


@dataclass(frozen=True)
class Cloud:
    """What tempest needs to know about the cloud under test."""

    auth_url: str
    admin_password: str
    vip_network_id: str
    providers: dict[str, str]
    """Provider name -> description, as ``GET /v2/lbaas/providers`` lists them."""
    region: str = "RegionOne"


@dataclass
class Outcome:
    """One test's result: subunit's status and the skip reason or failure text."""

    status: str
    detail: str


@dataclass
class SuiteResult:
    """Every test that ran, by id (tempest's id, with its ``[id-…]`` tags)."""

    tests: dict[str, Outcome] = field(default_factory=dict)
    log: str = ""

    def with_status(self, *statuses: str) -> dict[str, Outcome]:
        return {name: out for name, out in self.tests.items() if out.status in statuses}

    @property
    def passed(self) -> dict[str, Outcome]:
        return self.with_status("success", "xfail")

    @property
    def failed(self) -> dict[str, Outcome]:
        """Failures, unexpected successes, and tests that were listed but never finished
        (subunit's ``exists`` / ``inprogress``: a crashed worker must not pass silently)."""
        return {name: out for name, out in self.tests.items()
                if out.status not in ("success", "xfail", "skip")}

    @property
    def skipped(self) -> dict[str, Outcome]:
        return self.with_status("skip")

    def summary(self) -> str:
        return (f"{len(self.tests)} ran: {len(self.passed)} passed, {len(self.failed)} failed, "
                f"{len(self.skipped)} skipped")


def tempest_conf(cloud: Cloud, log_dir: Path) -> str:
    """The text of ``etc/tempest.conf``."""
    if any("," in text or ":" in text for text in cloud.providers.values()):
        raise ValueError(f"tempest's enabled_provider_drivers cannot hold a provider "
                         f"description with ',' or ':': {cloud.providers}")
    providers = ",".join(f"{name}:{text}" for name, text in cloud.providers.items())
    return f"""\
[DEFAULT]
log_dir = {log_dir}
log_file = tempest.log

[auth]
use_dynamic_credentials = true
create_isolated_networks = false
admin_username = admin
admin_password = {cloud.admin_password}
admin_project_name = admin
admin_domain_name = Default

[identity]
uri_v3 = {cloud.auth_url}
auth_version = v3
region = {cloud.region}

[identity-feature-enabled]
api_v2 = false

[service_available]
load_balancer = true
# The plugin's live mode asks for these services; the API tests only use the network one, which
# lbaas itself serves. Nothing of nova or glance is called.
neutron = true
nova = true
glance = true
cinder = false
swift = false
# lbaas's own secret store, registered as key-manager: the listener tests store their
# certificates there with python-barbicanclient, as a member.
barbican = true

[network]
project_networks_reachable = true

[load_balancer]
region = {cloud.region}
provider = noop
enabled_provider_drivers = {providers}
RBAC_test_type = keystone_default_roles
test_with_noop = false
test_with_ipv6 = false
test_network_override = {cloud.vip_network_id}
build_interval = 0.1
build_timeout = 60
lb_build_interval = 0.1
lb_build_timeout = 60
check_interval = 0.1
check_timeout = 30

# Zones the zone tests put in profiles (the noop provider's compute_zone takes any name).
availability_zone = lbaas-az1
availability_zone2 = lbaas-az2
availability_zone3 = lbaas-az3
# What lbaas's providers list (Octavia's default text describes amphorae).
expected_flavor_capability = loadbalancer_topology:{FLAVOR_TOPOLOGY}

[loadbalancer-feature-enabled]
terminated_tls_enabled = true
"""


def _with_class_skips(tests: dict[str, Outcome]) -> dict[str, Outcome]:
    """Tests of a class whose ``setUpClass`` skipped never start (subunit leaves them at
    ``exists``): they are skipped, for the class's reason. Any other test that never finished
    keeps its status, and counts as failed."""
    class_skips = {name[len("setUpClass ("):-1]: out for name, out in tests.items()
                   if name.startswith("setUpClass (") and out.status == "skip"}
    for name, out in tests.items():
        test_class = name.split("[", 1)[0].rsplit(".", 1)[0]
        if out.status == "exists" and test_class in class_skips:
            tests[name] = Outcome("skip", class_skips[test_class].detail)
    return tests


def run_tempest(workdir: Path, cloud: Cloud, regexes: list[str], concurrency: int = 2,
                exclude: list[str] | None = None, timeout: float = 3600.0) -> SuiteResult:
    """Create a workspace in ``workdir``, run the API tests matching any of ``regexes`` (and
    none of ``exclude``), and read every result back from subunit."""
    workspace = workdir / "tempest"
    # HOME too: tempest creates ~/.tempest even when told where its workspace registry goes.
    environ = {**os.environ, "HOME": str(workdir)}
    subprocess.run([str(PEERS_BIN / "tempest"), "init", "--name", f"lbaas-{workdir.name}",
                    "--workspace-path", str(workdir / "workspaces.yaml"), str(workspace)],
                   check=True, capture_output=True, text=True, env=environ)
    (workspace / "etc" / "tempest.conf").write_text(tempest_conf(cloud, workspace / "logs"))
    include = workdir / "include.txt"
    include.write_text("".join(f"{r}\n" for r in regexes))
    command = [str(PEERS_BIN / "tempest"), "run", "--include-list", str(include),
               "--concurrency", str(concurrency), "--subunit"]
    if exclude:
        exclude_file = workdir / "exclude.txt"
        exclude_file.write_text("".join(f"{r}\n" for r in exclude))
        command += ["--exclude-list", str(exclude_file)]
    stream = workdir / "results.subunit"
    with stream.open("wb") as out:
        # tempest exits non-zero when a test fails; the results say which.
        run = subprocess.run(command, cwd=workspace, stdout=out, stderr=subprocess.PIPE,
                             timeout=timeout, env=environ)
    parsed = subprocess.run([str(PEERS_BIN / "python"), str(SUBUNIT_TO_JSON)],
                            stdin=stream.open("rb"), capture_output=True, check=True)
    outcomes = {name: Outcome(**out) for name, out in json.loads(parsed.stdout).items()}
    result = SuiteResult(_with_class_skips(outcomes),
                         log=run.stderr.decode(errors="replace")[-4000:])
    if not result.tests:
        raise RuntimeError(f"tempest ran no test (exit {run.returncode}): {result.log}")
    return result
