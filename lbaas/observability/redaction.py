"""Keeps RPC message bodies out of log lines.

oslo.messaging's drivers log whole messages below INFO: a reply that arrives for a call nobody
waits for any more (DEBUG, ``amqpdriver``), every message published or received (TRACE,
``impl_rabbit``). The agent's trees travel in those messages, with the private keys of TLS
listeners and pools, so :class:`RpcBodyFilter` replaces the body arguments of every
oslo.messaging record with a placeholder (the rest of the line stays: ids, topics,
exchanges). :func:`lbaas.observability.logging.setup_logging` adds it to the process's handler.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

HIDDEN = "<message body not logged>"
RPC_LOGGERS = ("oslo_messaging", "oslo.messaging")
"""oslo.messaging's loggers: its modules' own names, or as oslo.log spells them
(``oslo.messaging._drivers.impl_rabbit``)."""
BODY_KEYS = frozenset({"msg", "message"})
"""Keys of the ``%(name)s`` arguments that hold a message body in oslo.messaging's lines."""


class RpcBodyFilter(logging.Filter):
    """Replaces the message bodies in the arguments of oslo.messaging's records: a mapping
    passed positionally (a message is a dict), or a ``msg``/``message`` named argument."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(RPC_LOGGERS):
            return True
        args = record.args
        if isinstance(args, Mapping) and "%(" in str(record.msg):
            record.args = {key: HIDDEN if key in BODY_KEYS else value
                           for key, value in args.items()}
        elif isinstance(args, Mapping):  # a lone dict argument (logging unwraps it): a body
            record.args = (HIDDEN,)
        elif isinstance(args, tuple):
            record.args = tuple(HIDDEN if isinstance(arg, Mapping) else arg for arg in args)
        return True
