"""The web dashboard: a single page served by the API server at ``/dashboard`` that calls the
same Octavia v2 API with the signed-in caller's token (``routes.py``: the page, its assets and
the two JSON documents the page needs besides the API; ``keystone_login.py``: password sign-in
against Keystone; ``static/``: the page itself, plain ES modules with no build step)."""
