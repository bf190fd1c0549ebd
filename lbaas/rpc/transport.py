"""oslo.messaging transport, RPC clients and servers, built from configuration at start-up.

``fake:/`` (the default) is the in-process transport (:mod:`lbaas.rpc.inproc`, oslo.messaging's
fake driver with listeners woken on delivery instead of polling every 50 ms): the all-in-one
process shares its exchanges between its API server and its agent. ``rabbit://…`` connects
processes on different hosts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg

from lbaas.rpc.inproc import in_process_transport
from lbaas.rpc.topics import RPC_NAMESPACE


def make_transport(conf: cfg.ConfigOpts) -> messaging.RPCTransport:
    """The RPC transport named by ``[DEFAULT] transport_url``."""
    url = conf.transport_url
    if url is not None and url.startswith("fake:"):
        return in_process_transport(conf, url)
    return messaging.get_rpc_transport(conf, url=url)


CAST_RETRIES = 2
"""Reconnection attempts of a cast before it fails, instead of oslo.messaging's default of
retrying forever: an API request must not hang while the broker restarts. A cast lost that way
is repaired by the agent, which syncs in full when it reaches the server again."""


def make_client(transport: messaging.RPCTransport, topic: str, version: str,
                timeout: int = 30, retry: int | None = CAST_RETRIES) -> messaging.RPCClient:
    """A client of ``topic``; ``retry`` reconnection attempts per message (None: forever)."""
    target = messaging.Target(topic=topic, namespace=RPC_NAMESPACE, version=version)
    return messaging.get_rpc_client(transport, target, timeout=timeout, retry=retry)


def make_server(transport: messaging.RPCTransport, topic: str, server: str,
                endpoints: Sequence[Any]) -> messaging.MessageHandlingServer:
    """An RPC server running ``endpoints`` on worker threads."""
    target = messaging.Target(topic=topic, server=server)
    return messaging.get_rpc_server(transport, target, list(endpoints),
                                    access_policy=messaging.DefaultRPCAccessPolicy)


class ServerTask:
    """An RPC server as one of the API's background tasks (``start``/``stop``): ``stop`` also
    waits until the server's consumers are gone. Only stopped, a server on a broker keeps its
    consumer on the topic's queue, and a later server of the same topic would share the queue
    with a consumer that never answers."""

    def __init__(self, server: messaging.MessageHandlingServer) -> None:
        self.server = server

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
        self.server.wait()
