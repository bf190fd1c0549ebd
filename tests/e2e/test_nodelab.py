"""The node lab (``tests/nodelab``) works: three simulated network nodes with real agents, two
``lbaas server`` processes on one PostgreSQL database, a private RabbitMQ.

* both servers list node-1..3 alive with their bridge mappings;
* the lab's config files carry the options README.md's "Several hosts" block shows (and that
  block is a valid config);
* six load balancers created through alternating servers land two on each node, each answers
  through its VIP from both backends in turn, and its ``qlbaas-`` namespace exists only inside
  its node;
* an agent killed with SIGKILL: its load balancers keep answering; started again, it reports
  alive and re-adopts them (same haproxy, still ACTIVE);
* a lost node (network cut, processes killed): its VIPs go silent while its namespaces stay; it
  comes back (agent first, then network) and reports alive; the lab's cleanup then leaves
  nothing behind (the last test closes the lab itself).

One lab for the module (its start and teardown times are printed). Not here: what the servers do
about a lost node (rescheduling), which the failover tests cover.
"""

from __future__ import annotations

import configparser
import re
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lbaas.config import load_config
from lbaas.drivers.interface.namespaces import list_namespaces
from lbaas.drivers.interface.vip_plug import NS_PREFIX
from tests.netlab import skip_unless_root_and_tools
from tests.nodelab import NodeLab, body_of, cgroups, rabbitmq
from tests.nodelab.node import LOCAL_BRIDGE

README = Path(__file__).resolve().parents[2] / "README.md"

