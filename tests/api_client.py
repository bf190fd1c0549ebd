"""An HTTP client of one lbaas API as the holder of one token (httpx): Octavia paths go under
``/v2/lbaas``, paths already starting with ``/v2`` (``/v2.0/networks``, …), ``/healthcheck``
or ``/key-manager`` (the secret store) as given. The base of the end-to-end helpers' clients
(``tests/e2e/faults.py``' ``Api``, the node lab's ``LabApi``)."""

from __future__ import annotations

from typing import Any

import httpx


class ApiClient:
    """Requests to ``base_url`` with ``X-Auth-Token: token``; a context manager that closes
    its connections."""

    def __init__(self, base_url: str, token: str, timeout: float = 30.0) -> None:
        self.base_url = base_url
        self.client = httpx.Client(base_url=base_url, headers={"X-Auth-Token": token},
                                   timeout=timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()

    @staticmethod
    def _path(path: str) -> str:
        return path if path.startswith(("/v2", "/healthcheck", "/key-manager")) \
            else f"/v2/lbaas{path}"

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.client.get(self._path(path), params=params or None)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.post(self._path(path), json=body)

    def put(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return self.client.put(self._path(path), json=body)

    def delete(self, path: str) -> httpx.Response:
        return self.client.delete(self._path(path))
