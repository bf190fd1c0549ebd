"""Schema of the neutron-lbaas agent update (``PUT /v2.0/agents/{id}``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class AgentUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    admin_state_up: bool | None = None
    description: str | None = None


class AgentUpdateEnvelope(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent: AgentUpdate
