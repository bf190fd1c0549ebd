"""The relabelling of HAProxy's exporter text into the agent's metrics
(:mod:`lbaas.agent.metrics.exposition`): the label contract, what is dropped, hostile names,
and that the whole output is valid text format (read back with prometheus_client's parser)."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from lbaas.agent.metrics.exposition import Exposition, Owner, escape_label_value, labels, relabel
from lbaas.core.tree import ListenerNode, LoadBalancerTree, MemberNode, PoolNode, SubnetNode
from lbaas.drivers.haproxy.exporter import ExporterError, _dechunk

EXPORTER_TEXT = """\
# HELP haproxy_frontend_current_sessions Number of current sessions
# TYPE haproxy_frontend_current_sessions gauge
haproxy_frontend_current_sessions{proxy="lbaas_exporter"} 1
haproxy_frontend_current_sessions{proxy="L1"} 7
# HELP haproxy_frontend_http_cache_hits_total Total number of HTTP cache hits
# TYPE haproxy_frontend_http_cache_hits_total counter
haproxy_frontend_http_cache_hits_total{proxy="L1"} 0
# HELP haproxy_frontend_http_responses_total Total number of HTTP responses
# TYPE haproxy_frontend_http_responses_total counter
haproxy_frontend_http_responses_total{proxy="lbaas_exporter",code="2xx"} 9
haproxy_frontend_http_responses_total{proxy="L1",code="2xx"} 42
haproxy_frontend_http_responses_total{proxy="L1",code="5xx"} 3
# HELP haproxy_backend_active_servers Current number of active servers
# TYPE haproxy_backend_active_servers gauge
haproxy_backend_active_servers{proxy="P1"} 2
haproxy_backend_active_servers{proxy="unknown_backend"} 1
# HELP haproxy_server_status Current status of the service
# TYPE haproxy_server_status gauge
haproxy_server_status{proxy="P1",server="M1",state="UP"} 1
haproxy_server_status{proxy="P1",server="M1",state="DOWN"} 0
haproxy_server_status{proxy="P1",server="M2",state="UP"} 0
haproxy_server_status{proxy="P1",server="M2",state="DOWN"} 1
haproxy_server_status{proxy="P1",server="M9",state="DOWN"} 1

"""


def tree(lb_id: str = "LB1", project_id: str = "PRJ", name: str = "web") -> LoadBalancerTree:
    return LoadBalancerTree(
        id=lb_id, name=name, project_id=project_id, vip_address="10.0.0.5",
        vip_network_id="net", vip_subnet=SubnetNode(id="sub", network_id="net",
                                                    cidr="10.0.0.0/24"),
        provisioning_status="ACTIVE",
        listeners=[ListenerNode(id="L1", protocol="HTTP", protocol_port=80,
                                default_pool_id="P1")],
        pools=[PoolNode(id="P1", protocol="HTTP", lb_algorithm="ROUND_ROBIN", members=[
            MemberNode(id="M1", address="10.0.0.11", protocol_port=80),
            MemberNode(id="M2", address="10.0.0.12", protocol_port=80)])])


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of ``text`` (parsed by prometheus_client: it must be valid)."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def key(metric: str, **pairs: str) -> tuple[str, frozenset[tuple[str, str]]]:
    return metric, frozenset(pairs.items())


def test_frontend_backend_and_server_series_follow_the_label_contract() -> None:
    found = samples(relabel(EXPORTER_TEXT, Owner.of(tree())))
    lb = {"loadbalancer_id": "LB1", "project_id": "PRJ"}
    assert found == {
        key("haproxy_frontend_current_sessions", listener_id="L1", **lb): 7,
        key("haproxy_frontend_http_responses_total", listener_id="L1", code="2xx", **lb): 42,
        key("haproxy_frontend_http_responses_total", listener_id="L1", code="5xx", **lb): 3,
        key("haproxy_backend_active_servers", pool_id="P1", **lb): 2,
        key("haproxy_server_status", pool_id="P1", member_id="M1", state="UP", **lb): 1,
        key("haproxy_server_status", pool_id="P1", member_id="M1", state="DOWN", **lb): 0,
        key("haproxy_server_status", pool_id="P1", member_id="M2", state="UP", **lb): 0,
        key("haproxy_server_status", pool_id="P1", member_id="M2", state="DOWN", **lb): 1,
    }


def test_the_exporter_frontend_unknown_proxies_and_unkept_metrics_are_dropped() -> None:
    text = relabel(EXPORTER_TEXT, Owner.of(tree()))
    assert "lbaas_exporter" not in text
    assert "unknown_backend" not in text
    assert "M9" not in text
    assert "http_cache_hits" not in text
    assert "proxy=" not in text and "server=" not in text


def test_a_family_of_many_load_balancers_has_one_help_and_type() -> None:
    exposition = Exposition()
    exposition.add_haproxy(EXPORTER_TEXT, Owner.of(tree("LB1")))
    exposition.add_haproxy(EXPORTER_TEXT, Owner.of(tree("LB2")))
    text = exposition.text()
    assert text.count("# TYPE haproxy_server_status gauge") == 1
    found = samples(text)
    assert len(found) == 16
    assert {dict(labels)["loadbalancer_id"] for _, labels in found} == {"LB1", "LB2"}


def test_hostile_names_and_projects_are_escaped() -> None:
    hostile = 'a"b\\c\nd} 1\nfake_metric 2'
    exposition = Exposition()
    base = labels(loadbalancer_id="LB1", project_id=hostile)
    exposition.add_family("lbaas_loadbalancer_info", "info", "gauge",
                          [f"lbaas_loadbalancer_info{{{base},{labels(name=hostile)}}} 1"])
    exposition.add_haproxy(EXPORTER_TEXT, Owner.of(tree(project_id=hostile)))
    found = samples(exposition.text())
    assert found[key("lbaas_loadbalancer_info", loadbalancer_id="LB1", project_id=hostile,
                     name=hostile)] == 1
    assert not any(name == "fake_metric" for name, _ in found)
    assert escape_label_value('\\"\n') == '\\\\\\"\\n'


def test_nothing_is_left_from_an_empty_or_foreign_text() -> None:
    assert relabel("", Owner.of(tree())) == ""
    assert relabel(EXPORTER_TEXT, Owner.of(tree("LB1").model_copy(
        update={"listeners": [], "pools": []}))) == ""


def test_chunked_answers_are_decoded() -> None:
    assert _dechunk(b"4\r\nab\r\n\r\n3\r\ncd\n\r\n0\r\n\r\n", "s") == b"ab\r\ncd\n"
    for broken in (b"4\r\nab", b"zz\r\nab\r\n0\r\n\r\n", b""):
        try:
            _dechunk(broken, "s")
        except ExporterError:
            continue
        raise AssertionError(f"{broken!r} was accepted")
