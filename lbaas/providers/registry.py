"""The providers a server offers, built once at start-up from configuration."""

from __future__ import annotations

from collections.abc import Callable

from lbaas.core.errors import InvalidInput
from lbaas.providers.base import ProviderDriver


class ProviderRegistry:
    """Name -> provider driver, plus the default."""

    def __init__(self, default: str) -> None:
        self.default = default
        self._drivers: dict[str, ProviderDriver] = {}

    def add(self, driver: ProviderDriver) -> None:
        self._drivers[driver.name] = driver

    def get(self, name: str | None) -> ProviderDriver:
        """The driver for ``name`` (default when None); 400 for unknown or disabled names."""
        key = name or self.default
        driver = self._drivers.get(key)
        if driver is None:
            raise InvalidInput(f"Provider '{key}' is not enabled; enabled providers: "
                               f"{', '.join(sorted(self._drivers))}.")
        return driver

    def names(self) -> list[str]:
        return sorted(self._drivers)

    def all(self) -> list[ProviderDriver]:
        return list(self._drivers.values())

    def shutdown(self) -> None:
        for driver in self._drivers.values():
            driver.shutdown()


ProviderFactory = Callable[..., ProviderDriver]
