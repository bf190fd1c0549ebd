"""Load balancer schemas, including the single-call create of a whole tree."""

from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from lbaas.schemas.common import (
    UUID,
    Description,
    IPAddress,
    Link,
    Name,
    OperatingStatus,
    ProjectOwned,
    ProvisioningStatus,
    RequestModel,
    ResponseModel,
    Tags,
)
from lbaas.schemas.listener import ListenerGraph
from lbaas.schemas.pool import PoolGraph


class AdditionalVip(RequestModel):
    subnet_id: UUID
    ip_address: IPAddress | None = None


class LoadBalancerCreate(ProjectOwned):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool = True
    vip_address: IPAddress | None = None
    vip_port_id: UUID | None = None
    vip_subnet_id: UUID | None = None
    vip_network_id: UUID | None = None
    vip_qos_policy_id: UUID | None = None
    additional_vips: list[AdditionalVip] = Field(default_factory=list, max_length=0)
    provider: str | None = Field(default=None, max_length=64)
    flavor_id: UUID | None = None
    availability_zone: str | None = Field(default=None, max_length=255)
    tags: Tags | None = None
    listeners: list[ListenerGraph] = Field(default_factory=list)
    pools: list[PoolGraph] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check_vip(self) -> LoadBalancerCreate:
        if not (self.vip_subnet_id or self.vip_network_id or self.vip_port_id):
            raise ValueError("one of vip_subnet_id, vip_network_id or vip_port_id is required")
        return self


class LoadBalancerUpdate(RequestModel):
    name: Name | None = None
    description: Description | None = None
    admin_state_up: bool | None = None
    vip_qos_policy_id: UUID | None = None
    tags: Tags | None = None


class LoadBalancerPublic(ResponseModel):
    id: str
    name: str
    description: str
    provisioning_status: ProvisioningStatus
    operating_status: OperatingStatus
    admin_state_up: bool
    project_id: str
    tenant_id: str
    created_at: str
    updated_at: str | None
    vip_address: str | None
    vip_port_id: str | None
    vip_subnet_id: str | None
    vip_network_id: str | None
    vip_qos_policy_id: str | None
    additional_vips: list[dict[str, Any]]
    listeners: list[Any]
    pools: list[Any]
    provider: str
    flavor_id: str | None
    availability_zone: str | None
    tags: list[str]
    vip_vnic_type: str


class LoadBalancerCreateEnvelope(RequestModel):
    loadbalancer: LoadBalancerCreate


class LoadBalancerUpdateEnvelope(RequestModel):
    loadbalancer: LoadBalancerUpdate


class LoadBalancerEnvelope(ResponseModel):
    loadbalancer: LoadBalancerPublic


class LoadBalancerList(ResponseModel):
    loadbalancers: list[LoadBalancerPublic]
    loadbalancers_links: list[Link]


class StatusTree(ResponseModel):
    statuses: dict[str, Any]

