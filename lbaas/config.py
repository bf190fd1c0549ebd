"""Configuration options (oslo.config) and the function that builds a ConfigOpts.

Options are registered on a ConfigOpts created by :func:`load_config`, never at import time, so that
tests and the all-in-one process can build as many independent configurations as they need.
``list_opts`` feeds ``oslo-config-generator`` for the sample ``etc/lbaas.conf.sample``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from oslo_config import cfg
from oslo_policy import opts as policy_opts

DEFAULT_OPTS = [
    cfg.StrOpt("state_path", default="/var/lib/lbaas",
               help="Directory for the SQLite database, haproxy state and generated configs."),
    cfg.StrOpt("host", default="",
               help="Name of this node (agents report under it). Empty: the machine's hostname."),
    cfg.StrOpt("log_level", default="INFO", help="Logging level."),
    cfg.BoolOpt("log_json", default=True, help="Emit JSON-structured log lines."),
]

API_OPTS = [
    cfg.HostAddressOpt("bind_host", default="127.0.0.1", help="Address the API listens on."),
    cfg.PortOpt("bind_port", default=9876, help="Port the API listens on (Octavia's 9876)."),
    cfg.IntOpt("workers", default=1, min=1,
               help="API worker processes of 'lbaas server' (one per core is a good start; "
                    "'lbaas up' always runs one, as its agent shares the in-process message "
                    "bus). Each worker runs its own noop provider and housekeeping; with "
                    "another provider, use a real transport_url."),
    cfg.StrOpt("auth_strategy", default="token", choices=["token", "keystone", "noauth"],
               help="'token': X-Auth-Token / HTTP Basic tokens issued by 'lbaas token create'. "
                    "'keystone': Keystone tokens, validated by keystonemiddleware's auth_token "
                    "as configured in [keystone_authtoken]; project and roles come from the "
                    "token. 'noauth': every request is admin of project 'admin' "
                    "(development only)."),
    cfg.BoolOpt("dashboard", default=True,
                help="Serve the web dashboard at /dashboard/ (a page that calls this API with "
                     "the signed-in caller's token; sign-in with a token, or with Keystone "
                     "credentials under auth_strategy = keystone). False: /dashboard answers "
                     "404."),
    cfg.StrOpt("default_provider", default="haproxy",
               help="Provider used when a load balancer does not name one ('noop' for an "
                    "API-only deployment)."),
    cfg.ListOpt("enabled_providers", default=["noop", "haproxy"],
                help="Providers tenants may choose."),
    cfg.StrOpt("default_topology", default="SINGLE", choices=["SINGLE", "ACTIVE_STANDBY"],
               help="Topology of a load balancer whose flavor does not say "
                    "(loadbalancer_topology): SINGLE (one copy) or ACTIVE_STANDBY (two copies "
                    "on two agents, keepalived moving the VIP between them)."),
    cfg.IntOpt("pagination_max_limit", default=1000, min=1,
               help="Largest page a list request returns."),
    cfg.StrOpt("public_endpoint", default="",
               help="Base URL put into links. Empty: derived from the request."),
]

DATABASE_OPTS = [
    cfg.StrOpt("connection", default="",
               help="SQLAlchemy URL. Empty: sqlite:///<state_path>/lbaas.sqlite.", secret=True),
    cfg.IntOpt("pool_size", default=10, help="Connection pool size (server databases)."),
]

QUOTA_OPTS = [
    cfg.IntOpt(f"default_{name}_quota", default=-1, min=-1,
               help=f"Default {name.replace('_', ' ')} quota per project; -1 is unlimited.")
    for name in ("load_balancer", "listener", "pool", "member", "health_monitor",
                 "l7policy", "l7rule")
]

NOOP_OPTS = [
    cfg.FloatOpt("completion_delay", default=0.0, min=0.0,
                 help="Seconds the noop provider waits before marking objects ACTIVE "
                      "(it also gathers the changes due within 5 ms into one batch)."),
]

HOUSEKEEPING_OPTS = [
    cfg.IntOpt("pending_timeout", default=600, min=10,
               help="Seconds after which an object stuck in PENDING_* is reconciled."),
    cfg.IntOpt("interval", default=2, min=1,
               help="Seconds between housekeeping passes (one server at a time runs them: "
                    "the holder of the housekeeping lease, which lasts three intervals)."),
    cfg.IntOpt("agent_down_time", default=6, min=2,
               help="Seconds without a heartbeat after which an agent is declared dead. Its "
                    "load balancers are then rebuilt on live agents, each only once a live "
                    "agent's probe finds its VIP silent (the node is gone, not just the "
                    "agent)."),
]

AGENT_OPTS = [
    cfg.ListOpt("bridge_mappings", default=[],
                help="<network>:<linux bridge> pairs: which bridge on this host carries each "
                     "network (network given by name or id). Load balancers are only scheduled "
                     "to agents that map their VIP network."),
    cfg.StrOpt("availability_zone", default="nova",
               help="The availability zone of this agent, reported with its heartbeats. An "
                    "availability zone profile of the haproxy provider with "
                    '{"agents_zone": "<zone>"} places its load balancers on agents of that '
                    "zone only."),
    cfg.FloatOpt("report_interval", default=2.0, min=0.1,
                 help="Seconds between heartbeats to the server."),
    cfg.FloatOpt("resync_interval", default=30.0, min=1.0,
                 help="Seconds between comparisons of wanted and running load balancers. A "
                      "light one refreshes only the load balancers whose revision differs "
                      "from the one this agent built (or that are not built here); see "
                      "full_resync_every."),
    cfg.IntOpt("full_resync_every", default=60, min=1,
               help="Every this many resyncs (and the first one, and the one after the server "
                    "was lost), a full one: every load balancer's tree is fetched and its "
                    "running configuration compared and repaired, whatever its revision "
                    "(drift no revision shows: a VIP or file changed by hand). It costs about "
                    "10 ms of CPU per load balancer: at 1,000 load balancers and the default "
                    "resync_interval, every 30 minutes costs 0.7 % of a core, every 5 minutes "
                    "4 %. 1: every resync is full."),
    cfg.FloatOpt("stats_interval", default=1.0, min=0.2,
                 help="Seconds between two stats passes: every load balancer's haproxy is "
                      "checked (restarted if dead), and the stats (member health, counters) "
                      "of the busy ones are read."),
    cfg.FloatOpt("stats_idle_interval", default=60.0, min=0.0, max=3600.0,
                 help="Longest time in seconds between two reads of the stats of a quiet load "
                      "balancer (the server has what the last read held). A quiet load "
                      "balancer is read again after 1, 2, 4... passes up to this; a member "
                      "health change or a logged request makes it read at the next pass, so "
                      "this bounds only how late a change nothing announces is seen (bytes of "
                      "a long connection, traffic on a listener that logs nothing). 0 or less "
                      "than stats_interval: every load balancer is read every pass."),
    cfg.IntOpt("workers", default=4, min=1,
               help="Load balancers changed in parallel (one change at a time per LB)."),
    cfg.StrOpt("haproxy_bin", default="haproxy", help="The haproxy executable."),
    cfg.IntOpt("haproxy_max_connections", default=8000, min=100,
               help="Upper bound of maxconn per haproxy (file descriptors are limited)."),
    cfg.StrOpt("metrics_listen", default="127.0.0.1:9917",
               help="host:port where the agent serves Prometheus metrics (GET /metrics) of "
                    "every load balancer it runs and of itself; [::1]:9917 for IPv6; port 0 "
                    "picks a free port (logged); empty: no metrics endpoint. Plain HTTP; "
                    "without [metrics] token_file anyone reaching it may read it: keep it "
                    "on loopback or set the token."),
]

KEEPALIVED_OPTS = [
    cfg.StrOpt("keepalived_bin", default="keepalived", help="The keepalived executable."),
    cfg.FloatOpt("advert_interval", default=0.3, min=0.1, max=40.0,
                 help="Seconds between VRRP advertisements of an ACTIVE_STANDBY pair (VRRP "
                      "version 3: hundredths of a second allowed). When the active copy's node "
                      "is lost, the standby takes over after three missed advertisements "
                      "(about 1 s at 0.3; Octavia's 1 makes it about 3.6 s); when its haproxy "
                      "check fails, at once. Shorter means more packets and wake-ups per pair "
                      "and a spurious takeover if keepalived is starved that long."),
    cfg.FloatOpt("check_interval", default=1.0, min=0.1,
                 help="Seconds between keepalived's checks that this copy's haproxy answers "
                      "on its stats socket."),
    cfg.IntOpt("check_fall", default=1, min=1,
               help="Failed checks in a row after which a copy gives up the VIP."),
    cfg.IntOpt("check_rise", default=2, min=1,
               help="Passed checks in a row after which a failed copy may hold the VIP "
                    "again."),
    cfg.FloatOpt("role_interval", default=0.5, min=0.1,
                 help="Seconds between the agent's reads of each copy's VRRP role (changes "
                      "are reported to the server)."),
]

ADMIN_LOG_OPTS = [
    cfg.StrOpt("file", default="$state_path/logs/admin.log",
               help="JSON-lines file of the agent's admin events per load balancer (deploy "
                    "results, haproxy starts and reloads with their duration, restarts of a "
                    "dead haproxy or keepalived, VRRP role changes, removals, member health "
                    "transitions), written by 'lbaas agent' and 'lbaas up' (mode 0600, its "
                    "directory 0700). The events also go to the normal log. Empty: the "
                    "normal log only."),
    cfg.IntOpt("max_bytes", default=10 * 1024 * 1024, min=1024,
               help="Size at which the admin log file is rotated."),
    cfg.IntOpt("backup_count", default=5, min=1,
               help="Rotated admin log files kept (admin.log.1 ... admin.log.N)."),
]

KEY_MANAGER_OPTS = [
    cfg.StrOpt("backend", default="builtin", choices=["builtin", "barbican"],
               help="Where the TLS certificates of listeners and pools are read. 'builtin': "
                    "lbaas's own secret store, served under /key-manager (Barbican's API; "
                    "payloads encrypted under encryption_key_file). 'barbican': a real "
                    "Barbican found in the Keystone catalog (service type key-manager) or at "
                    "[barbican] endpoint; needs [api] auth_strategy = keystone. A reference is "
                    "read with the caller's token when a listener or pool names it (so a "
                    "tenant can only use what it may read), lbaas's service user ([barbican] "
                    "auth options) is then granted read access by a Barbican ACL, and the "
                    "agents' trees are built with the service user's credentials. lbaas then "
                    "serves no /key-manager API."),
    cfg.StrOpt("encryption_key_file", default="$state_path/secret.key",
               help="File holding the key (Fernet, 32 random bytes in URL-safe base64) that "
                    "encrypts the payloads of the built-in secret store at rest. 'lbaas up' "
                    "creates it on first start; for 'lbaas server' create it once with "
                    "'lbaas secret-key create' and give every server the same file (mode "
                    "0600). Losing it loses every stored secret; rotation is not supported."),
    cfg.IntOpt("max_allowed_secret_in_bytes", default=20000, min=1,
               help="Largest payload a secret may have, as sent (Barbican's default)."),
    cfg.IntOpt("max_allowed_request_size_in_bytes", default=25000, min=1,
               help="Largest request body the secret store accepts (Barbican's default)."),
]

METRICS_OPTS = [
    cfg.StrOpt("token_file", default="",
               help="File holding the bearer token Prometheus sends to scrape /metrics "
                    "(Authorization: Bearer, from a credentials_file in Prometheus's "
                    "authorization block); mode 0600, read at start ('lbaas server' and "
                    "'lbaas agent' refuse to start if it is missing or readable by others). "
                    "One option for the API server and the agent, so that one credentials "
                    "file scrapes both jobs. 'lbaas up' sets it to $state_path/metrics.token "
                    "and creates it on first start; elsewhere create it once with 'lbaas "
                    "metrics-token create' and copy it to every server, agent and "
                    "Prometheus. Set: both /metrics answer that token (the API server also "
                    "an admin's X-Auth-Token or HTTP Basic credentials; others get 403). "
                    "Empty: the API server's /metrics answers admins only, and the agent's "
                    "is open to whoever reaches [agent] metrics_listen (loopback by default: "
                    "set this before exposing it)."),
]

BARBICAN_OPTS = [
    cfg.URIOpt("endpoint", default=None,
               help="Barbican's URL (its root, e.g. http://barbican:9311). Empty: the "
                    "key-manager endpoint of the Keystone catalog."),
    cfg.StrOpt("region_name", default=None,
               help="Region of the catalog's key-manager endpoint."),
    cfg.StrOpt("interface", default="public", choices=["public", "internal", "admin"],
               help="Interface of the catalog's key-manager endpoint."),
]
"""``[barbican]``, read when ``[key_manager] backend = barbican``. lbaas's service user comes
from keystoneauth's options in the same group (``auth_type``, ``auth_url``, ``username``...; or
those of the section ``auth_section`` names); when the group names neither ``auth_type`` nor
``auth_section``, from ``[keystone_authtoken]`` (the user that validates tokens). Session
options (``cafile``, ``insecure``, ``timeout``...) are this group's."""

