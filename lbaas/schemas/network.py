"""Neutron-shaped schemas for the networks and subnets an admin registers."""

from __future__ import annotations

from pydantic import Field

from lbaas.schemas.common import UUID, IPAddress, Name, ProjectId, RequestModel


class NetworkCreate(RequestModel):
    name: Name = ""
    shared: bool = True
    admin_state_up: bool = True
    mtu: int = Field(default=1500, ge=576, le=65535)
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class NetworkCreateEnvelope(RequestModel):
    network: NetworkCreate


class AllocationPool(RequestModel):
    start: IPAddress
    end: IPAddress


class SubnetCreate(RequestModel):
    network_id: UUID
    name: Name = ""
    cidr: str = Field(max_length=64)
    ip_version: int | None = Field(default=None, ge=4, le=6)
    gateway_ip: IPAddress | None = None
    allocation_pools: list[AllocationPool] | None = None
    enable_dhcp: bool = False
    project_id: ProjectId | None = None
    tenant_id: ProjectId | None = None


class SubnetCreateEnvelope(RequestModel):
    subnet: SubnetCreate
