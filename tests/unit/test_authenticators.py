"""The choice of authenticator by ``[api] auth_strategy`` and what the Keystone adapter shows
keystonemiddleware (``lbaas/api/auth.py``, ``lbaas/api/keystone.py``; Keystone itself is
exercised in ``tests/clients/test_keystone.py``)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import sessionmaker

from lbaas.api.auth import NoAuthenticator, TokenAuthenticator, make_authenticator
from lbaas.api.keystone import KeystoneAuthenticator, _environ
from lbaas.config import load_config
from lbaas.core.errors import NotAuthenticated


@pytest.mark.parametrize(("strategy", "kind"), [("token", TokenAuthenticator),
                                                ("noauth", NoAuthenticator),
                                                ("keystone", KeystoneAuthenticator)])
def test_strategy_picks_the_authenticator(strategy: str, kind: type) -> None:
    conf = load_config(overrides={"api": {"auth_strategy": strategy}})
    assert isinstance(make_authenticator(conf, sessionmaker()), kind)


def test_noauth_is_admin_without_io() -> None:
    identity = NoAuthenticator().cached({})
    assert identity is not None and identity.roles == ("admin",)


def test_keystone_without_token_is_401_before_any_call() -> None:
    auth = make_authenticator(load_config(overrides={"api": {"auth_strategy": "keystone"}}),
                              sessionmaker())
    assert auth.cached({"x-auth-token": "t"}) is None  # always the thread pool
    with pytest.raises(NotAuthenticated) as raised:
        auth.authenticate({}, "GET", "/v2/lbaas/loadbalancers")
    assert raised.value.challenge.startswith("Keystone")


def test_middleware_sees_only_method_path_and_tokens() -> None:
    headers = {"x-auth-token": "user-token", "x-service-token": "service-token",
               "x-identity-status": "Confirmed", "x-roles": "admin", "x-project-id": "victim",
               "authorization": "Basic eDp5"}
    environ = _environ(headers, "DELETE", "/v2/lbaas/loadbalancers/1", [])
    http = {k: v for k, v in environ.items() if k.startswith("HTTP_")}
    assert http == {"HTTP_X_AUTH_TOKEN": "user-token", "HTTP_X_SERVICE_TOKEN": "service-token"}
    assert (environ["REQUEST_METHOD"], environ["PATH_INFO"]) == ("DELETE",
                                                                 "/v2/lbaas/loadbalancers/1")
