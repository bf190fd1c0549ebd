"""The errors the domain raises when a request cannot be carried out.

Raised by ``services/``, ``providers/`` and the API's dependencies; each names the HTTP status the
API answers with (``lbaas.api.errors`` renders them as Octavia's fault body). They carry only what
the caller may read: never a secret, never a traceback.
"""

from __future__ import annotations

POLICY_REFUSED = "Policy does not allow this request to be performed."
"""Octavia's fault string for a request its policy refuses (403)."""


class ServiceError(Exception):
    """A refused request: ``message`` is for the client, ``status_code`` the API's answer."""

    status_code = 400

    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if status_code is not None:
            self.status_code = status_code


class InvalidInput(ServiceError):
    status_code = 400


class NotAuthenticated(ServiceError):
    """401; ``challenge`` is the ``WWW-Authenticate`` header that says where to authenticate."""

    status_code = 401

    def __init__(self, message: str, challenge: str = 'Basic realm="lbaas"') -> None:
        super().__init__(message)
        self.challenge = challenge


class Forbidden(ServiceError):
    status_code = 403


class QuotaExceeded(ServiceError):
    status_code = 403


class NotFound(ServiceError):
    status_code = 404

    def __init__(self, resource: str, obj_id: str, words: str = "could not be found") -> None:
        """``<resource> <obj_id> could not be found.``; the amphora API says ``not found``,
        Octavia's own words."""
        super().__init__(f"{resource} {obj_id} {words}.")


class Conflict(ServiceError):
    status_code = 409


class NotImplementedByProvider(ServiceError):
    """A provider cannot build what was asked (Octavia's 501 for an unsupported option)."""

    status_code = 501


class ServiceUnavailable(ServiceError):
    status_code = 503
