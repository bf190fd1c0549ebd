"""The files of lbaas.drivers.keepalived outside keepalived.conf: the scripts it installs and
the check of the rule keepalived's ``enable_script_security`` applies to their paths."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lbaas.drivers.keepalived.paths import KeepalivedPaths, insecure_component
from lbaas.drivers.keepalived.scripts import (
    CHECK_SCRIPT_TEXT,
    NOTIFY_SCRIPT_TEXT,
    install_scripts,
)

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="files owned by root need root")


def test_paths_sit_next_to_haproxys_and_the_scripts_outside_the_lb_directories() -> None:
    paths = KeepalivedPaths.for_load_balancer("/var/lib/lbaas", "lb-1")
    assert paths.config == Path("/var/lib/lbaas/lbaas/lb-1/keepalived.conf")
    assert paths.haproxy_socket == Path("/var/lib/lbaas/lbaas/lb-1/haproxy.sock")
    # Every directory under <state_path>/lbaas is taken for a load balancer's.
    assert paths.scripts_directory == Path("/var/lib/lbaas/keepalived-scripts")
    assert len(set(paths.own_files())) == 6
    assert all(path.parent == paths.directory for path in paths.own_files())


def test_a_deep_state_path_moves_the_haproxy_socket_as_haproxy_does() -> None:
    deep = "/" + "d" * 90
    paths = KeepalivedPaths.for_load_balancer(deep, "lb-1")
    assert paths.haproxy_socket == Path("/run/lbaas/lb-1/haproxy.sock")


@as_root
def test_install_scripts_writes_them_once_root_only(tmp_path: Path) -> None:
    paths = KeepalivedPaths.for_load_balancer(tmp_path, "lb-1")
    assert install_scripts(paths) is True
    assert paths.check_script.read_text() == CHECK_SCRIPT_TEXT
    assert paths.notify_script.read_text() == NOTIFY_SCRIPT_TEXT
    for script in (paths.check_script, paths.notify_script):
        assert script.stat().st_mode & 0o7777 == 0o700
    assert paths.scripts_directory.stat().st_mode & 0o7777 == 0o755
    assert install_scripts(paths) is False  # unchanged: not rewritten
    # A tampered script or mode is put right.
    paths.check_script.write_text("#!/bin/sh\nexit 0\n")
    os.chmod(paths.notify_script, 0o777)
    assert install_scripts(paths) is True
    assert paths.check_script.read_text() == CHECK_SCRIPT_TEXT
    assert paths.notify_script.stat().st_mode & 0o7777 == 0o700
    assert sorted(p.name for p in paths.scripts_directory.iterdir()) == sorted(
        [paths.check_script.name, paths.notify_script.name])  # no temporary file left
    assert insecure_component(paths.check_script) is None


@as_root
def test_insecure_component_names_what_keepalived_refuses(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    script = tmp_path / "d" / "script.sh"
    script.parent.mkdir(mode=0o755)
    script.write_text("#!/bin/sh\n")
    script.chmod(0o700)
    assert insecure_component(script) is None
    script.chmod(0o702)  # world-writable file
    assert insecure_component(script) == script
    script.chmod(0o700)
    script.parent.chmod(0o777)  # world-writable directory without the sticky bit
    assert insecure_component(script) == script.parent
    script.parent.chmod(0o1777)  # with the sticky bit (as /tmp): accepted
    assert insecure_component(script) is None
    script.parent.chmod(0o755)
    os.chown(script, 1, 0)  # not owned by root
    assert insecure_component(script) == script
    os.chown(script, 0, 0)
    assert insecure_component(tmp_path / "missing.sh") == tmp_path / "missing.sh"