pytestmark = [
    skip_unless_root_and_tools("ip", "haproxy", "nsenter", "unshare", "epmd"),
    pytest.mark.skipif(not rabbitmq.installed(), reason="rabbitmq-server is not installed"),
    pytest.mark.skipif(not cgroups.available(), reason="no cgroup2 hierarchy"),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[NodeLab]:
    # agent_down_time well above an agent restart on a busy machine: the kill/start test must
    # not race the servers' rescheduling (not the subject here).
    built = NodeLab(nodes=3, servers=2, housekeeping={"agent_down_time": 40})
    with built:
        print(f"\n[nodelab] up in {built.timings['up']:.1f}s {built.timings}", flush=True)
        yield built
    print(f"\n[nodelab] torn down in {built.timings['down']:.1f}s", flush=True)


@pytest.fixture(scope="module")
def six_lbs(lab: NodeLab) -> list[dict[str, Any]]:
    """Six load balancers, created one after the other through server 1, 2, 1, ..."""
    posted = [lab.create_lb(f"lb{i}", server=1 + i % 2, wait=False) for i in range(6)]
    return [lab.api(1 + i % 2, "member").wait_active(lb["id"]) for i, lb in enumerate(posted)]


def _by_node(lab: NodeLab, lbs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    placed: dict[str, list[dict[str, Any]]] = {}
    for lb in lbs:
        placed.setdefault(lab.hosting_node(lb["id"]).name, []).append(lb)
    return placed


def _master_pid(lab: NodeLab, node_name: str, lb_id: str) -> str:
    node = lab.node_named(node_name)
    return (node.state_path / "lbaas" / lb_id / "haproxy.pid").read_text().strip()


def test_both_servers_list_every_node_alive(lab: NodeLab) -> None:
    for server in lab.servers.numbers:
        agents = {a["host"]: a for a in lab.api(server).agents()}
        assert sorted(agents) == ["node-1", "node-2", "node-3"]
        for agent in agents.values():
            assert agent["alive"], agent
            assert agent["configurations"]["bridge_mappings"] == {"provider": LOCAL_BRIDGE}


def _readme_block() -> str:
    text = README.read_text()
    section = text[text.index("## Several hosts"):]
    found = re.search(r"```ini\n(.*?)```", section, re.S)
    assert found, "no ini block under '## Several hosts'"
    return found.group(1)


def _options(text: str) -> set[tuple[str, str]]:
    parser = configparser.ConfigParser(interpolation=None, inline_comment_prefixes=("#",))
    parser.read_string(text)
    return {(section, key) for section in [parser.default_section, *parser.sections()]
            for key in (parser.defaults() if section == parser.default_section
                        else parser[section].keys() - parser.defaults().keys())}


def test_lab_config_files_carry_the_readme_options(lab: NodeLab, tmp_path: Path) -> None:
    block = _readme_block()
    wanted = _options(block)
    assert ("DEFAULT", "transport_url") in wanted and ("agent", "bridge_mappings") in wanted
    files = [*lab.servers.configs, *(node.config for node in lab.nodes)]
    used: set[tuple[str, str]] = set()
    for path in files:
        used |= _options(path.read_text())
    assert wanted - used == set(), f"README options the lab does not write: {wanted - used}"
    # The block is a config lbaas reads as shown (oslo.config has no inline comments).
    (tmp_path / "readme.conf").write_text(block)
    conf = load_config([str(tmp_path / "readme.conf")])
    assert "#" not in conf.host and all("#" not in m for m in conf.agent.bridge_mappings)
    raw = configparser.ConfigParser(interpolation=None)
    raw.read_string(block)
    commented = [f"[{name}] {key}" for name in [raw.default_section, *raw.sections()]
                 for key, value in raw[name].items() if "#" in value]
    assert commented == [], f"inline comments are read as part of the value: {commented}"
    for path in lab.servers.configs:
        conf = load_config([str(path)])
        assert conf.transport_url == lab.broker.transport_url
        assert conf.database.connection.startswith("postgresql+psycopg://")
    for node in lab.nodes:
        conf = load_config([str(node.config)])
        assert (conf.host, conf.transport_url) == (node.name, lab.broker.transport_url)
        assert conf.agent.bridge_mappings == [f"provider:{LOCAL_BRIDGE}"]


def test_load_balancers_spread_over_nodes_and_answer(
        lab: NodeLab, six_lbs: list[dict[str, Any]]) -> None:
    placed = _by_node(lab, six_lbs)
    assert Counter({name: len(lbs) for name, lbs in placed.items()}) == \
        Counter({"node-1": 2, "node-2": 2, "node-3": 2})
    both = {body_of("web01"), body_of("web02")}
    for lb in six_lbs:
        lab.wait_serving(lb["vip_address"])
        answers = lab.answers(lb["vip_address"], 4)
        assert Counter(answers) == Counter({b: 2 for b in both}), answers
    root = set(list_namespaces())
    for name, lbs in placed.items():
        for lb in lbs:
            namespace = NS_PREFIX + lb["id"]
            assert namespace not in root
            for node in lab.nodes:
                assert (namespace in node.namespaces()) == (node.name == name), \
                    (namespace, node.name)


def test_killed_agent_keeps_serving_and_readopts(
        lab: NodeLab, six_lbs: list[dict[str, Any]]) -> None:
    node = lab.node(2)
    mine = _by_node(lab, six_lbs)[node.name]
    masters = {lb["id"]: _master_pid(lab, node.name, lb["id"]) for lb in mine}
    node.kill_agent()
    assert node.haproxy_pids(), "haproxy died with the agent"
    for lb in mine:
        lab.wait_serving(lb["vip_address"], timeout=5)
    node.start_agent()
    assert lab.agent_view(node.name)["alive"]  # type: ignore[index]
    for lb in mine:
        assert lab.hosting_node(lb["id"]) is node
        assert lab.live_api().lb(lb["id"])["provisioning_status"] == "ACTIVE"
        lab.wait_serving(lb["vip_address"], timeout=10)
        assert _master_pid(lab, node.name, lb["id"]) == masters[lb["id"]]


def test_lost_node_goes_silent_comes_back_and_cleanup_leaves_nothing(
        lab: NodeLab, six_lbs: list[dict[str, Any]]) -> None:
    node = lab.node(3)
    mine = _by_node(lab, six_lbs)[node.name]
    node.lose()
    assert node.pids() == []
    assert not any(node.link_states().values())
    for lb in mine:
        with pytest.raises(OSError):
            lab.answers(lb["vip_address"], 1, timeout=1.5)
    assert sorted(node.namespaces()) == sorted(NS_PREFIX + lb["id"] for lb in mine)

    assert node.come_back() in ("line", "broker")
    assert all(node.link_states().values())
    assert lab.agent_view(node.name)["alive"]  # type: ignore[index]

    broker = lab.broker.pids_seen
    lab.close()
    assert lab.leftovers(broker) == []
    assert not lab.workdir.exists()
    assert not any(lb["id"] in name for lb in six_lbs for name in list_namespaces())
    pattern = f"lbaas-nodelab-{lab.tag}|lbaas-lab-{lab.tag}|{lab.netlab.prefix}"
    still = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True,
                           check=False).stdout.strip()
    assert still == "", still