ACCESS_LOG_OPTS = [
    cfg.BoolOpt("enabled", default=True,
                help="Log every request (HTTP, TERMINATED_HTTPS listeners) or connection (the "
                     "others) of every load balancer of this agent, except listeners with "
                     "'lbaas:access_log' false. haproxy sends the lines to the agent, which "
                     "writes them as JSON lines under 'directory' and forwards them to "
                     "'syslog_targets'. haproxy's health-check events reach the agent's "
                     "'lbaas.admin' log either way."),
    cfg.StrOpt("directory", default="$state_path/access_logs",
               help="Where the agent writes <load balancer id>/access.log (directories 0700, "
                    "files 0600)."),
    cfg.ListOpt("fields",
                default=["time", "project_id", "loadbalancer_id", "listener_id", "pool_id",
                         "member_id", "protocol", "client_address", "client_port",
                         "request_id", "http_method", "http_path", "http_version",
                         "http_status", "bytes_in", "bytes_out", "duration_total_ms",
                         "duration_request_ms", "duration_queue_ms", "duration_connect_ms",
                         "duration_response_ms", "termination_state", "tls_client_verify",
                         "tls_client_dn"],
                help="The fields of each JSON line, among the catalogue of "
                     "lbaas/drivers/haproxy/logs.py (FIELDS; README: Access logs). An unknown "
                     "name stops the agent at start."),
    cfg.IntOpt("max_bytes", default=10 * 1024 * 1024, min=4096,
               help="Size at which a load balancer's access.log is rotated (access.log.1 ...)."),
    cfg.IntOpt("backup_count", default=5, min=0,
               help="Rotated files kept per load balancer (0: access.log is truncated)."),
    cfg.IntOpt("keep_after_delete", default=86400, min=0,
               help="Seconds a deleted load balancer's access logs are kept after its last "
                    "line (checked every few minutes)."),
    cfg.ListOpt("syslog_targets", default=[],
                help="host:port of syslog collectors ([v6]:port for IPv6) every access line "
                     "is also sent to (RFC 5424, the JSON line as the message; each target "
                     "gets every line). Empty: no forwarding."),
    cfg.StrOpt("syslog_protocol", default="udp", choices=["udp", "tcp"],
               help="Transport to the syslog targets (tcp: RFC 6587 octet counting)."),
    cfg.StrOpt("syslog_facility", default="local0",
               choices=["user", "daemon", "local0", "local1", "local2", "local3", "local4",
                        "local5", "local6", "local7"],
               help="Syslog facility of forwarded lines (severity: info)."),
    cfg.IntOpt("syslog_queue_size", default=10000, min=1,
               help="Lines waiting to be forwarded; beyond it new lines are dropped and "
                    "counted (a lost collector never slows haproxy or the agent)."),
]
"""``[access_log]``: tenant access logs, read by the agent (:mod:`lbaas.agent.access_logs`)."""

