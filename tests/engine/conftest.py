import pytest

from tests.engine.harness import PUT_SPREAD, Harness


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def harness(tmp_path, spx):
    def make(rules: dict[str, str] | None = None, notify: bool = False) -> Harness:
        return Harness(tmp_path, spx, rules or {"puts.yaml": PUT_SPREAD}, notify)

    return make
