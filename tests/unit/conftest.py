"""Fixtures of the Stubber and SDK unit tests (no emulator, no network)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture
def clean_sdk_env(monkeypatch):
    """No AWS_* variable and no ~/.aws of the developer reaches the SDK."""
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
