"""Rows the amphora API tests need that the noop provider never writes: agents (as their
heartbeats would register them) and the two copies of an ACTIVE_STANDBY load balancer (as the
haproxy provider places them), written straight into the API's database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import update

from lbaas.db import models
from lbaas.db.engine import write_session
from tests.functional.harness import Api

ACTIVE_STANDBY = "ACTIVE_STANDBY"


def add_agent(api: Api, host: str, zone: str = "nova", silent_for: float = 0.0) -> str:
    """An agent on ``host`` in availability zone ``zone``, last heard ``silent_for`` seconds
    ago; its id."""
    heard = models.utcnow() - dt.timedelta(seconds=silent_for)
    agent = models.Agent(id=models.new_id(), host=host, availability_zone=zone,
                         heartbeat_timestamp=heard, started_at=heard, created_at=heard)
    with write_session(api.services.sessions) as session:
        session.add(agent)
    return agent.id


def add_copies(api: Api, lb_id: str, agent_ids: Sequence[str],
               roles: Sequence[str | None] = ("MASTER", "BACKUP"),
               vrrp_ips: Sequence[str] = ("10.20.0.201", "10.20.0.202")) -> list[str]:
    """The two copies of load balancer ``lb_id`` (made ACTIVE_STANDBY) on ``agent_ids``, built
    (ALLOCATED) with ``roles``; their ids, by position."""
    copies = [models.Amphora(id=models.new_id(), load_balancer_id=lb_id, position=position,
                             agent_id=agent_ids[position], status="ALLOCATED",
                             role=roles[position], vrrp_ip=vrrp_ips[position],
                             vrrp_port_id=models.new_id(), vrrp_priority=(100, 90)[position],
                             revision=1,
                             created_at=models.utcnow() + dt.timedelta(microseconds=position))
              for position in (0, 1)]
    with write_session(api.services.sessions) as session:
        session.execute(update(models.LoadBalancer).where(models.LoadBalancer.id == lb_id)
                        .values(topology=ACTIVE_STANDBY))
        session.add_all(copies)
    return [copy.id for copy in copies]


def set_loadbalancer(api: Api, lb_id: str, **values: Any) -> None:
    """Set columns of a load balancer's row (a status, its agent) behind the API's back."""
    with write_session(api.services.sessions) as session:
        session.execute(update(models.LoadBalancer).where(models.LoadBalancer.id == lb_id)
                        .values(**values))
