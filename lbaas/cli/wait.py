"""``--wait``: poll a load balancer until its provisioning settles, with a spinner on stderr."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Console

from lbaas.cli.client import ApiClient, ApiError, CliError
from lbaas.cli.kinds import LOADBALANCER
from lbaas.core.status import Provisioning

DEFAULT_WAIT_TIMEOUT = 300.0
FIRST_INTERVAL = 0.05
MAX_INTERVAL = 2.0


class WaitError(CliError):
    """The load balancer went into ERROR, or did not settle in time."""


def wait_for_loadbalancer(api: ApiClient, lb_id: str, timeout: float = DEFAULT_WAIT_TIMEOUT,
                          *, gone: bool = False, console: Console | None = None,
                          sleep: Callable[[float], None] = time.sleep) -> dict[str, Any] | None:
    """Poll load balancer ``lb_id`` until it is ACTIVE (returned), or deleted when ``gone``.

    Raises :class:`WaitError` naming the last status when it goes into ERROR or ``timeout``
    seconds pass. The spinner is drawn on stderr only, so stdout stays machine-readable.
    """
    console = console or Console(stderr=True)
    goal = "deleted" if gone else Provisioning.ACTIVE
    deadline = time.monotonic() + timeout
    interval = FIRST_INTERVAL
    with console.status(f"Waiting for load balancer {lb_id} to be {goal}…") as spinner:
        while True:
            lb = _fetch(api, lb_id, gone)
            status = Provisioning.DELETED if lb is None else str(lb["provisioning_status"])
            if gone and status == Provisioning.DELETED:
                return None
            if not gone and status == Provisioning.ACTIVE:
                return lb
            if status == Provisioning.ERROR:
                raise WaitError(f"Load balancer {lb_id} is in provisioning status ERROR.")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WaitError(f"Timed out after {timeout:g} s waiting for load balancer "
                                f"{lb_id} to be {goal}; its provisioning status is {status}.")
            spinner.update(f"Waiting for load balancer {lb_id} to be {goal}: {status}")
            sleep(min(interval, remaining))
            interval = min(interval * 1.5, MAX_INTERVAL)


def _fetch(api: ApiClient, lb_id: str, gone: bool) -> dict[str, Any] | None:
    """The load balancer, or ``None`` when it is gone and that is what we wait for."""
    try:
        return dict(api.get(LOADBALANCER.item_path(lb_id))[LOADBALANCER.key])
    except ApiError as exc:
        if gone and exc.status == 404:
            return None
        raise
