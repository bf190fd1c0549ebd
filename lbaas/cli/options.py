"""Loading configuration for CLI commands."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from oslo_config import cfg

from lbaas.config import load_config

DEFAULT_CONFIG = Path("/etc/lbaas/lbaas.conf")


def config_paths(files: Sequence[Path] | None) -> list[str]:
    """The configuration files to load: ``--config-file`` values, or the default file if it
    exists. Exits with a message when a named file does not exist."""
    paths = [str(p) for p in files or []]
    if not paths and DEFAULT_CONFIG.exists():
        paths = [str(DEFAULT_CONFIG)]
    for path in paths:
        if not os.path.exists(path):
            raise SystemExit(f"configuration file {path} does not exist")
    return paths


def cli_config(files: Sequence[Path] | None, overrides: dict[str, dict[str, object]] | None = None
               ) -> cfg.ConfigOpts:
    """Configuration from ``--config-file`` (or the default file if it exists) and overrides."""
    return load_config(config_paths(files), overrides)
