"""One typer sub-app per API resource (``lbaas loadbalancer …``, ``lbaas listener …``, …);
:mod:`.generic` makes the commands that are alike for all of them."""
