"""The two shell scripts keepalived runs for every load balancer of the host.

* The check (``vrrp_script``, every ``check_interval``): does this copy's haproxy answer on its
  stats socket? ``show info`` through socat, and the answer must carry haproxy's ``Name:`` line.
  A copy whose check fails ``check_fall`` times in a row goes to FAULT and gives up the VIP.
  Argument: the socket path.
* The notify (``notify``, at every VRRP state change): writes the new state (MASTER, BACKUP,
  FAULT or STOP) into the copy's state file, atomically (a temporary file, then ``mv``), where
  :meth:`lbaas.drivers.keepalived.process.KeepalivedProcess.role` reads it. keepalived appends
  ``INSTANCE <name> <state> <priority>`` to the configured arguments (the state file path).
  keepalived does not wait for one notify to finish before the next: two changes within a few
  milliseconds could land out of order (VRRP's own changes are an advert interval apart or
  more).

Both are POSIX sh with a fixed PATH (keepalived passes its own environment on), written 0700
root into a directory of root's that nobody else may write (``enable_script_security``). They
take every variable part as an argument, so one copy of each serves every load balancer and
tenant input never reaches them (the renderer checks the arguments it writes).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from lbaas.drivers.keepalived.paths import KeepalivedPaths

CHECK_SCRIPT_TEXT = """\
#!/bin/sh
# lbaas: keepalived check. Succeeds when the haproxy behind stats socket $1 answers.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
sock=$1
[ -S "$sock" ] || exit 1
info=$(echo "show info" | socat -t 1 -T 1 - "UNIX-CONNECT:$sock" 2>/dev/null) || exit 1
case $info in
*"Name: HAProxy"*) exit 0 ;;
esac
exit 1
"""

NOTIFY_SCRIPT_TEXT = """\
#!/bin/sh
# lbaas: keepalived notify. Records the VRRP state in file $1; keepalived appends
# INSTANCE|GROUP <name> <state> <priority>.
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
file=$1
state=$4
case $state in
MASTER|BACKUP|FAULT|STOP) ;;
*) exit 0 ;;
esac
tmp="$file.tmp.$$"
umask 077
printf '%s\\n' "$state" >"$tmp" && mv -f "$tmp" "$file"
"""

SCRIPTS = {
    "check_script": CHECK_SCRIPT_TEXT,
    "notify_script": NOTIFY_SCRIPT_TEXT,
}


def install_scripts(paths: KeepalivedPaths) -> bool:
    """Write both scripts (0700) into ``paths.scripts_directory`` (0755) unless they are there
    already with this content and mode. Returns True when something was written.

    Each script is replaced by a rename: a keepalived running it meanwhile sees the old or the
    new file, never half of one.
    """
    directory = paths.scripts_directory
    directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    if directory.stat().st_mode & 0o7777 != 0o755:
        os.chmod(directory, 0o755)
    changed = False
    for attribute, text in SCRIPTS.items():
        target: Path = getattr(paths, attribute)
        try:
            same = target.read_text() == text and target.stat().st_mode & 0o7777 == 0o700
        except OSError:
            same = False
        if same:
            continue
        # A name of its own: agents apply several load balancers at once.
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.")
        try:
            try:
                os.fchmod(fd, 0o700)
                os.write(fd, text.encode())
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        changed = True
    return changed
