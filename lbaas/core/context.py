"""The request context: who is calling (project, roles) and the request id that follows the work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field


def new_request_id() -> str:
    """An OpenStack-style request id."""
    return f"req-{uuid.uuid4()}"


@dataclass(frozen=True)
class RequestContext:
    """Caller identity as established by authentication."""

    project_id: str
    roles: tuple[str, ...] = ()
    user_name: str = ""
    request_id: str = field(default_factory=new_request_id)
    user_id: str = ""
    """Keystone's user id when known (the creator of a stored secret)."""
    auth_token: str = field(default="", repr=False, compare=False)
    """The caller's Keystone token (``auth_strategy = keystone``), for the calls lbaas makes on
    the caller's behalf while the request lasts (reading a real Barbican's secrets). In memory
    only: not in the repr, never logged."""

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles or "load-balancer_admin" in self.roles

    def policy_creds(self) -> dict[str, object]:
        """Credentials in the shape oslo.policy checks use."""
        return {"project_id": self.project_id, "roles": list(self.roles),
                "is_admin": self.is_admin, "user": self.user_name, "user_id": self.user_id}

    def scope_project(self) -> str | None:
        """Project every query is confined to, or None for an admin (all projects)."""
        return None if self.is_admin else self.project_id
