"""plugins/module_utils/eks.py: the Kubernetes versions EKS offers, from its release calendar."""

from __future__ import annotations

import datetime

import pytest

from ansible_collections.cairn.platform.plugins.module_utils import eks
from ansible_collections.cairn.platform.plugins.module_utils.eks import (
    EKS_RELEASE_CALENDAR,
    check_kubernetes_version,
    offered_versions,
    support_status,
)
from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

D = datetime.date


def refusal(value, today):
    with pytest.raises(InputError) as failure:
        check_kubernetes_version("kubernetes_version", value, today)
    return failure.value.message


def test_the_calendar_holds_1_28_to_1_34_with_aws_dates():
    assert {"1.{0}".format(minor) for minor in range(28, 35)} <= set(EKS_RELEASE_CALENDAR)
    assert EKS_RELEASE_CALENDAR["1.31"] == (D(2024, 9, 26), D(2025, 11, 26), D(2026, 11, 26))
    assert EKS_RELEASE_CALENDAR["1.34"] == (D(2025, 10, 2), D(2026, 12, 2), D(2027, 12, 2))
    for version, (released, standard_end, extended_end) in EKS_RELEASE_CALENDAR.items():
        # 14 months of standard support, then 12 of extended support (AWS's rule; the dates are the calendar's).
        assert released < standard_end < extended_end, version
        assert extended_end == standard_end.replace(year=standard_end.year + 1), version
        assert 13 <= (standard_end.year - released.year) * 12 + standard_end.month - released.month <= 14, version


def test_support_status_follows_the_dates_in_utc():
    assert support_status("1.32", D(2026, 3, 22)) == "standard"
    assert support_status("1.32", D(2026, 3, 23)) == "extended"  # billing starts on the end of standard support date
    assert support_status("1.32", D(2027, 3, 22)) == "extended"
    assert support_status("1.32", D(2027, 3, 23)) is None  # no new cluster on the end of extended support date
    assert support_status("1.35", D(2026, 1, 26)) is None  # not released yet
    assert support_status("1.99", D(2026, 1, 26)) is None


def test_offered_versions_on_a_day():
    assert offered_versions(D(2026, 2, 15)) == ["1.29", "1.30", "1.31", "1.32", "1.33", "1.34", "1.35"]
    assert offered_versions(D(2026, 12, 3)) == ["1.32", "1.33", "1.34", "1.35"]


def test_versions_in_standard_or_extended_support_are_accepted():
    assert check_kubernetes_version("kubernetes_version", "1.35", D(2026, 12, 3)) == 35
    assert check_kubernetes_version("kubernetes_version", "1.32", D(2026, 12, 3)) == 32  # extended support


def test_a_version_past_end_of_extended_support_is_refused():
    assert refusal("1.31", D(2026, 12, 3)) == (
        "kubernetes_version: Kubernetes 1.31 reached the end of EKS extended support on 2026-11-26; EKS no longer runs it "
        "(clusters on it are upgraded by AWS). EKS offers 1.32, 1.33, 1.34, 1.35.")
    assert "end of EKS extended support on 2025-11-26" in refusal("1.28", D(2026, 2, 15))


@pytest.mark.parametrize("value", ["1.36", "1.27", "1.99", "1.9"])
def test_a_version_eks_does_not_offer_is_refused_naming_the_offered_ones(value):
    assert refusal(value, D(2026, 12, 3)) == "kubernetes_version: EKS does not offer Kubernetes {0}; it offers 1.32, 1.33, 1.34, 1.35.".format(value)


@pytest.mark.parametrize("value", ["1.31.2", "v1.31", "2.1", 1.31, None])
def test_malformed_versions_are_refused_first(value):
    assert "is not a Kubernetes version like 1.31" in refusal(value, D(2026, 12, 3))


def test_today_defaults_to_the_utc_date(monkeypatch):
    monkeypatch.setattr(eks, "utc_today", lambda: D(2027, 8, 1))
    assert offered_versions() == ["1.34", "1.35"]
    with pytest.raises(InputError):
        check_kubernetes_version("kubernetes_version", "1.33")