BARBICAN_GROUP = "barbican"

OSLO_POLICY_GROUP = "oslo_policy"


def list_opts() -> list[tuple[str | None, list[Any]]]:
    """Every option, grouped, for oslo-config-generator."""
    return [
        (None, DEFAULT_OPTS),
        ("api", API_OPTS),
        ("database", DATABASE_OPTS),
        ("quotas", QUOTA_OPTS),
        ("noop_provider", NOOP_OPTS),
        ("housekeeping", HOUSEKEEPING_OPTS),
        ("agent", AGENT_OPTS),
        ("keepalived", KEEPALIVED_OPTS),
        ("admin_log", ADMIN_LOG_OPTS),
        ("key_manager", KEY_MANAGER_OPTS),
        ("metrics", METRICS_OPTS),
        ("access_log", ACCESS_LOG_OPTS),
        (BARBICAN_GROUP, [*BARBICAN_OPTS, *_barbican_auth_opts(with_plugin=True)]),
    ]


def _barbican_auth_opts(with_plugin: bool) -> list[Any]:
    """keystoneauth's session and auth options of ``[barbican]`` (with the password plugin's
    for the sample file; a running server registers a plugin's options once it loads it)."""
    from keystoneauth1 import loading

    opts = [*loading.get_session_conf_options(), *loading.get_auth_common_conf_options()]
    if with_plugin:
        opts += loading.get_auth_plugin_conf_options("password")
    return opts


