"""Start-up patch that makes moto's GetBucketReplication answer the configuration as it was stored.

moto 5.2.5 keeps the whole PutBucketReplication body but answers every rule with Filter {Prefix: ""},
DeleteMarkerReplication Disabled and no SourceSelectionCriteria, so a module that reads its
configuration back (plugins/modules/s3_buckets.py) sees drift S3 would not show: S3 answers the
rules as written (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketReplication.html).

``apply()`` runs in the launcher before moto serves anything (emulator/server.py). If the moto
internals it replaces are not there (a moto upgrade), it is skipped with one line on stderr.
Nothing is replicated either way: objects are never copied.
"""

from __future__ import annotations

import sys
from typing import Any

PATCHED = "_cairn_s3_fidelity"
# The ReplicationRule members of the API, in the order S3 answers them.
RULE_MEMBERS = ("ID", "Priority", "Prefix", "Filter", "Status", "SourceSelectionCriteria", "ExistingObjectReplication",
                "Destination", "DeleteMarkerReplication")


def _log(message: str) -> None:
    print(f"emulator: s3_fidelity: {message}", file=sys.stderr, flush=True)


def _as_stored(value: Any) -> Any:
    """The parsed XML (xmltodict) as S3 answers it: an empty element is an empty string, no attributes."""
    if isinstance(value, dict):
        return {key: _as_stored(item) for key, item in value.items() if not key.startswith("@")}
    if isinstance(value, list):
        return [_as_stored(item) for item in value]
    return "" if value is None else value


def apply() -> list[str]:
    try:
        from moto.core.responses import ActionResult
        from moto.s3 import responses
        from moto.s3.exceptions import ReplicationConfigurationNotFoundError
    except ImportError as exc:
        _log(f"skipped replication-read: {exc}")
        return []
    current = getattr(responses.S3Response, "get_bucket_replication", None)
    if current is None:
        _log("skipped replication-read: S3Response.get_bucket_replication is gone")
        return []
    if getattr(current, PATCHED, False):
        return ["replication-read"]

    def get_bucket_replication(self: Any) -> Any:
        self.data["Action"] = "GetBucketReplication"
        replication = self.backend.get_bucket_replication(self.bucket_name)
        if not replication:
            raise ReplicationConfigurationNotFoundError(bucket_name=self.bucket_name)
        rules = [{key: _as_stored(rule[key]) for key in RULE_MEMBERS if key in rule} for rule in replication["Rule"]]
        return self.serialized(ActionResult({"ReplicationConfiguration": {"Role": replication["Role"], "Rules": rules}}))

    setattr(get_bucket_replication, PATCHED, True)
    responses.S3Response.get_bucket_replication = get_bucket_replication
    return ["replication-read"]
