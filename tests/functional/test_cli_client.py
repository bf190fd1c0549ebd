"""The ``lbaas`` CLI's API client (lbaas.cli.client) and option parsers (lbaas.cli.params) on
their own, no server: endpoint normalization, following ``next`` links, API errors, and
``KEY=VALUE`` options."""

from __future__ import annotations

import httpx
import pytest

from lbaas.cli.client import ApiClient, ApiError, normalize_endpoint
from lbaas.cli.params import parse_pairs, parse_persistence, tags_after_set

# --- the client on its own -----------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["http://h:9876", "http://h:9876/", "http://h:9876/v2",
                                      "http://h:9876/v2.0/", "http://h:9876/v2/lbaas"])
def test_client_endpoint_with_version_suffix_is_normalized(endpoint: str) -> None:
    assert normalize_endpoint(endpoint) == "http://h:9876"


def test_client_list_follows_next_links() -> None:
    pages = {None: (["a", "b"], "b"), "b": (["c"], None)}

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.params["name"] == "web"
        ids, marker = pages[request.url.params.get("marker")]
        links = [{"rel": "next", "href": f"http://elsewhere/v2/lbaas/pools?marker={marker}"}
                 ] if marker else []
        return httpx.Response(200, json={"pools": [{"id": i} for i in ids],
                                         "pools_links": links})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    assert [p["id"] for p in api.list("/pools", "pools", {"name": "web"})] == ["a", "b", "c"]


def test_client_error_carries_faultstring_and_status() -> None:
    def handler(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(409, json={"faultcode": "Client", "faultstring": "busy",
                                         "debuginfo": None})

    api = ApiClient("http://lbaas.test", "t", transport=httpx.MockTransport(handler))
    with pytest.raises(ApiError) as caught:
        api.get("/loadbalancers")
    assert (caught.value.message, caught.value.status, str(caught.value)) == (
        "busy", 409, "busy (HTTP 409)")


def test_option_parsers_split_key_values() -> None:
    assert parse_pairs(["X-Forwarded-For=true,X-Forwarded-Port=true"], "h") == {
        "X-Forwarded-For": "true", "X-Forwarded-Port": "true"}
    assert parse_persistence("type=source_ip,persistence_timeout=60") == {
        "type": "SOURCE_IP", "persistence_timeout": 60}
    assert tags_after_set(["a"], ["b", "a"], clear=False) == ["a", "b"]
    assert tags_after_set(["a"], None, clear=True) == []
    assert tags_after_set(["a"], None, clear=False) is None
