"""Tests that drive a live lbaas server with the real OpenStack clients (CLI and SDK)."""
