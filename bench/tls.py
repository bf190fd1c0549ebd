"""TLS termination: keep-alive requests/s and new TLS handshakes/s through an lbaas load balancer
with a TERMINATED_HTTPS listener, compared in the same run with a hand-written minimal haproxy
terminating TLS with the same certificate, in front of the same backends.

    uv run python -m bench.tls [--quick] [--rsa] [--duration S] [--repeats N] [--json FILE]

Setup (see :mod:`bench.lab`): two nginx backends (one worker each, fixed 5-byte body), a client
namespace, one certificate (ECDSA P-256; ``--rsa``: RSA 2,048, whose signature makes a full
handshake several times dearer for the server) made with ``tests/tls_material.py``. The lbaas
side: the certificate stored as a PKCS12 secret through the API's Barbican-compatible secret
store, and the stack's load balancer with a TERMINATED_HTTPS listener on 443 naming it (no
ciphers, versions or ALPN: haproxy's defaults), a round-robin HTTP pool over both backends and
an HTTP health monitor every second. The hand-written side: haproxy in its own namespace
(``nbthread 1``, mode http, ``bind <ip>:443 ssl crt <pem>`` with haproxy's defaults, round robin,
no checks), started in a session of its own like the agent's haproxies (with autogroup
scheduling a session gets its own share of the CPU; the clients run in this process's). Both
haproxies run one thread with haproxy's default TLS session cache and tickets.

Three variants, the same parameters for both targets:

* ``keep-alive``: wrk over https, persistent connections (a handshake per connection, at start);
* ``resumed handshake``: wrk over https with ``-H 'Connection: close'``: a new connection and
  handshake per request. wrk **resumes** the TLS session when it reconnects (it keeps the
  session across ``SSL_clear``; TLS 1.3 tickets): apart from each connection's first, these are
  abbreviated handshakes (still an ECDHE exchange, no certificate signature);
* ``full handshake``: ``openssl s_time -new`` (``bench.s_time``), several processes at once:
  a full handshake per connection, never resumed, and one ``GET / HTTP/1.0``.

The TLS counters of each haproxy (``ssl_sess``, ``ssl_reused_sess``) are read around every run,
and the table shows the share of handshakes that were resumed, so it says what each row
measured. Each cell is measured several times with the targets interleaved (their order
alternates); the table shows medians and ratios to the hand-written haproxy. Goal
(informational): the load balancer reaches at least 0.95 of the hand-written haproxy's
keep-alive requests/s and new handshakes/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import process_cpu_seconds, sigterm_exits
from bench.lab import backend_members, backend_servers, hand_ip
from bench.run import Deadline, finish
from bench.s_time import run_s_time
from bench.servers import HandHaproxy, hand_config
from bench.stack import bench_stack
from bench.tls_report import Sample, print_rows, summarize
from bench.tls_targets import (
    TLS_PORT,
    SslCounters,
    bench_certificate,
    ssl_counters,
    store_secret,
    tls_tree,
    wait_https,
    write_pem,
)
from bench.wrk import run_wrk
from tests.netlab import Host

TARGETS = ("lbaas LB", "hand-written haproxy")
VARIANTS = ("keep-alive", "resumed handshake", "full handshake")


@dataclasses.dataclass(frozen=True)
class Params:
    duration: float
    repeats: int
    threads: int
    connections: int
    handshake_clients: int
    rsa: bool = False


FULL = Params(duration=8, repeats=5, threads=2, connections=50, handshake_clients=16)
QUICK = Params(duration=1, repeats=1, threads=2, connections=16, handshake_clients=4)


@dataclasses.dataclass
class Target:
    address: str  # ip
    stats_socket: Path
    pids: Callable[[], list[int]]


def measure_once(client: Host, target: Target, variant: str, params: Params) -> Sample:
    """One run of ``variant`` against ``target``, with the haproxy's CPU and TLS counters."""
    pids = target.pids()
    cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
    ssl_before = ssl_counters(target.stats_socket)
    if variant == VARIANTS[2]:
        hs = run_s_time(client, f"{target.address}:{TLS_PORT}",
                        processes=params.handshake_clients, duration=params.duration)
        sample = Sample(rate=hs.rate, requests=hs.connections, errors=hs.failed_processes)
    else:
        result = run_wrk(client, f"https://{target.address}:{TLS_PORT}/",
                         threads=params.threads, connections=params.connections,
                         duration=params.duration, close=variant == VARIANTS[1])
        sample = Sample(rate=result.rps, requests=result.requests, errors=result.errors,
                        p50_ms=result.p50_ms, p99_ms=result.p99_ms)
    cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
    handshakes: SslCounters = ssl_counters(target.stats_socket) - ssl_before
    sample.cpu_us_per_request = cpu / sample.requests * 1e6
    sample.full_handshakes = handshakes.full
    sample.resumed_handshakes = handshakes.resumed
    sample.failed_handshakes = handshakes.failed
    return sample


