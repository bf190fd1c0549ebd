"""Schemas of availability zones and availability zone profiles (Octavia API 2.14).

A profile's ``availability_zone_data`` is JSON text, as in Octavia: its meaning depends on the
provider, so it is parsed and checked by the service against the provider's capabilities, not
here. A zone is known by its name (there is no id).
"""

from __future__ import annotations

from pydantic import Field

from lbaas.schemas.common import UUID, Description, Link, Name, RequestModel, ResponseModel

ZoneData = str
"""``availability_zone_data``: a JSON object, as text."""


class AvailabilityZoneProfileCreate(RequestModel):
    name: Name
    provider_name: str = Field(max_length=255)
    availability_zone_data: ZoneData = Field(max_length=4096)


class AvailabilityZoneProfileUpdate(RequestModel):
    """Every field may be left out; an explicit null is refused by the service (Octavia)."""

    name: Name | None = None
    provider_name: str | None = Field(default=None, max_length=255)
    availability_zone_data: ZoneData | None = Field(default=None, max_length=4096)


class AvailabilityZoneProfileCreateEnvelope(RequestModel):
    availability_zone_profile: AvailabilityZoneProfileCreate


class AvailabilityZoneProfileUpdateEnvelope(RequestModel):
    availability_zone_profile: AvailabilityZoneProfileUpdate


class AvailabilityZoneProfilePublic(ResponseModel):
    id: str
    name: str
    provider_name: str
    availability_zone_data: str


class AvailabilityZoneProfileEnvelope(ResponseModel):
    availability_zone_profile: AvailabilityZoneProfilePublic


class AvailabilityZoneProfileList(ResponseModel):
    """Octavia names the links ``availability_zone_profile_links`` (singular)."""

    availability_zone_profiles: list[AvailabilityZoneProfilePublic]
    availability_zone_profile_links: list[Link]


class AvailabilityZoneCreate(RequestModel):
    name: Name
    description: Description | None = None
    enabled: bool = True
    availability_zone_profile_id: UUID


class AvailabilityZoneUpdate(RequestModel):
    """Only the description and the enabled flag change; the name is the key."""

    description: Description | None = None
    enabled: bool | None = None


class AvailabilityZoneCreateEnvelope(RequestModel):
    availability_zone: AvailabilityZoneCreate


class AvailabilityZoneUpdateEnvelope(RequestModel):
    availability_zone: AvailabilityZoneUpdate


class AvailabilityZonePublic(ResponseModel):
    name: str
    description: str | None
    enabled: bool
    availability_zone_profile_id: str


class AvailabilityZoneEnvelope(ResponseModel):
    availability_zone: AvailabilityZonePublic


class AvailabilityZoneList(ResponseModel):
    availability_zones: list[AvailabilityZonePublic]
    availability_zones_links: list[Link]


class Capability(ResponseModel):
    name: str
    description: str


class AvailabilityZoneCapabilities(ResponseModel):
    availability_zone_capabilities: list[Capability]
