"""Option types of the CLI's own (the API's enumerations are in :mod:`lbaas.core.enums`)."""

from __future__ import annotations

from typing import Literal

OutputFormat = Literal["table", "json", "value"]

HttpVersion = Literal["1.0", "1.1"]
RedirectCode = Literal["301", "302", "303", "307", "308"]
