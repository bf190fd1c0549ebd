"""What an agent tells Prometheus: its operators' endpoint and its tenants' PROMETHEUS listeners.

* :mod:`.endpoint` serves ``GET /metrics`` on ``[agent] metrics_listen``; :mod:`.collector` reads
  every deployed load balancer's HAProxy exporter and :mod:`.exposition` relabels the series
  with listener, pool, member, load balancer and project ids; :mod:`.counters` holds the agent's
  own health (counted by the manager and by :mod:`.metered_plugin` around its RPC calls).
* :mod:`.prometheus_listener` answers the PROMETHEUS listeners of the agent's load balancers
  under Octavia's names.
* :mod:`.server_thread` runs both HTTP services on threads of their own.

All started and stopped by :class:`lbaas.agent.service.AgentService`.
"""
