"""A lab of several network nodes on one machine: a private RabbitMQ, a PostgreSQL database, two
``lbaas server`` processes, and N simulated network nodes (each its own network namespace, mount
namespace and cgroup, running ``lbaas agent``), with backends and a client on a provider
network. For end-to-end tests of several agents and servers, failover and service-fault tests,
benchmarks, and a person (``python -m tests.nodelab up --nodes 3``).

Modules, one job each: :mod:`.lab` (:class:`NodeLab`, the whole), :mod:`.node` (one network
node), :mod:`.servers` (the API servers), :mod:`.rabbitmq` (the broker), :mod:`.api` (an HTTP
client for tests), :mod:`.config` (the config files), :mod:`.mountns` (the nodes' private mount
namespaces), :mod:`.cgroups` (cgroup v2 groups), :mod:`.procs` (process helpers),
:mod:`.sweep` (leftovers of a killed run), ``__main__`` (the interactive lab). Requires root.
"""

from tests.nodelab.api import LabApi, lb_tree
from tests.nodelab.lab import NodeLab, backend_address, body_of
from tests.nodelab.node import Node
from tests.nodelab.rabbitmq import RabbitMQ
from tests.nodelab.servers import Servers

__all__ = ["LabApi", "Node", "NodeLab", "RabbitMQ", "Servers", "backend_address", "body_of",
           "lb_tree"]
