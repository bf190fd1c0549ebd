"""Where the agent spends its time, without changing product code: :func:`agent_hooks` wraps
product functions (the agent's manager and RPC client, the server's RPC endpoints, haproxy and
namespace helpers) for a block and marks each step's start and end per load balancer in a
:class:`Timeline`; :func:`spans` turns the marks into per-step durations.

Used by ``bench.provisioning``, ``bench.member_update`` and ``bench.density``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from lbaas.drivers.haproxy import render
from lbaas.drivers.haproxy.namespace_driver import HaproxyNamespaceDriver
from lbaas.drivers.haproxy.process import HaproxyProcess
from lbaas.drivers.interface import links, vip_plug
from lbaas.rpc.server_endpoints import PluginEndpoints

if TYPE_CHECKING:
    from bench.stack import BenchStack


@contextlib.contextmanager
def patched(owner: Any, name: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """Replace ``owner.name`` by ``make(original)`` for the block (timing hooks)."""
    original = getattr(owner, name)
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


class Timeline:
    """Monotonic marks per load balancer id (first occurrence of each mark wins)."""

    def __init__(self) -> None:
        self.marks: dict[str, dict[str, float]] = {}
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self.marks = {}

    def mark(self, lb_id: str, name: str, when: float | None = None) -> None:
        with self._lock:
            self.marks.setdefault(lb_id, {}).setdefault(name, when or time.monotonic())


def spans(marks: Iterable[Mapping[str, float]], start: str, end: str) -> list[float]:
    """``end - start`` for each set of marks (one load balancer's) that holds both."""
    return [m[end] - m[start] for m in marks if start in m and end in m]


def _timed(timeline: Timeline, key: Callable[..., str | None], start: str, end: str
           ) -> Callable[[Any], Any]:
    def make(original: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            lb_id = key(*args, **kwargs)
            if lb_id:
                timeline.mark(lb_id, start)
            result = original(*args, **kwargs)
            if lb_id:
                timeline.mark(lb_id, end)
            return result
        return wrapper
    return make


def _timed_batch(timeline: Timeline, start: str, end: str) -> Callable[[Any], Any]:
    """Like :func:`_timed` for a call about many load balancers (its first argument)."""
    def make(original: Any) -> Any:
        def wrapper(lb_ids: list[str], *args: Any, **kwargs: Any) -> Any:
            for lb_id in lb_ids:
                timeline.mark(lb_id, start)
            result = original(lb_ids, *args, **kwargs)
            for lb_id in lb_ids:
                timeline.mark(lb_id, end)
            return result
        return wrapper
    return make


def _lb_of(namespace: str) -> str | None:
    return namespace[len(vip_plug.NS_PREFIX):] if namespace.startswith(vip_plug.NS_PREFIX) else None


def _remember_lb(current: dict[int, str]) -> Callable[[Any], Any]:
    """Wrap plug_vip so that helpers without the id (wait_operstate_up) know it per thread."""
    def make(original: Any) -> Any:
        def wrapper(lb_id: str, *args: Any, **kwargs: Any) -> Any:
            current[threading.get_ident()] = lb_id
            try:
                return original(lb_id, *args, **kwargs)
            finally:
                current.pop(threading.get_ident(), None)
        return wrapper
    return make


@contextlib.contextmanager
def agent_hooks(st: BenchStack, timeline: Timeline) -> Iterator[None]:
    """Mark the agent's steps per load balancer in ``timeline`` by wrapping product functions
    for the block: refresh, fetch(ed), batch(ed) (the sync's batched fetch of many trees),
    render(ed), plug(ged) with ns, sysctl, veth, oper, garp
    inside, runtime(_done) (the runtime API path of a member change, which may fall back to a
    reload), apply/applied around validate(d), start(ed), reload(ed), wait(_done), and
    report(ed) (ACTIVE only); cast/scheduled when a cast reaches the agent; srv_fetch(ed) and
    srv_report(ed) around the server's side of those two RPC calls."""
    def report_key(obj_type: str, obj_id: str, *args: Any, **kwargs: Any) -> str | None:
        status = kwargs.get("provisioning_status", args[0] if args else None)
        return obj_id if obj_type == "loadbalancer" and status == "ACTIVE" else None

    current_lb: dict[int, str] = {}
    with contextlib.ExitStack() as stack:
        stack.enter_context(patched(st.agent.manager, "refresh", _timed(
            timeline, lambda lb_id, *a, **k: lb_id, "refresh", "refreshed")))
        stack.enter_context(patched(st.agent.manager, "schedule", _timed(
            timeline, lambda lb_id, *a, **k: lb_id, "cast", "scheduled")))
        stack.enter_context(patched(PluginEndpoints, "get_loadbalancer", _timed(
            timeline, lambda self, ctx, loadbalancer_id, *a, **k: loadbalancer_id,
            "srv_fetch", "srv_fetched")))
        stack.enter_context(patched(PluginEndpoints, "update_status", _timed(
            timeline, lambda self, ctx, *a, **k: report_key(*a, **k), "srv_report",
            "srv_reported")))
        stack.enter_context(patched(st.agent.plugin, "get_loadbalancer", _timed(
            timeline, lambda lb_id, *a, **k: lb_id, "fetch", "fetched")))
        stack.enter_context(patched(st.agent.plugin, "get_loadbalancers", _timed_batch(
            timeline, "batch", "batched")))
        stack.enter_context(patched(st.agent.plugin, "update_status", _timed(
            timeline, report_key, "report", "reported")))
        stack.enter_context(patched(render, "render_haproxy_config", _timed(
            timeline, lambda tree, *a, **k: tree.id, "render", "rendered")))
        stack.enter_context(patched(vip_plug, "plug_vip", _timed(
            timeline, lambda lb_id, *a, **k: lb_id, "plug", "plugged")))
        stack.enter_context(patched(HaproxyProcess, "validate", _timed(
            timeline, lambda self, *a, **k: self.lb_id, "validate", "validated")))
        stack.enter_context(patched(HaproxyProcess, "start", _timed(
            timeline, lambda self, *a, **k: self.lb_id, "start", "started")))
        stack.enter_context(patched(HaproxyProcess, "apply", _timed(
            timeline, lambda self, *a, **k: self.lb_id, "apply", "applied")))
        stack.enter_context(patched(HaproxyProcess, "reload", _timed(
            timeline, lambda self, *a, **k: self.lb_id, "reload", "reloaded")))
        stack.enter_context(patched(HaproxyNamespaceDriver, "_update_at_runtime", _timed(
            timeline, lambda self, proc, *a, **k: proc.lb_id, "runtime", "runtime_done")))
        stack.enter_context(patched(HaproxyProcess, "_wait_for", _timed(
            timeline, lambda self, *a, **k: self.lb_id, "wait", "wait_done")))
        stack.enter_context(patched(vip_plug, "ensure_namespace", _timed(
            timeline, lambda name, *a, **k: _lb_of(name), "ns", "ns_done")))
        stack.enter_context(patched(vip_plug, "_set_namespace_sysctls", _timed(
            timeline, lambda name, *a, **k: _lb_of(name), "sysctl", "sysctl_done")))
        stack.enter_context(patched(links, "ensure_veth_pair", _timed(
            timeline, lambda root, inner, outer, vip_if, name, *a, **k: _lb_of(name),
            "veth", "veth_done")))
        stack.enter_context(patched(vip_plug, "send_gratuitous_arp", _timed(
            timeline, lambda name, *a, **k: _lb_of(name), "garp", "garp_done")))
        stack.enter_context(patched(links, "wait_operstate_up", _timed(
            timeline, lambda *a, **k: current_lb.get(threading.get_ident()), "oper",
            "oper_done")))
        stack.enter_context(patched(vip_plug, "plug_vip", _remember_lb(current_lb)))
        yield
