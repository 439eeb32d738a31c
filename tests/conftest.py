"""Shared pytest fixtures: one local AWS emulator per test session.

Test code imports the harness as ``from support.emulator import Call, mutating_calls``
(``tests/`` is on sys.path via the pytest ``pythonpath`` setting) and the collection as
``ansible_collections.cairn.platform`` (through the committed link tree in ``collections/``).
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# collections/ansible_collections/cairn/platform -> repo root, so the checkout is importable
# as the collection without installing it.
sys.path.insert(0, str(REPO / "collections"))

from support.emulator import Emulator  # noqa: E402  (needs the path set up above)

from ansible_collections.cairn.platform.plugins.module_utils import eks  # noqa: E402


@pytest.fixture(scope="session")
def emulator():
    """One moto_server for the whole session, on a free 127.0.0.1 port."""
    with Emulator() as emu:
        yield emu


@pytest.fixture
def recorded_env(emulator, monkeypatch):
    """The SDK environment a user would have (fake credentials) pointed at the emulator, without a reset:
    for tests that make no call, or that only read."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", emulator.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    # A developer's ~/.aws must not leak into tests.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return emulator


@pytest.fixture
def aws_env(recorded_env):
    """Empty emulator plus the SDK environment of recorded_env."""
    recorded_env.reset()
    return recorded_env


@pytest.fixture(scope="module")
def shared_model_loader():
    """One botocore data loader per test file: each service model is parsed once, not per client."""
    import botocore.session

    loaders = {}
    original = botocore.session.create_loader

    def create_loader(search_path_string=None):
        if search_path_string not in loaders:
            loaders[search_path_string] = original(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", create_loader)
        yield


# A day when EKS offered 1.29 to 1.35 (1.29 to 1.31 in extended support). The EKS version checks follow the release
# calendar: tests that run modules in this process pin the day instead of failing as versions reach their end of
# support. Playbook runs (subprocesses) use the real day, so the shipped inventories must name an offered version.
EKS_TEST_DAY = datetime.date(2026, 2, 15)


@pytest.fixture(autouse=True)
def eks_calendar_day(monkeypatch):
    monkeypatch.setattr(eks, "utc_today", lambda: EKS_TEST_DAY)
    return EKS_TEST_DAY