RPC_THREADS = 16
"""Default ``[DEFAULT] executor_thread_pool_size``: threads of each RPC server."""


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register every lbaas option on ``conf``."""
    for group, opts in list_opts():
        if group == BARBICAN_GROUP:
            opts = [*BARBICAN_OPTS, *_barbican_auth_opts(with_plugin=False)]
        conf.register_opts(opts, group=group)
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)
    from oslo_messaging import opts as messaging_opts  # heavy: only when building a config
    from oslo_messaging._metrics import client as messaging_metrics
    from oslo_messaging._tracing import client as messaging_tracing

    for group, opts in messaging_opts.list_opts():
        conf.register_opts(opts, group=None if group == "DEFAULT" else group)
    # oslo.messaging reads these on every call but registers them only on its global CONF.
    conf.register_opts(messaging_tracing.oslo_messaging_tracing, group="oslo_messaging_tracing")
    conf.register_opts(messaging_metrics.oslo_messaging_metrics, group="oslo_messaging_metrics")
    for name, value in MESSAGING_DEFAULTS.items():
        conf.set_default(name, value)


MESSAGING_DEFAULTS: dict[str, object] = {
    # In-process messaging by default (the all-in-one); rabbit://… for agents on other hosts.
    "transport_url": "fake:/",
    "control_exchange": "lbaas",
    # Each of an RPC server's threads wakes every second while idle (futurist), and a busy
    # moment leaves all of them behind: 64 (oslo.messaging's default) cost 0.8 % of a core
    # doing nothing, per server. lbaas's handlers are short (a queue submit, a database read).
    "executor_thread_pool_size": RPC_THREADS,
}
"""oslo.messaging options whose default lbaas changes."""


def messaging_sample_defaults() -> None:
    """For ``oslo-config-generator`` (entry point ``oslo.config.opts.defaults``: lbaas): the
    sample file shows :data:`MESSAGING_DEFAULTS`. The generator lists oslo.messaging's module
    options, which have no public handle, so they are changed where they live; only the
    generator's process runs this."""
    from oslo_messaging import opts as messaging_opts

    for group, opts in messaging_opts._opts:
        if group is None:  # [DEFAULT]: not [oslo_messaging_notifications] transport_url
            cfg.set_defaults(opts, **{opt.dest: MESSAGING_DEFAULTS[opt.dest] for opt in opts
                                      if opt.dest in MESSAGING_DEFAULTS})


def load_config(config_files: Sequence[str] = (),
                overrides: dict[str, dict[str, object]] | None = None) -> cfg.ConfigOpts:
    """Build a ConfigOpts from files plus per-group overrides (``{"api": {"bind_port": 1}}``).

    Group ``"DEFAULT"`` in ``overrides`` addresses the [DEFAULT] section.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf(args=[], project="lbaas", default_config_files=list(config_files),
         default_config_dirs=[], validate_default_values=True)
    for group, values in (overrides or {}).items():
        for name, value in values.items():
            conf.set_override(name, value, group=None if group == "DEFAULT" else group)
    return conf


def database_url(conf: cfg.ConfigOpts) -> str:
    """The configured database URL, defaulting to SQLite under state_path."""
    return conf.database.connection or f"sqlite:///{conf.state_path}/lbaas.sqlite"
