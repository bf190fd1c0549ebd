"""Serving the API with uvicorn, in one process or in ``[api] workers`` processes.

With several workers, uvicorn's supervisor starts each worker as a new interpreter that imports
:func:`worker_app`; the configuration reaches it through the environment (the files and the
command-line overrides, never option values such as passwords). The schema is upgraded once,
by the supervisor, before any worker starts.
"""

from __future__ import annotations

import gc
import json
import os
from collections.abc import Sequence

from fastapi import FastAPI
from oslo_config import cfg

from lbaas.config import database_url, load_config

GC_THRESHOLDS = (20_000, 50, 100)
"""Young-generation collection every 20,000 net allocations instead of 700 (Python's default)."""

WORKER_CONFIG_ENV = "LBAAS_API_WORKER_CONFIG"
"""JSON ``{"files": [...], "overrides": {...}}`` a worker process loads its configuration from."""


def serve(conf: cfg.ConfigOpts, config_files: Sequence[str],
          overrides: dict[str, dict[str, object]]) -> None:
    """Run the API until SIGINT/SIGTERM; ``conf`` was loaded from ``config_files`` and
    ``overrides`` (a worker process loads the same)."""
    import uvicorn

    from lbaas.api.app import create_app

    options = {"host": conf.api.bind_host, "port": conf.api.bind_port, "log_config": None,
               "access_log": False}
    if conf.api.workers <= 1:
        app = create_app(conf)
        tune_garbage_collector()
        uvicorn.run(app, **options)
        return
    _upgrade_schema(conf)
    os.environ[WORKER_CONFIG_ENV] = json.dumps({"files": list(config_files),
                                                "overrides": overrides})
    uvicorn.run(f"{__name__}:worker_app", factory=True, workers=conf.api.workers, **options)


def _upgrade_schema(conf: cfg.ConfigOpts) -> None:
    from lbaas.db.engine import make_engine
    from lbaas.db.migrate import upgrade

    engine = make_engine(database_url(conf), pool_size=1)
    try:
        upgrade(engine)
    finally:
        engine.dispose()


def worker_app() -> FastAPI:
    """The application of one worker process (uvicorn calls this in each worker)."""
    from lbaas.api.app import build_services, create_app
    from lbaas.observability.logging import setup_logging

    spec = json.loads(os.environ[WORKER_CONFIG_ENV])
    conf = load_config(spec["files"], spec["overrides"])
    setup_logging(conf.log_level, conf.log_json)
    app = create_app(conf, build_services(conf, migrate=False))
    tune_garbage_collector()
    return app


def tune_garbage_collector() -> None:
    """Fewer and cheaper garbage collections for a long-running server process; call once,
    after the application is built.

    What start-up loaded (modules, ORM mappings, routes, about 200,000 objects) is frozen out of
    the collector's scans, and the young generation is collected less often: a list of a
    thousand load balancers allocates tens of thousands of objects, and with the defaults each
    request triggered collections that walked the whole heap. Measured in-process: list of 200
    load balancers 7.3 -> 4.4 ms CPU, create 6.5 -> 4.6 ms.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
