"""Every endpoint fuzzed from the app's own OpenAPI schema: no 500, honest schemas, 4xx bodies that explain."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from api.main import create_app
from harness.registry import Suite
from settings import Settings

pytestmark = pytest.mark.slow

EXAMPLES_PER_OPERATION = 30  # valid and invalid inputs together: the module takes ~30 s on a loaded 2-core machine


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Limits out of the way, so the fuzzing reaches past them; each limit has a test of its own."""
    return settings.model_copy(update={"auth_failures_allowed": 10**6, "submissions_per_day": 10**6})


def _operations() -> list[tuple[str, str]]:
    paths = create_app(Settings(suite=Suite.SMOKE)).openapi()["paths"]
    return [(method.upper(), path) for path, methods in paths.items() for method in methods]


def refusals_say_what_to_fix(ctx, response, case) -> None:
    """A 4xx is JSON whose `detail` is a sentence, not a code or an echo of the input."""
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"][0].startswith("application/json"), response.headers
        detail = response.json()["detail"]
        assert isinstance(detail, str) and len(detail.split()) >= 3, detail


def _fuzz(app, method: str, path: str, headers: dict[str, str]) -> None:
    operation = schemathesis.openapi.from_asgi("/openapi.json", app)[path][method]
    cases = st.one_of(operation.as_strategy(mode) for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE))

    @hypothesis_settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,  # the same examples every run: a failure here is reproducible
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=cases)
    def call_and_validate(case) -> None:
        case.call_and_validate(
            headers=headers,
            additional_checks=[refusals_say_what_to_fix],
            # A schema cannot say "UTF-8 Python, not empty, not submitted before": such files are rightly 422/409.
            # And an unknown query parameter is ignored, while any bytes at all are a "file" on the wire.
            excluded_checks=[positive_data_acceptance, negative_data_rejection],
        )

    call_and_validate()


@pytest.mark.parametrize(("method", "path"), _operations())
def test_fuzzed_requests_with_a_valid_token_get_no_server_error_and_match_the_schema(app, token, method, path):
    _fuzz(app, method, path, {"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(("method", "path"), _operations())
def test_fuzzed_requests_without_a_token_get_no_server_error_and_match_the_schema(app, method, path):
    _fuzz(app, method, path, {})