def measure(params: Params, deadline: Deadline) -> dict[str, Any]:
    samples: dict[tuple[str, str], list[Sample]] = {}
    issued = bench_certificate(use_rsa=params.rsa)
    with bench_stack() as st:
        st.backend(0, "WEB0")
        st.backend(1, "WEB1")
        client = st.client()
        hand = HandHaproxy(st.host("hp", hand_ip(0)), st.workdir, port=TLS_PORT,
                           new_session=True)
        pem = write_pem(issued, hand.directory / "bench.pem")
        hand_socket = hand.directory / "stats.sock"
        hand.write(hand_config(f"{hand_ip(0)}:{TLS_PORT}", backend_servers(2), crt=pem,
                               stats_socket=hand_socket))
        hand.check()
        hand.start()
        secret_ref = store_secret(st.api, issued)
        lb = st.post_lb(tls_tree(backend_members(2), secret_ref))
        st.wait_active(lb["id"])
        targets = {
            TARGETS[0]: Target(lb["vip_address"], st.process(lb["id"]).paths.stats_socket,
                               lambda: st.lb_pids(lb["id"])),
            TARGETS[1]: Target(hand_ip(0), hand_socket, hand.pids),
        }
        for target in targets.values():
            wait_https(client, target.address, ("WEB0", "WEB1"))
            # warm-up: connections, caches, ARP, the clients' sessions
            run_wrk(client, f"https://{target.address}:{TLS_PORT}/", threads=1,
                    connections=4, duration=1)
        for variant in VARIANTS:
            for rep in range(params.repeats):
                if deadline.expired():
                    break
                order = TARGETS if rep % 2 == 0 else TARGETS[::-1]  # alternate: spread noise
                for name in order:
                    samples.setdefault((variant, name), []).append(
                        measure_once(client, targets[name], variant, params))
                st.check_intact([lb["id"]])
        configs = {"lb_config": st.process(lb["id"]).paths.config.read_text(),
                   "hand_config": hand.config.read_text()}
    return {"samples": samples, **configs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.tls", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1 s runs, once (smoke test)")
    parser.add_argument("--rsa", action="store_true",
                        help="an RSA 2048 certificate instead of ECDSA P-256")
    parser.add_argument("--duration", type=float, help="seconds per run")
    parser.add_argument("--repeats", type=int, help="runs per target and variant")
    parser.add_argument("--connections", type=int, help="wrk connections")
    parser.add_argument("--threads", type=int, help="wrk threads")
    parser.add_argument("--handshake-clients", type=int,
                        help="openssl s_time processes at once (full handshakes)")
    parser.add_argument("--timeout", type=float, default=1200,
                        help="overall budget in seconds (default 1200)")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    params = dataclasses.replace(
        QUICK if args.quick else FULL, rsa=args.rsa,
        **{k: v for k, v in (("duration", args.duration), ("repeats", args.repeats),
                             ("connections", args.connections), ("threads", args.threads),
                             ("handshake_clients", args.handshake_clients)) if v is not None})
    warnings.filterwarnings("ignore")
    started = time.monotonic()
    with sigterm_exits():
        measured = measure(params, Deadline(args.timeout))
    rows = summarize(measured["samples"], VARIANTS, TARGETS)
    print_rows(rows, params)
    finish(started, args.json, params,
           {"rows": rows, "lb_config": measured["lb_config"],
            "hand_config": measured["hand_config"]})
    return 0


if __name__ == "__main__":
    sys.exit(main())
