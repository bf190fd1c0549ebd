"""Pure renderer of haproxy.cfg (HAProxy 2.6) for one load balancer.

Called by the device driver (:mod:`.namespace_driver`), which hands the text to the process
manager (:mod:`.process`): it writes ``haproxy.cfg.new``, checks it with ``haproxy -c`` and reloads.
No file or network I/O happens here apart from reading the templates.

Two steps, as in Octavia's ``jinja_cfg``:

1. :func:`lbaas.drivers.haproxy.view.build_view` turns the tree into plain dicts that hold only
   validated values (ids, numbers, HAProxy keywords, and tenant strings that passed their grammar
   check in :mod:`.escaping`). What is rendered and what is skipped is described in
   :mod:`.view_selection`, :mod:`.view_frontends` and :mod:`.view_backends`.
2. :func:`render_haproxy_config` (this module) lays the view out with ``templates/base.j2`` and
   ``macros.j2``, quoting tenant strings with the ``q`` filter (:func:`.escaping.quote`).

Anything that cannot be rendered safely raises :class:`.escaping.UnsafeConfigValue`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path

import jinja2

from lbaas.core.tree import AmphoraNode, LoadBalancerTree
from lbaas.drivers.haproxy import escaping as esc
from lbaas.drivers.haproxy import logs
from lbaas.drivers.haproxy.tls_files import TlsFiles
from lbaas.drivers.haproxy.view import DEFAULT_MAX_CONNECTIONS, ConfigRuntimePaths, build_view

__all__ = ["render_haproxy_config"]


def render_haproxy_config(
    tree: LoadBalancerTree,
    paths: ConfigRuntimePaths,
    *,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    copy: AmphoraNode | None = None,
    tls_files: TlsFiles | None = None,
    access_logs: bool = True,
    access_log_fields: Sequence[str] = tuple(logs.FIELDS),
) -> str:
    """Return the text of haproxy.cfg for ``tree``.

    ``max_connections`` caps the process-wide ``maxconn`` and is the limit of listeners whose
    connection_limit is unlimited. ``copy`` is the copy of an ACTIVE_STANDBY load balancer
    (one of ``tree.amphorae``) this config is for: its stick tables are then replicated to the
    other copy through a ``peers`` section (:mod:`.view`); None for a SINGLE load balancer.
    ``tls_files``: the TLS files planned for ``tree`` (:func:`.tls_files.plan_tls_files`), whose
    paths the config names. ``access_logs``: False logs no listener's requests (haproxy's own
    events still go to ``paths.log_socket``); ``access_log_fields`` are the fields of its lines.
    Raises :class:`.escaping.UnsafeConfigValue` when a value cannot be written safely.
    """
    view = build_view(tree, paths, max_connections=max_connections, copy=copy,
                      tls_files=tls_files, access_logs=access_logs,
                      access_log_fields=access_log_fields)
    return _environment().get_template("base.j2").render(view=view)


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["q"] = esc.quote
    return env
