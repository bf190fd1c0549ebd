"""One typer sub-app per API resource (``lbaas loadbalancer …``, ``lbaas listener …``, …)."""
