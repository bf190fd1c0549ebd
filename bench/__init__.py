"""Benchmarks of lbaas. Each one prints ratios against a baseline measured in the same run.

Entry points (``python -m bench.<name>``): ``bench.api`` (the Octavia v2 API on SQLite and
PostgreSQL), the data-plane benchmarks ``bench.dataplane``, ``bench.provisioning``,
``bench.member_update``, ``bench.reload`` and ``bench.density``, and ``bench.transports`` (the
control plane on RabbitMQ against the in-process transport). The other modules are their parts;
bench/README.md lists them with their jobs.
"""
