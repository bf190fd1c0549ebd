"""Headless Chromium driven by Selenium: the dashboard's tests (``tests/e2e/test_dashboard.py``).

Debian's ``chromium`` and ``chromium-driver`` (same version, installed by ``make``) are used as
they are: the driver's path is given, so Selenium never looks for (or downloads) another. Each
:class:`Browser` has a private profile directory, and quitting it (on the way out of the
``with`` block, also when the test failed) ends every process it started.

Screenshots go to ``test-artifacts/dashboard/`` at the repository's root (``LBAAS_ARTIFACTS``
overrides the root): the README links copies of the main pages kept in ``docs/dashboard/``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(os.environ.get("LBAAS_ARTIFACTS", Path(__file__).parent.parent / "test-artifacts"))


def browser_available() -> bool:
    return CHROMIUM.exists() and CHROMEDRIVER.exists()


class Browser:
    """One headless Chromium window on ``base_url`` (the API server's root)."""

    def __init__(self, base_url: str, width: int = 1400, height: int = 1000) -> None:
        self.base_url = base_url
        self._size = (width, height)
        self._profile = Path(tempfile.mkdtemp(prefix="lbaas-chromium-"))
        self.driver: Any = None

    def __enter__(self) -> Browser:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = str(CHROMIUM)
        for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-gpu", "--no-first-run", "--disable-extensions",
                    f"--user-data-dir={self._profile}",
                    f"--window-size={self._size[0]},{self._size[1]}"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
        self.driver.set_page_load_timeout(30)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        try:
            if self.driver is not None:
                self.driver.quit()
        finally:
            # A driver that died leaves its browser: nothing of this profile may survive.
            subprocess.run(["pkill", "-f", "--", f"--user-data-dir={self._profile}"],
                           check=False)
            shutil.rmtree(self._profile, ignore_errors=True)

    # -- navigation -------------------------------------------------------------------------

    def open(self, fragment: str = "") -> None:
        """Load the dashboard (a full page load), at ``#fragment`` if given."""
        self.driver.get(f"{self.base_url}/dashboard/{'#' + fragment if fragment else ''}")

    def go(self, fragment: str) -> None:
        """Move within the open page, as a click on a link would (no reload)."""
        self.driver.execute_script("location.hash = arguments[0];", fragment)

    def sign_in(self, token: str) -> None:
        self.open("/signin")
        self.find("[data-test=token-form] input[name=token]").send_keys(token)
        self.click("[data-test=token-submit]")
        self.wait_for("[data-test=lb-list]")

    def sign_out(self) -> None:
        self.click("#sign-out")
        self.wait_for("[data-test=token-form]")

    # -- finding and acting -----------------------------------------------------------------

    def find(self, css: str, within: Any = None, timeout: float = 20) -> Any:
        """The first visible element matching ``css``, waiting for it."""
        return self.until(lambda: _first_visible((within or self.driver), css), timeout,
                          f"no visible element {css}")

    def find_all(self, css: str, within: Any = None) -> list[Any]:
        from selenium.webdriver.common.by import By

        return list((within or self.driver).find_elements(By.CSS_SELECTOR, css))

    def wait_for(self, css: str, timeout: float = 20) -> Any:
        return self.find(css, timeout=timeout)

    def wait_gone(self, css: str, timeout: float = 20) -> None:
        self.until(lambda: not self.find_all(css), timeout, f"{css} still present")

    def attribute(self, css: str, name: str) -> str | None:
        found = self.find_all(css)
        return found[0].get_attribute(name) if found else None

    def wait_attribute(self, css: str, name: str, check: Callable[[str], bool],
                       timeout: float = 60) -> str:
        """Wait until the first ``css`` element's attribute ``name`` passes ``check``."""
        def current() -> str | None:
            value = self.attribute(css, name)
            return value if value is not None and check(value) else None

        value: str = self.until(current, timeout,
                                lambda: f"{css}[{name}] is {self.attribute(css, name)!r}")
        return value

    def click(self, css: str, within: Any = None) -> None:
        element = self.find(css, within)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", element)
        element.click()

    def type(self, css: str, text: str, within: Any = None) -> None:
        element = self.find(css, within)
        element.clear()
        element.send_keys(text)

    def choose(self, css: str, value: str, within: Any = None) -> None:
        """Pick the option of a <select> whose value is ``value``."""
        from selenium.webdriver.support.ui import Select

        Select(self.find(css, within)).select_by_value(value)

    def until(self, condition: Callable[[], Any], timeout: float,
              message: str | Callable[[], str]) -> Any:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            try:
                value = condition()
                if value:
                    return value
            except Exception as exc:  # stale elements while the page re-renders
                last = exc
            time.sleep(0.1)
        text = message() if callable(message) else message
        raise AssertionError(f"{text} after {timeout}s (last error: {last!r})")

    # -- evidence ---------------------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        directory = ARTIFACTS / "dashboard"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def script_errors(self) -> list[str]:
        """The page's JavaScript errors so far (console SEVERE entries other than failed
        requests, which the API's 4xx answers the tests provoke on purpose produce)."""
        return [entry["message"] for entry in self.driver.get_log("browser")
                if entry["level"] == "SEVERE" and entry.get("source") != "network"]


def _first_visible(root: Any, css: str) -> Any:
    from selenium.webdriver.common.by import By

    for element in root.find_elements(By.CSS_SELECTOR, css):
        if element.is_displayed():
            return element
    return None
