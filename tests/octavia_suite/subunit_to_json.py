"""Read a subunit v2 stream on stdin, write ``{test_id: {"status": ..., "detail": ...}}`` as JSON.

Runs with the Python of ``tests/peers/.venv`` (which has python-subunit and testtools, as tempest
needs them), called by :mod:`tests.octavia_suite.tempest_run`; lbaas's own environment does not
need either. ``status`` is subunit's: ``success``, ``fail``, ``skip``, ``xfail``, ``uxsuccess``;
``detail`` is the skip reason or the failure's traceback and captured log.
"""

from __future__ import annotations

import json
import sys

import subunit
import testtools


def _text(details: dict, *names: str) -> str:
    parts = []
    for name in names:
        content = details.get(name)
        if content is not None:
            parts.append(content.as_text())
    return "\n".join(parts)


def main() -> int:
    results: dict[str, dict[str, str]] = {}

    def on_test(test: dict) -> None:
        details = test["details"]
        if test["status"] == "skip":
            detail = _text(details, "reason")
        else:
            detail = _text(details, "traceback", "pythonlogging:''")
        results[test["id"]] = {"status": test["status"], "detail": detail}

    stream = subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout")
    collector = testtools.StreamToDict(on_test)
    collector.startTestRun()
    stream.run(collector)
    collector.stopTestRun()
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
