"""A real Barbican as the backend of TLS secrets (``[key_manager] backend = barbican``).

Built by :func:`lbaas.services.secret_source.make_secret_source` (``build_services``); read
through the :class:`~lbaas.services.tls.SecretReader` protocol by the listener, pool and load
balancer services (the request's reader, :meth:`BarbicanSecrets.for_request`) and by
``build_tree`` for the agents (:meth:`BarbicanSecrets.read`). As Octavia's default certificate
manager (python-barbicanclient with Barbican ACLs):

- **At the API request** a reference is read with the caller's own Keystone token
  (:class:`CallerReader`): a tenant can only make lbaas use what that tenant may read. lbaas's
  service user is then added to the read ACL of the secret (of a container and each of its
  secrets), with the same token. Barbican lets only a member of the secret's own project change
  its ACL, so this second step also proves that the secret belongs to the token's project, which
  must be the object's project: a secret another project merely shared with the caller is
  refused like a missing one.
- **For the agents' trees** (no user token: an RPC from an agent) the reference is read with
  the service user's credentials (``[barbican]`` auth options, else ``[keystone_authtoken]``'s
  user), which the ACL allows. Barbican does not tell which project a secret belongs to, so
  this read cannot check ``project_id`` again; it relies on the request's check (a listener's or
  pool's references are only ever set through a request that passed it).

Any failure (missing, forbidden, malformed, Barbican unreachable) is :class:`SecretNotFound`,
which the TLS rules turn into a 400 "Could not retrieve certificate". Payloads never reach a log:
the HTTP logger given to the clients never logs bodies, and errors carry the reference only.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import loading, token_endpoint
from keystoneauth1 import session as ks_session
from oslo_config import cfg
from sqlalchemy.orm import Session

from lbaas.core.context import RequestContext
from lbaas.services.secrets import SecretNotFound, StoredContainer, StoredSecret, parse_ref

LOG = logging.getLogger(__name__)

HTTP_LOG = logging.getLogger("lbaas.barbican.http")
"""The logger keystoneauth writes the clients' requests and answers to: never below WARNING,
as its DEBUG lines would hold the answers' bodies (a payload)."""
HTTP_LOG.setLevel(logging.WARNING)

BARBICAN_GROUP = "barbican"
"""The options' group (``lbaas/config.py``: ``BARBICAN_OPTS`` and keystoneauth's)."""
DEFAULT_AUTH_SECTION = "keystone_authtoken"
"""Where the service user comes from when ``[barbican]`` names none."""
SERVICE_TYPE = "key-manager"
READ = "read"


class BarbicanUnavailable(Exception):
    """lbaas's service user could not authenticate, or Barbican could not be found."""


@dataclass(frozen=True)
class _Service:
    """The service user's session, its Keystone user id and Barbican's URL."""

    session: ks_session.Session
    user_id: str
    endpoint: str


def _client(session: ks_session.Session, endpoint: str) -> Any:
    from barbicanclient import client as barbican_client  # imported on first use only

    return barbican_client.Client(session=session, endpoint=endpoint, logger=HTTP_LOG)


def _payload(secret: Any) -> StoredSecret:
    """A barbicanclient ``Secret`` read (metadata, then payload) into a :class:`StoredSecret`."""
    payload = secret.payload
    if payload is None:
        raise ValueError("the secret has no payload")
    data = payload.encode() if isinstance(payload, str) else bytes(payload)
    content_types = secret.content_types or {}
    return StoredSecret(id=str(secret.secret_ref).rstrip("/").rsplit("/", 1)[-1], payload=data,
                        content_type=str(content_types.get("default", "")),
                        secret_type=str(secret.secret_type or ""))


def read_ref(client: Any, ref: str) -> tuple[StoredSecret | StoredContainer, list[tuple[str, str]]]:
    """Read ``ref`` with ``client``; also the (kind, uuid) of every object read (the container
    and its secrets), whose ACLs a grant extends. Raises :class:`SecretNotFound`."""
    kind, obj_id = parse_ref(ref)
    if kind is None or obj_id is None:
        raise SecretNotFound(ref)
    try:
        if kind == "secrets":
            return _payload(client.secrets.get(obj_id)), [("secret", obj_id)]
        container = client.containers.get(obj_id)
        read: list[tuple[str, str]] = [("container", obj_id)]
        parts: dict[str, StoredSecret] = {}
        for name, secret_ref in (container.secret_refs or {}).items():
            _, secret_id = parse_ref(str(secret_ref))
            if secret_id is None:
                raise SecretNotFound(ref)
            parts[name or ""] = _payload(client.secrets.get(secret_id))
            read.append(("secret", secret_id))
        # barbicanclient keeps a container's type in its class (``_type``).
        kind_of = getattr(container, "type", None) or getattr(container, "_type", "generic")
        return StoredContainer(id=obj_id, type=str(kind_of), secrets=parts), read
    except SecretNotFound:
        raise
    except Exception as exc:  # barbicanclient's HTTP errors, ValueError, connection errors
        LOG.info("Barbican: %s could not be read (%s)", ref, type(exc).__name__)
        raise SecretNotFound(ref) from None


