"""Fixtures of the Stubber and SDK unit tests (no emulator, no network)."""

from __future__ import annotations

import os

import pytest


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


@pytest.fixture
def clean_sdk_env(monkeypatch):
    """No AWS_* variable and no ~/.aws of the developer reaches the SDK."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
