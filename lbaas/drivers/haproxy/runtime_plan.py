"""Which config changes the running haproxy can take through its runtime API, without a reload.

Pure: the namespace driver (:mod:`.namespace_driver`) hands :func:`plan_runtime_change` the
config haproxy runs (the installed ``haproxy.cfg``, confirmed loaded) and the newly rendered one;
:mod:`.runtime_apply` carries the plan out over the stats socket. A plan exists only when the two
configs differ in the ``server`` lines of backends and nowhere else, and every difference is one
haproxy 2.6 can make at runtime:

* a server added (``add server``; HAProxy refuses dynamic servers with ``cookie`` and in
  backends whose algorithm is static, e.g. ``balance source``/``hash``): the backend must
  ``balance roundrobin`` or ``leastconn`` and persist no cookie, and the line hold no quoted
  word (the runtime CLI splits on spaces);
* a server removed (maintenance at once, then ``del server`` once its connections ended);
* a server's weight or admin state (``disabled``) changed (``set server``), in a backend whose
  algorithm takes dynamic weights.

Anything else (a listener, a monitor, TLS files, a backup flag, a server's check options) means
None: the caller reloads, which is always correct. The configs compared are our renderer's
output, so the parsing below needs no more than its line shapes: sections start at column 0,
a server line is ``server <name> <address> weight <n> [backup] [disabled] ...``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DYNAMIC_BALANCE = frozenset({"roundrobin", "leastconn"})
"""Algorithms with dynamic weights, which also accept dynamic servers."""
DRAIN_TIMEOUT_COMMENT = ["#", "lbaas:drain_timeout"]
"""The first words of the comment line that carries a backend's drain timeout (``#
lbaas:drain_timeout 30``): haproxy has no setting for it, the agent reads it here."""


@dataclass(frozen=True)
class Server:
    """One ``server`` line: its name and its keywords after the name."""

    name: str
    args: tuple[str, ...]

    @property
    def weight(self) -> int:
        return int(self.args[self.args.index("weight") + 1])

    @property
    def disabled(self) -> bool:
        return "disabled" in self.args

    @property
    def checked(self) -> bool:
        return "check" in self.args

    def without_runtime_fields(self) -> tuple[str, ...]:
        """The keywords the runtime API cannot change (everything but weight and disabled)."""
        index = self.args.index("weight")
        rest = self.args[:index] + self.args[index + 2:]
        return tuple(arg for arg in rest if arg != "disabled")


@dataclass(frozen=True)
class Backend:
    """A backend's servers in order, whether it takes dynamic servers and weights, and its
    pool's drain timeout (seconds; 0: a drained member's connections end on their own)."""

    servers: dict[str, Server]
    dynamic_weights: bool
    dynamic_servers: bool
    drain_timeout: int = 0


@dataclass(frozen=True)
class ParsedConfig:
    """A config split into everything but the backends' server lines, and those servers."""

    skeleton: tuple[str, ...]
    backends: dict[str, Backend]


@dataclass(frozen=True)
class RuntimePlan:
    """The backends whose servers changed, each with the servers it should run.

    A plan says what to reach, not which commands to send: :mod:`.runtime_apply` compares it
    with the servers the running haproxy holds (after an agent died halfway through an earlier
    change, they are neither the old config's nor the new one's).
    """

    backends: dict[str, Backend] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.backends)


def parse_config(text: str) -> ParsedConfig:
    """Split our rendered haproxy.cfg into its skeleton and its backends' server lines."""
    skeleton: list[str] = []
    backends: dict[str, Backend] = {}
    current: str | None = None
    servers: dict[str, Server] = {}
    balance: str | None = None
    cookie = False
    drain_timeout = 0

    def close() -> None:
        if current is not None:
            dynamic = balance in DYNAMIC_BALANCE
            backends[current] = Backend(dict(servers), dynamic, dynamic and not cookie,
                                        drain_timeout)

    for line in text.splitlines():
        if line and not line[0].isspace():
            close()
            words = line.split()
            current = words[1] if words[0] == "backend" and len(words) > 1 else None
            servers, balance, cookie, drain_timeout = {}, None, False, 0
            skeleton.append(line)
            continue
        words = line.split()
        if current is not None and words[:2] == DRAIN_TIMEOUT_COMMENT and len(words) == 3:
            drain_timeout = int(words[2])  # the agent's, not haproxy's: no reload for it
            continue
        if current is not None and words[:1] == ["server"] and "weight" in words:
            servers[words[1]] = Server(words[1], tuple(words[2:]))
            continue
        if current is not None and words[:1] == ["balance"]:
            balance = words[1] if len(words) == 2 else None
        elif current is not None and words[:1] == ["cookie"]:
            cookie = True
        skeleton.append(line)
    close()
    return ParsedConfig(tuple(skeleton), backends)


def cli_safe(args: tuple[str, ...]) -> bool:
    """Whether ``args`` pass through the runtime CLI's word splitting unchanged (it knows no
    quotes: a quoted file name, e.g. a re-encrypting pool's CA, means a reload instead)."""
    return not any(char in arg for arg in args for char in "\"'\\")


def plan_runtime_change(running: str, wanted: str) -> RuntimePlan | None:
    """The backends to change at runtime to turn ``running`` into ``wanted``; an empty plan
    when they differ in nothing haproxy runs (e.g. server order); None when a reload is
    needed."""
    old, new = parse_config(running), parse_config(wanted)
    if old.skeleton != new.skeleton or old.backends.keys() != new.backends.keys():
        return None
    plan = RuntimePlan()
    for name, before in old.backends.items():
        after = new.backends[name]
        if before.servers == after.servers:
            continue
        if not after.dynamic_weights:
            return None
        for server in after.servers.values():
            previous = before.servers.get(server.name)
            if previous is None:
                if not after.dynamic_servers or not cli_safe(server.args):
                    return None
            elif previous.without_runtime_fields() != server.without_runtime_fields():
                return None
        plan.backends[name] = after
    return plan
