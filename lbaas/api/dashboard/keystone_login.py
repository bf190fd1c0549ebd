"""Password sign-in for the dashboard when ``[api] auth_strategy = keystone``.

The browser cannot ask Keystone itself (another origin, and the page's Content-Security-Policy
allows only its own), so ``POST /dashboard/api/login`` (``routes.py``) hands the credentials to
:func:`password_login`, which asks Keystone for a project-scoped token with keystoneauth1 and
returns it to the page. The password is used for that one call and neither kept nor logged.
"""

from __future__ import annotations

from dataclasses import dataclass

from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from oslo_config import cfg

from lbaas.core.errors import InvalidInput, NotAuthenticated, ServiceUnavailable

TIMEOUT = 10.0
"""Seconds to wait for Keystone."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"


@dataclass(frozen=True)
class SignedIn:
    token: str
    expires_at: str
    """ISO 8601, as Keystone gave it."""
    project_id: str
    project_name: str
    roles: tuple[str, ...]


def keystone_url(conf: cfg.ConfigOpts) -> str:
    """Keystone's public endpoint: ``[keystone_authtoken] www_authenticate_uri`` (the one
    clients are told to authenticate at), else its ``auth_url``."""
    try:
        section = conf.keystone_authtoken
        url = section.www_authenticate_uri or section.auth_url
    except (cfg.NoSuchOptError, cfg.NoSuchGroupError):
        url = None
    if not url:
        raise ServiceUnavailable("Keystone sign-in is not configured: [keystone_authtoken] "
                                 "www_authenticate_uri is empty.")
    return str(url)


def password_login(conf: cfg.ConfigOpts, credentials: Credentials) -> SignedIn:
    """A project-scoped Keystone token for ``credentials`` (401 when Keystone refuses them,
    503 when it cannot be reached). Blocking: call it on the thread pool."""
    for name in ("username", "password", "project_name"):
        if not getattr(credentials, name):
            raise InvalidInput(f"Invalid input for field/attribute {name}. It must not be empty.")
    auth = v3.Password(auth_url=keystone_url(conf), username=credentials.username,
                       password=credentials.password, project_name=credentials.project_name,
                       user_domain_name=credentials.user_domain_name,
                       project_domain_name=credentials.project_domain_name)
    session = ks_session.Session(auth=auth, timeout=TIMEOUT)
    try:
        access = auth.get_access(session)
    except ks_exceptions.Unauthorized as exc:
        raise NotAuthenticated("Keystone refused these credentials: check the user name, "
                               "password, project and domains.") from exc
    except (ks_exceptions.ConnectFailure, ks_exceptions.ConnectTimeout,
            ks_exceptions.DiscoveryFailure) as exc:
        raise ServiceUnavailable("Keystone could not be reached to sign in.") from exc
    except ks_exceptions.ClientException as exc:
        raise NotAuthenticated(f"Keystone refused the sign-in: {type(exc).__name__}.") from exc
    expires = access.expires.isoformat() if access.expires else ""
    return SignedIn(token=access.auth_token or "", expires_at=expires,
                    project_id=access.project_id or "", project_name=access.project_name or "",
                    roles=tuple(access.role_names or ()))
