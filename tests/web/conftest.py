"""The pages in a real browser: Debian's Chromium driven by Playwright, against a real uvicorn process."""

import json
import socket
from collections.abc import Callable, Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"  # Debian's (scripts/setup installs it); playwright downloads no browser here
DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, and Chromium's own sandbox refuses to start as root.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[..., Page]]:
    """A page in a browser context of its own; given a token, as the submit page leaves it in the tab."""
    contexts: list[BrowserContext] = []

    def open_page(token: str | None = None, viewport: dict[str, int] = DESKTOP) -> Page:
        contexts.append(browser.new_context(viewport=viewport))
        if token is not None:
            contexts[-1].add_init_script(f"sessionStorage.setItem('poisonbench-token', {json.dumps(token)})")
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page) -> Page:
    return open_page()


@pytest.fixture
def base_url(service_environment, service_processes) -> str:
    """A real uvicorn process serving the app on `service_settings`, killed before its database is emptied.

    The socket is bound here and handed over, so there is no port race and no readiness loop: the kernel
    queues the browser's first connection until the server accepts it.
    """
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        service_processes.start(
            "-m",
            "uvicorn",
            "--factory",
            "api.main:create_app",
            "--fd",
            str(listener.fileno()),
            env=service_environment,
            pass_fds=(listener.fileno(),),
        )
        return f"http://127.0.0.1:{listener.getsockname()[1]}"
