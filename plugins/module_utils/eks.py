# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Input rules shared by the EKS modules (cluster, node groups, add-ons): names and Kubernetes versions."""

from __future__ import annotations

import datetime
import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

# CreateCluster: 1 to 100 characters, a letter or digit first, then letters, digits, '-' and '_'.
CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")
KUBERNETES_VERSION = re.compile(r"^1\.(\d{1,2})$")

_D = datetime.date
# The "Amazon EKS Kubernetes release calendar" (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html),
# UTC: version -> (Amazon EKS release, end of standard support, end of extended support). 1.35 is from endoflife.date
# (the AWS page read had no row yet). Add each new row: a version missing here is refused as not offered.
EKS_RELEASE_CALENDAR = {
    "1.28": (_D(2023, 9, 26), _D(2024, 11, 26), _D(2025, 11, 26)),
    "1.29": (_D(2024, 1, 23), _D(2025, 3, 23), _D(2026, 3, 23)),
    "1.30": (_D(2024, 5, 23), _D(2025, 7, 23), _D(2026, 7, 23)),
    "1.31": (_D(2024, 9, 26), _D(2025, 11, 26), _D(2026, 11, 26)),
    "1.32": (_D(2025, 1, 23), _D(2026, 3, 23), _D(2027, 3, 23)),
    "1.33": (_D(2025, 5, 29), _D(2026, 7, 29), _D(2027, 7, 29)),
    "1.34": (_D(2025, 10, 2), _D(2026, 12, 2), _D(2027, 12, 2)),
    "1.35": (_D(2026, 1, 27), _D(2027, 3, 27), _D(2028, 3, 27)),
}


def check_cluster_name(field, name):
    if not isinstance(name, str) or not CLUSTER_NAME.match(name):
        raise InputError("{0}: {1!r} is not an EKS cluster name (1 to 100 letters, digits, '-' or '_', starting with a "
                         "letter or digit).".format(field, name))
    return name


def kubernetes_minor(field, value):
    """'1.31' -> 31; anything else is refused, naming the field."""
    match = KUBERNETES_VERSION.match(value) if isinstance(value, str) else None
    if not match:
        raise InputError("{0}: {1!r} is not a Kubernetes version like 1.31 (major.minor).".format(field, value))
    return int(match.group(1))


def reported_minor(value):
    """The minor of a version as EKS reports it ('1.31' -> 31), or None when it cannot be read."""
    match = KUBERNETES_VERSION.match(value) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def utc_today():
    """Today in UTC, the time zone of the release calendar (a function so that tests can pin the date)."""
    return datetime.datetime.now(datetime.timezone.utc).date()


def support_status(version, today=None):
    """'standard', 'extended' (billed extra per cluster hour) or None when EKS does not offer `version` on `today`."""
    today = today or utc_today()
    dates = EKS_RELEASE_CALENDAR.get(version)
    if dates is None or not dates[0] <= today < dates[2]:
        return None  # on the end of extended support date EKS takes no new cluster of the version
    return "standard" if today < dates[1] else "extended"


def offered_versions(today=None):
    """The versions EKS offers on `today`, oldest first."""
    today = today or utc_today()
    return sorted((v for v in EKS_RELEASE_CALENDAR if support_status(v, today)), key=lambda v: int(v.split(".")[1]))


def check_kubernetes_version(field, value, today=None):
    """The minor of a version EKS offers today (in standard or extended support); InputError naming the offered ones otherwise."""
    minor = kubernetes_minor(field, value)
    today = today or utc_today()
    if support_status(value, today):
        return minor
    offered = ", ".join(offered_versions(today))
    dates = EKS_RELEASE_CALENDAR.get(value)
    if dates is not None and today >= dates[2]:
        raise InputError("{0}: Kubernetes {1} reached the end of EKS extended support on {2}; EKS no longer runs it (clusters on it "
                         "are upgraded by AWS). EKS offers {3}.".format(field, value, dates[2].isoformat(), offered))
    raise InputError("{0}: EKS does not offer Kubernetes {1}; it offers {2}.".format(field, value, offered))
