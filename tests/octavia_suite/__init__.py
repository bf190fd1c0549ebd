"""Octavia's own API test suite (octavia-tempest-plugin's ``api.v2`` tests) run against lbaas.

``stack.py`` starts a real Keystone and a real ``lbaas server``; ``tempest_run.py`` writes the
tempest workspace, runs the tests (tempest lives in ``tests/peers/.venv``) and reads the results;
``expectations.py`` says which tests CI runs and which skips are allowed (each one a feature
named in ``docs/compatibility.md``). ``test_octavia_api.py`` is the CI test;
``python -m tests.octavia_suite`` runs the whole suite by hand.
"""
