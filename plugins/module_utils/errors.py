# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Turn SDK exceptions into sentences a person understands."""

from __future__ import annotations

try:
    import botocore.exceptions as botocore_exceptions
except ImportError:  # reported by aws.require_sdk()
    botocore_exceptions = None


class CairnError(Exception):
    """A failure with a sentence for the user and optional details for the result."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class InputError(CairnError):
    """Invalid input, raised before any API call."""


# Error codes whose AWS message alone leaves the user guessing what to do.
_HINTS = {
    "UnauthorizedOperation": "the credentials in use lack this permission; check the IAM policy of the caller",
    "AccessDenied": "the credentials in use lack this permission; check the IAM policy of the caller",
    "AccessDeniedException": "the credentials in use lack this permission; check the IAM policy of the caller",
    "AuthFailure": "the credentials are invalid or expired",
    "ExpiredToken": "the session token has expired; refresh the credentials",
    "InvalidClientTokenId": "the access key is not known to AWS; check the profile or credentials",
    "RequestLimitExceeded": "AWS throttled the request after all retries; rerun, or set retry_mode=adaptive",
    "Throttling": "AWS throttled the request after all retries; rerun, or set retry_mode=adaptive",
    "ThrottlingException": "AWS throttled the request after all retries; rerun, or set retry_mode=adaptive",
    "AddressLimitExceeded": "the account's Elastic IP quota is used up; release unused addresses or raise the quota",
    "NatGatewayLimitExceeded": "the NAT gateway quota per AZ is used up; raise the quota",
    "VpcLimitExceeded": "the region's VPC quota is used up; raise the quota",
    "InvalidSubnet.Conflict": "a subnet CIDR overlaps a subnet that already exists in the VPC (perhaps one not managed by cairn.platform)",
    "DependencyViolation": "another resource still depends on it; it may not be managed by cairn.platform",
}


def describe_exception(exc, action):
    """Return (sentence, details) for an exception raised while doing `action`."""
    if botocore_exceptions is not None:
        if isinstance(exc, botocore_exceptions.ClientError):
            error = exc.response.get("Error", {})
            code = error.get("Code", "Unknown")
            message = error.get("Message", "")
            operation = getattr(exc, "operation_name", "") or "the call"
            sentence = "AWS refused {op} while {action}: {code}: {msg}".format(
                op=operation, action=action, code=code, msg=message.rstrip(".")
            )
            hint = _HINTS.get(code)
            if hint:
                sentence += " ({0})".format(hint)
            details = {
                "error_code": code,
                "operation": operation,
                "request_id": exc.response.get("ResponseMetadata", {}).get("RequestId"),
            }
            return sentence + ".", details
        if isinstance(exc, botocore_exceptions.NoCredentialsError):
            return (
                "No AWS credentials were found while {0}: set profile, access_key/secret_key, "
                "or the SDK environment (AWS_PROFILE, AWS_ACCESS_KEY_ID ...).".format(action),
                {"error_code": "NoCredentials"},
            )
        if isinstance(exc, botocore_exceptions.ProfileNotFound):
            return (
                "The AWS profile named in profile/AWS_PROFILE does not exist ({0}).".format(exc),
                {"error_code": "ProfileNotFound"},
            )
        if isinstance(exc, botocore_exceptions.EndpointConnectionError):
            return (
                "Could not reach the AWS endpoint while {0}: {1}. Check endpoint_url/AWS_ENDPOINT_URL "
                "and the network.".format(action, exc),
                {"error_code": "EndpointConnectionError"},
            )
        if isinstance(exc, botocore_exceptions.WaiterError):
            return ("Gave up waiting while {0}: {1}.".format(action, exc), {"error_code": "WaiterError"})
        if isinstance(exc, botocore_exceptions.BotoCoreError):
            return ("The AWS SDK failed while {0}: {1}.".format(action, exc), {"error_code": type(exc).__name__})
    if isinstance(exc, CairnError):
        return exc.message, exc.details
    return "Unexpected error while {0}: {1}: {2}".format(action, type(exc).__name__, exc), {}


def error_code(exc):
    """The AWS error code of a ClientError, or None."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return response.get("Error", {}).get("Code")
    return None
