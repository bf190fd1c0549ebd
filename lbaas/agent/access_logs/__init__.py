"""Tenant access logs on the agent: haproxy's log lines in, JSON lines per load balancer out.

haproxy sends its lines to the agent's datagram socket (formats and parsing:
:mod:`lbaas.drivers.haproxy.logs`); :mod:`.receiver` reads them, writes access lines with
:mod:`.files` and forwards them with :mod:`.forwarder`, and hands health-check events to the
``lbaas.admin`` logger. :class:`.receiver.AccessLogService` is started by the agent service
(:mod:`lbaas.agent.service`).
"""
