"""The choice of the TLS secrets' backend by ``[key_manager] backend``.

Called by ``build_services`` (``lbaas/api/app.py``) and, to refuse to start with a clear
message, by ``lbaas server`` (``lbaas/cli/admin.py``): ``builtin`` is lbaas's own store
(:mod:`lbaas.services.secrets`, its key file loaded here), ``barbican`` a real Barbican
(:mod:`lbaas.services.barbican`), which needs Keystone authentication.
"""

from __future__ import annotations

from oslo_config import cfg

from lbaas.services.secret_cipher import load_cipher
from lbaas.services.secrets import SecretStore
from lbaas.services.tls import SecretSource

BARBICAN = "barbican"


class SecretBackendError(Exception):
    """The configured backend cannot work with the rest of the configuration."""


def uses_barbican(conf: cfg.ConfigOpts) -> bool:
    return bool(conf.key_manager.backend == BARBICAN)


def make_secret_source(conf: cfg.ConfigOpts) -> SecretSource:
    """The backend ``[key_manager] backend`` names. Raises :class:`SecretBackendError` for
    ``barbican`` without ``[api] auth_strategy = keystone`` (lbaas reads Barbican with the
    caller's Keystone token), and ``KeyFileError`` for ``builtin`` without a usable key file."""
    if uses_barbican(conf):
        if conf.api.auth_strategy != "keystone":
            raise SecretBackendError(
                "[key_manager] backend = barbican needs [api] auth_strategy = keystone: lbaas "
                "reads a listener's or pool's secrets from Barbican with the caller's Keystone "
                f"token (auth_strategy is {conf.api.auth_strategy!r})")
        from lbaas.services.barbican import BarbicanSecrets

        return BarbicanSecrets(conf)
    return SecretStore(load_cipher(conf.key_manager.encryption_key_file))
