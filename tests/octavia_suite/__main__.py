"""``python -m tests.octavia_suite``: run octavia-tempest-plugin's API tests against lbaas.

Starts Keystone and an ``lbaas server`` (see :mod:`tests.octavia_suite.stack`), runs every
``api.v2`` test (or those matching ``--regex``), prints failures and skips by reason, and exits
1 when a test failed or was skipped for a reason ``docs/compatibility.md`` does not name.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from tests.octavia_suite.expectations import ALL_API_TESTS, unexplained_skips
from tests.octavia_suite.stack import OctaviaSuiteStack


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.octavia_suite", description=__doc__)
    parser.add_argument("--regex", action="append",
                        help="Run only tests matching this regex (repeatable). Default: all "
                             "api.v2 tests.")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workdir", type=Path,
                        help="Keep the workspace, logs and results here (must not exist).")
    args = parser.parse_args(argv)
    if args.workdir:
        args.workdir.mkdir(parents=True)
    with OctaviaSuiteStack(args.workdir) as stack:
        result = stack.run(args.regex or ALL_API_TESTS, concurrency=args.concurrency)
    for name, outcome in sorted(result.failed.items()):
        print(f"FAILED {name}\n{outcome.detail[-3000:]}\n")
    reasons = Counter(outcome.detail.strip() for outcome in result.skipped.values())
    for reason, count in reasons.most_common():
        print(f"skipped {count:4d}: {reason}")
    unexplained = unexplained_skips(result)
    for name, reason in sorted(unexplained.items()):
        print(f"UNEXPLAINED SKIP {name}: {reason}")
    print(result.summary())
    return 1 if result.failed or unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
