"""What the agent manager needs of the server and of the device driver, as protocols.

:class:`lbaas.rpc.plugin_api.PluginApi` is the real :class:`Plugin` (RPC to the server);
:class:`lbaas.drivers.haproxy.namespace_driver.HaproxyNamespaceDriver` the real :class:`Driver`.
The agent's unit tests pass in-memory ones.
"""

from __future__ import annotations

from typing import Any, Protocol

from lbaas.core.tree import AmphoraNode, LoadBalancerTree


class Plugin(Protocol):
    """What the manager needs of the server (see :class:`lbaas.rpc.plugin_api.PluginApi`)."""

    host: str

    def get_ready_devices(self) -> list[str]: ...

    def get_ready_revisions(self) -> dict[str, int]: ...

    def get_loadbalancer(self, lb_id: str) -> LoadBalancerTree | None: ...

    def get_loadbalancers(self, lb_ids: list[str]) -> dict[str, LoadBalancerTree | None]: ...

    def update_status(
        self,
        obj_type: str,
        obj_id: str,
        provisioning_status: str | None = None,
        operating_status: str | None = None,
        revision: int | None = None,
        reason: str | None = None,
    ) -> None: ...

    def update_amphora(self, lb_id: str, status: str | None = None, role: str | None = None,
                       revision: int | None = None, reason: str | None = None) -> None: ...

    def update_loadbalancer_stats(self, lb_id: str, stats: dict[str, Any]) -> None: ...

    def loadbalancer_destroyed(self, lb_id: str) -> None: ...

    def report_state(self, state: dict[str, Any]) -> None: ...


class Driver(Protocol):
    """What the agent needs of a device driver (see ``HaproxyNamespaceDriver``)."""

    def prepare_host(self) -> None: ...

    def deploy(self, tree: LoadBalancerTree, bridge: str,
               copy: AmphoraNode | None = None) -> object: ...

    def hand_over(self, lb_id: str) -> None: ...

    def copy_role(self, lb_id: str) -> str | None: ...

    def undeploy(self, lb_id: str) -> None: ...

    def deployed_ids(self) -> set[str]: ...

    def is_healthy(self, lb_id: str) -> bool: ...

    def still_running(self, lb_id: str) -> bool: ...

    def draining(self, lb_id: str) -> bool: ...

    def collect(self, tree: LoadBalancerTree) -> dict[str, Any]: ...

    def answering(self, bridge: str, addresses: list[str]) -> set[str]: ...
