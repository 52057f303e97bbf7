import pytest

from tests.engine.harness import PUT_SPREAD, Harness


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def harness(tmp_path, spx):
    def make(rules: dict[str, str] | None = None) -> Harness:
        return Harness(tmp_path, spx, rules or {"puts.yaml": PUT_SPREAD})

    return make
