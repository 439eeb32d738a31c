"""Start-up patch that makes moto's CloudFront keep an origin's Origin Access Control and S3 origin settings.

moto 5.2.5 parses an origin's ``OriginAccessControlId`` and ``S3OriginConfig`` in CreateDistribution and
UpdateDistribution but answers neither in GetDistribution, GetDistributionConfig and ListDistributions, so a
module that reads its distribution back (plugins/modules/cloudfront_distribution.py) sees an origin without
its Origin Access Control: drift CloudFront would not show. CloudFront answers both members as written
(https://docs.aws.amazon.com/cloudfront/latest/APIReference/API_Origin.html: ``OriginAccessControlId``, and
``S3OriginConfig`` with ``OriginAccessIdentity`` "" when an Origin Access Control signs the requests).

``apply()`` runs in the launcher before moto serves anything (emulator/server.py). If the moto internals it
replaces are not there (a moto upgrade), it is skipped with one line on stderr. Nothing else changes: ETags
stay fixed and IfMatch unchecked, no OAC is checked for existence or use, nothing is signed or served.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

PATCHED = "_cairn_cloudfront_fidelity"


def _log(message: str) -> None:
    print(f"emulator: cloudfront_fidelity: {message}", file=sys.stderr, flush=True)


def apply() -> list[str]:
    try:
        from moto.cloudfront import models
    except ImportError as exc:
        _log(f"skipped origin-access-control: {exc}")
        return []
    origin_class = getattr(models, "Origin", None)
    if not isinstance(origin_class, type):
        _log("skipped origin-access-control: moto.cloudfront.models.Origin is gone")
        return []
    original = origin_class.__init__
    if not getattr(original, PATCHED, False) and list(inspect.signature(original).parameters) != ["self", "origin"]:
        _log("skipped origin-access-control: Origin.__init__(self, origin) is not as expected")
        return []
    if getattr(original, PATCHED, False):
        return ["origin-access-control"]

    def __init__(self: Any, origin: dict[str, Any]) -> None:
        original(self, origin)
        # The serializer picks members by their snake_case names: origin_access_control_id, s3_origin_config.
        self.origin_access_control_id = origin.get("OriginAccessControlId") or ""
        if "S3OriginConfig" in origin:
            config = origin.get("S3OriginConfig") or {}
            self.s3_origin_config = {"OriginAccessIdentity": config.get("OriginAccessIdentity") or ""}
            if config.get("OriginReadTimeout") is not None:
                self.s3_origin_config["OriginReadTimeout"] = int(config["OriginReadTimeout"])

    setattr(__init__, PATCHED, True)
    origin_class.__init__ = __init__
    return ["origin-access-control"]
