"""oslo.messaging transport, RPC clients and servers, built from configuration at start-up.

``fake:/`` (the default) is oslo.messaging's in-process transport: the all-in-one process shares
one Transport object between its API server and its agent. ``rabbit://…`` connects processes on
different hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg

from lbaas.rpc.topics import RPC_NAMESPACE


def make_transport(conf: cfg.ConfigOpts) -> messaging.RPCTransport:
    """The RPC transport named by ``[DEFAULT] transport_url``."""
    return messaging.get_rpc_transport(conf, url=conf.transport_url)


def make_client(transport: messaging.RPCTransport, topic: str, version: str,
                timeout: int = 30) -> messaging.RPCClient:
    target = messaging.Target(topic=topic, namespace=RPC_NAMESPACE, version=version)
    return messaging.get_rpc_client(transport, target, timeout=timeout)


def make_server(transport: messaging.RPCTransport, topic: str, server: str,
                endpoints: Sequence[Any]) -> messaging.MessageHandlingServer:
    """An RPC server running ``endpoints`` on worker threads."""
    target = messaging.Target(topic=topic, server=server)
    return messaging.get_rpc_server(transport, target, list(endpoints),
                                    access_policy=messaging.DefaultRPCAccessPolicy)
