"""keepalived (VRRP) for ACTIVE_STANDBY load balancers: which copy holds the VIP.

An ACTIVE_STANDBY load balancer runs as two copies (:mod:`lbaas.core.amphora`) on two agents.
Each copy's namespace ``qlbaas-<lb_id>`` has ``eth0`` with the copy's own ``vrrp_ip`` (plugged by
the agent) and a haproxy binding the VIP whether it holds it or not (``ip_nonlocal_bind``). A
keepalived in each namespace moves the VIP (and the tree's source addresses) to one copy: the one
elected MASTER, as long as its haproxy answers.

* :mod:`.config`: :func:`~.config.render_keepalived_config` turns the tree, this copy, its peer
  and the ``[keepalived]`` timings (:class:`~.config.VrrpSettings`) into keepalived.conf, every
  value checked.
* :mod:`.process`: :class:`~.process.KeepalivedProcess` validates and installs the config,
  starts keepalived in the namespace or reloads it, stops it, reads the copy's VRRP role
  (``role``), and removes a VIP that a killed keepalived left behind (``release_vip``).
* :mod:`.scripts`: the check (does this copy's haproxy answer on its stats socket?) and the
  notify script (records each VRRP state change) keepalived runs.
* :mod:`.paths`: where its files live (next to haproxy's, in the load balancer's state
  directory; the shared scripts in ``<state_path>/keepalived-scripts/``).

Called by the agent's namespace driver (:mod:`lbaas.drivers.haproxy.namespace_driver`) for the
load balancers whose tree names a copy on its host: after plugging ``eth0`` and applying
haproxy's config it renders and applies keepalived's, and it reads ``role()`` for the agent's
reports. Imports only :mod:`lbaas.core` and :mod:`lbaas.drivers`.
"""