class BarbicanSecrets:
    """The :class:`~lbaas.services.tls.SecretSource` of a real Barbican."""

    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf
        self._lock = threading.Lock()
        self._service: _Service | None = None

    def service(self) -> _Service:
        """The service user's session (authenticated on first use; keystoneauth re-issues
        its token when it expires) and Barbican's URL."""
        with self._lock:
            if self._service is None:
                self._service = self._connect()
            return self._service

    def _connect(self) -> _Service:
        conf = self._conf
        group = conf[BARBICAN_GROUP]
        section = (BARBICAN_GROUP if group.auth_type or group.auth_section
                   else DEFAULT_AUTH_SECTION)
        loading.register_auth_conf_options(conf, section)
        try:
            auth = loading.load_auth_from_conf_options(conf, section)
            if auth is None:
                raise BarbicanUnavailable(f"[{section}] names no auth_type: lbaas has no "
                                          "service user to read Barbican with")
            session = loading.load_session_from_conf_options(conf, BARBICAN_GROUP, auth=auth)
            # keystoneauth's own split loggers would log answers' bodies (payloads).
            session._split_loggers = False
            endpoint = group.endpoint or session.get_endpoint(
                service_type=SERVICE_TYPE, interface=group.interface,
                region_name=group.region_name)
            if not endpoint:
                raise BarbicanUnavailable("no key-manager endpoint in the Keystone catalog "
                                          "(or set [barbican] endpoint)")
            user_id = session.get_user_id()
        except BarbicanUnavailable:
            raise
        except Exception as exc:
            raise BarbicanUnavailable(f"lbaas's service user cannot reach Barbican: "
                                      f"{type(exc).__name__}") from None
        return _Service(session, str(user_id), str(endpoint).rstrip("/"))

    # SecretSource

    def read(self, session: Session, ref: str, project_id: str
             ) -> StoredSecret | StoredContainer:
        """``ref`` read with the service user's credentials (the agents' trees); see the
        module's docstring for the project check."""
        try:
            service = self.service()
        except BarbicanUnavailable as exc:
            LOG.warning("Barbican: %s", exc)
            raise SecretNotFound(ref) from None
        stored, _ = read_ref(_client(service.session, service.endpoint), ref)
        return stored

    def for_request(self, ctx: RequestContext) -> CallerReader:
        return CallerReader(self, ctx)


class CallerReader:
    """Reads references as one request's caller, then grants the service user read access."""

    def __init__(self, secrets: BarbicanSecrets, ctx: RequestContext) -> None:
        self._secrets = secrets
        self._ctx = ctx

    def __repr__(self) -> str:  # the token stays out of reprs
        return f"CallerReader(project_id={self._ctx.project_id!r})"

    def read(self, session: Session, ref: str, project_id: str
             ) -> StoredSecret | StoredContainer:
        """``ref`` as the caller reads it, once its ACL lets the service user read it too.
        :class:`SecretNotFound` when the caller has no Keystone token, acts on another
        project's object, cannot read it, or may not change its ACL."""
        ctx = self._ctx
        if not ctx.auth_token or ctx.project_id != project_id:
            raise SecretNotFound(ref)
        try:
            service = self._secrets.service()
        except BarbicanUnavailable as exc:
            LOG.warning("Barbican: %s", exc)
            raise SecretNotFound(ref) from None
        user = ks_session.Session(auth=token_endpoint.Token(service.endpoint, ctx.auth_token),
                                  verify=service.session.verify, cert=service.session.cert,
                                  timeout=service.session.timeout, split_loggers=False)
        client = _client(user, service.endpoint)
        stored, read = read_ref(client, ref)
        for kind, obj_id in read:
            _grant(client, kind, obj_id, service.user_id, ref)
        return stored


def _grant(client: Any, kind: str, obj_id: str, user_id: str, ref: str) -> None:
    """Add ``user_id`` to the read ACL of a secret or container (Octavia's ``set_acls``)."""
    try:
        acl = client.acls.get(obj_id, ref_type=kind)
        read = acl.get(READ)
        if read is None:
            acl.add_operation_acl(users=[user_id], operation_type=READ)
        elif user_id in (read.users or []):
            return
        else:
            read.users = [*(read.users or []), user_id]
        acl.submit()
    except Exception as exc:
        LOG.info("Barbican: the read ACL of %s %s (named by %s) could not be extended (%s)",
                 kind, obj_id, ref, type(exc).__name__)
        raise SecretNotFound(ref) from None
