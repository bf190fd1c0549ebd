"""Member schemas."""

from __future__ import annotations

from pydantic import Field

from lbaas.schemas.common import (
    UUID,
    IPAddress,
    Link,
    Name,
    OperatingStatus,
    Port,
    ProjectOwned,
    ProvisioningStatus,
    RequestModel,
    ResponseModel,
    Tags,
)

Weight = Field(default=None, ge=0, le=256)


class MemberCreate(ProjectOwned):
    name: Name | None = None
    admin_state_up: bool = True
    address: IPAddress
    protocol_port: Port
    weight: int | None = Weight
    backup: bool = False
    subnet_id: UUID | None = None
    monitor_address: IPAddress | None = None
    monitor_port: Port | None = None
    tags: Tags | None = None


class MemberUpdate(RequestModel):
    name: Name | None = None
    admin_state_up: bool | None = None
    weight: int | None = Weight
    backup: bool | None = None
    monitor_address: IPAddress | None = None
    monitor_port: Port | None = None
    tags: Tags | None = None


class MemberPublic(ResponseModel):
    id: str
    name: str
    operating_status: OperatingStatus
    provisioning_status: ProvisioningStatus
    admin_state_up: bool
    address: str
    protocol_port: int
    weight: int
    backup: bool
    subnet_id: str | None
    project_id: str
    tenant_id: str
    created_at: str
    updated_at: str | None
    monitor_address: str | None
    monitor_port: int | None
    tags: list[str]
    vnic_type: str


class MemberCreateEnvelope(RequestModel):
    member: MemberCreate


class MemberUpdateEnvelope(RequestModel):
    member: MemberUpdate


class MemberBatchEnvelope(RequestModel):
    members: list[MemberCreate]


class MemberEnvelope(ResponseModel):
    member: MemberPublic


class MemberList(ResponseModel):
    members: list[MemberPublic]
    members_links: list[Link]
