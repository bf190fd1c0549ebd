"""Benchmarks of lbaas. Each one prints ratios against a baseline measured in the same run.

``bench.api``: the Octavia v2 API (create, show and list load balancers) on SQLite and PostgreSQL.
``bench.common``: helpers shared by the benchmarks (percentiles, result tables, throwaway servers).
"""
