"""The in-process RPC transport of the all-in-one: oslo.messaging's fake driver, woken at once.

``fake:/`` (the default ``transport_url``) passes messages between the API server and the agent
of one process in memory. oslo.messaging's own driver has its listeners poll their queues every
50 ms, which put 25 ms on average on every cast and call of a change (the cast to the agent, its
fetch of the tree, its status report). Here a delivery notifies one condition of the process and
a waiting RPC listener takes the message at once; everything else (queues, topics, fanout,
replies, notification listeners, which lbaas does not use) is the fake driver's.
:func:`lbaas.rpc.transport.make_transport` builds it for ``fake:`` URLs.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import oslo_messaging as messaging
from oslo_messaging._drivers import base
from oslo_messaging._drivers import impl_fake as fake
from oslo_messaging.transport import RPCTransport

WAIT_SLICE_S = 0.5
"""Longest single wait of a listener: it also checks, this often, whether it was stopped."""


DELIVERED = threading.Condition()
"""Notified on every delivery in the process. One for all exchanges: a listener re-reads its
exchanges on every pass (``cleanup`` replaces them, as in the fake driver) and still hears."""


class _Exchange(fake.FakeExchange):
    """An exchange whose deliveries wake the listeners."""

    def deliver_message(self, topic: str, ctxt: Any, message: Any, server: Any = None,
                        fanout: bool = False, reply_q: Any = None) -> None:
        super().deliver_message(topic, ctxt, message, server=server, fanout=fanout,
                                reply_q=reply_q)
        with DELIVERED:
            DELIVERED.notify_all()


class _ExchangeManager(fake.FakeExchangeManager):
    """The process's exchanges (shared by every transport of the process, as the fake ones)."""

    _exchanges_lock = threading.Lock()
    _exchanges: dict[str, _Exchange] = {}

    def get_exchange(self, name: str | None) -> _Exchange:
        if name is None:
            name = self._default_exchange
        with self._exchanges_lock:
            return self._exchanges.setdefault(name, _Exchange(name))


class _Listener(fake.FakeListener):
    """Waits for a delivery instead of sleeping between polls."""

    @base.batch_poll_helper
    def poll(self, timeout: float | None = None) -> Any:
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._stopped.is_set():
            with DELIVERED:
                for target in self._targets:
                    exchange = self._exchange_manager.get_exchange(target.exchange)
                    ctxt, message, reply_q, requeue = exchange.poll(target, self._pool)
                    if message is not None:
                        return fake.FakeIncomingMessage(ctxt, message, reply_q, requeue)
                wait = WAIT_SLICE_S
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                    if wait <= 0:
                        return None
                DELIVERED.wait(wait)
        return None

    def stop(self) -> None:
        super().stop()
        with DELIVERED:
            DELIVERED.notify_all()


class InProcessDriver(fake.FakeDriver):
    """oslo.messaging's fake driver with RPC listeners that wake on delivery."""

    def __init__(self, conf: Any, url: Any, default_exchange: str | None = None,
                 allowed_remote_exmods: Any = None) -> None:
        super().__init__(conf, url, default_exchange, allowed_remote_exmods)
        self._exchange_manager = _ExchangeManager(default_exchange)

    def listen(self, target: messaging.Target, batch_size: int, batch_timeout: Any) -> Any:
        exchange = target.exchange or self._default_exchange
        listener = _Listener(self._exchange_manager, [
            messaging.Target(topic=target.topic, server=target.server, exchange=exchange),
            messaging.Target(topic=target.topic, exchange=exchange),
        ])
        return base.PollStyleListenerAdapter(listener, batch_size, batch_timeout)


def in_process_transport(conf: Any, url: str) -> RPCTransport:
    """An RPC transport over :class:`InProcessDriver` for ``url`` (a ``fake:`` URL)."""
    parsed = messaging.TransportURL.parse(conf, url)
    driver = InProcessDriver(conf, parsed, default_exchange=conf.control_exchange)
    return RPCTransport(driver)
