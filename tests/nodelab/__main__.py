"""``python -m tests.nodelab up --nodes 3``: the node lab for a person (``make lab``).

Starts the lab (RabbitMQ, PostgreSQL, two ``lbaas server``, N network nodes, backends
``web01``/``web02``, a client) and a demo load balancer, prints the API URLs, the tokens, a
``clouds.yaml`` and how to reach everything, then stays in the foreground reading commands from
stdin (``help`` lists them: lose/back/kill-agent/start-agent a node, kill/start a server, restart
the broker or the database, status, curl the demo VIP, quit). Ctrl-C, SIGTERM or ``quit`` tear
everything down; with stdin closed it waits for a signal.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import yaml

from tests.nodelab.lab import NodeLab

HELP = """commands (N is a node or server number):
  status            servers, nodes, agents, load balancers, namespaces
  curl              four requests from the client to the demo VIP
  lose N            lose node N (network cut, agent and haproxies killed)
  back N            node N comes back (agent starts first, then its network)
  kill-agent N      SIGKILL the agent of node N (haproxy keeps serving)
  start-agent N     start the agent of node N again
  cut N / restore N set node N's uplinks down / up (processes keep running)
  kill-server N     SIGKILL server N (and its workers)
  start-server N    start server N again
  restart-rabbit    restart RabbitMQ (same data)
  restart-postgres  restart PostgreSQL
  quit              tear everything down"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tests.nodelab",
                                     description="A lab of several lbaas network nodes.")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the lab and stay in the foreground")
    up.add_argument("--nodes", type=int, default=3)
    up.add_argument("--servers", type=int, default=2)
    up.add_argument("--workers", type=int, default=1, help="[api] workers of each server")
    up.add_argument("--agent-down-time", type=int, default=None,
                    help="[housekeeping] agent_down_time of the servers (default: lbaas's)")
    up.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    up.add_argument("--no-demo", action="store_true", help="no demo load balancer")
    return parser


def _write_clouds(lab: NodeLab) -> str:
    path = lab.workdir / "clouds.yaml"
    clouds = {"clouds": {f"nodelab-{i}": {"auth_type": "admin_token", "auth": {
        "endpoint": lab.servers.url(i), "token": lab.admin_token}}
        for i in lab.servers.numbers}}
    path.write_text(yaml.safe_dump(clouds))
    path.chmod(0o600)
    return str(path)


def _banner(lab: NodeLab, demo: dict[str, Any] | None) -> str:
    assert lab.client is not None
    client = f"ip netns exec {lab.client.namespace}"
    lines = [f"node lab {lab.tag} is up in {lab.timings['up']:.1f}s "
             f"(work directory: {lab.workdir})", ""]
    lines += [f"server-{i}:  {lab.servers.url(i)}   (log {lab.servers.log(i)})"
              for i in lab.servers.numbers]
    lines += [f"admin token:   {lab.admin_token}",
              f"member token:  {lab.member_token}   (project lab-tenant)",
              f"RabbitMQ:      {lab.broker.transport_url}",
              f"PostgreSQL:    {lab.database_url}",
              f"clouds.yaml:   {_write_clouds(lab)}   (clouds nodelab-1, nodelab-2, ...)", ""]
    for node in lab.nodes:
        lines.append(f"{node.name}: {' '.join(node.exec_argv())} bash   "
                     f"(config {node.config}, log {node.log})")
    lines += ["", f"backends: {', '.join(f'{n} {h.address}' for n, h in lab.backends.items())}"
              f"; client {lab.client.address}"]
    if demo:
        vip = demo["vip_address"]
        lines += [f"demo load balancer 'demo' (VIP {vip}, on "
                  f"{lab.hosting_node(demo['id']).name}):",
                  f"  {client} curl -s http://{vip}/"]
    lines += ["", "curl -s -H 'X-Auth-Token: <admin token>' "
              f"{lab.servers.url(1)}/v2.0/agents | python3 -m json.tool", "", HELP]
    return "\n".join(lines)


def _commands(lab: NodeLab, vip: str | None) -> dict[str, Callable[[int], Any]]:
    def curl(_: int) -> None:
        if vip is None:
            print("no demo load balancer")
            return
        for _i in range(4):
            try:
                print(" ", lab.answers(vip, 1)[0])
            except Exception as exc:
                print("  no answer:", exc)

    return {
        "status": lambda _: print(lab.status()),
        "curl": curl,
        "lose": lambda n: lab.node(n).lose(),
        "back": lambda n: print("network restored on:", lab.node(n).come_back()),
        "kill-agent": lambda n: lab.node(n).kill_agent(),
        "start-agent": lambda n: lab.node(n).start_agent(),
        "cut": lambda n: lab.node(n).cut_network(),
        "restore": lambda n: lab.node(n).restore_network(),
        "kill-server": lambda n: lab.servers.kill(n),
        "start-server": lambda n: lab.servers.start(n),
        "restart-rabbit": lambda _: lab.broker.restart(),
        "restart-postgres": lambda _: lab.restart_postgres(),
    }


def _serve(lab: NodeLab, vip: str | None) -> None:
    commands = _commands(lab, vip)
    while True:
        print("nodelab> ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:  # stdin closed: run until a signal
            print()
            signal.pause()
            continue
        words = line.split()
        if not words:
            continue
        if words[0] in ("quit", "exit"):
            return
        if words[0] not in commands:
            print(HELP)
            continue
        began = time.monotonic()
        try:
            commands[words[0]](int(words[1]) if len(words) > 1 else 1)
        except Exception as exc:
            print(f"failed: {exc}")
        else:
            print(f"done in {time.monotonic() - began:.1f}s")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"starting a lab of {args.nodes} nodes and {args.servers} servers ...", flush=True)
    lab = NodeLab(nodes=args.nodes, servers=args.servers, api_workers=args.workers,
                  housekeeping={} if args.agent_down_time is None
                  else {"agent_down_time": args.agent_down_time},
                  keep_workdir=args.keep)
    try:
        lab.start()
        demo = None if args.no_demo else lab.create_lb("demo")
        vip = demo["vip_address"] if demo else None
        if vip:
            lab.wait_serving(vip)
        print(_banner(lab, demo), flush=True)
        _serve(lab, vip)
    except KeyboardInterrupt:
        print("\ninterrupted", flush=True)
    finally:
        # A second Ctrl-C must not cut the teardown short.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("tearing down ...", flush=True)
        lab.close()
        print(f"torn down in {lab.timings.get('down', 0):.1f}s; nothing left behind", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
