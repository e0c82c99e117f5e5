"""An API client on the test database (rolled back per test), the test Redis and the real sandbox check."""

from collections.abc import Callable, Iterator
from contextlib import nullcontext

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx import Response

from api.deps import get_session
from api.leaderboard_cache import LeaderboardCache
from api.main import create_app
from api.validation import LossChecker, Verdict

VALID_LOSS = """import torch.nn.functional as F


class RobustLoss:
    def compute_loss(self, logits, labels, epoch):
        return F.cross_entropy(logits, labels)
"""


class CountedCheck:
    """The service's real sandbox check, counted: some refusals must come before it is ever started."""

    def __init__(self, check: LossChecker):
        self.check = check
        self.calls = 0

    def __call__(self, code: str, filename: str) -> Verdict:
        self.calls += 1
        return self.check(code, filename)


@pytest.fixture
def app(settings, session, redis_client) -> FastAPI:
    app = create_app(settings)
    app.dependency_overrides[get_session] = lambda: session
    app.state.loss_checker = CountedCheck(app.state.loss_checker)
    app.state.leaderboard_cache = LeaderboardCache(lambda: nullcontext(session), refresh_seconds=0)
    return app


@pytest.fixture
def check(app) -> CountedCheck:
    """The app's own sandbox check, counted."""
    return app.state.loss_checker


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


@pytest.fixture
def token(factory) -> str:
    return factory.participant()[1]


@pytest.fixture
def auth(token) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def upload(client, auth) -> Callable[..., Response]:
    """POST /api/submissions with a loss file (by default a valid one) as the `auth` participant."""

    def post(code: str | bytes = VALID_LOSS, name: str = "my loss", headers: dict | None = None, **form: str):
        files = {"file": ("custom_robust_loss.py", code, "text/x-python")}
        data = {"name": name, **form}
        return client.post(
            "/api/submissions", headers=auth if headers is None else headers, files=files, data=data
        )

    return post
