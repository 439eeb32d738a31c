"""A small model of IAM Access Analyzer (REST-JSON, API version 2019-11-01): analyzers and their tags.

Faithful to the AWS API reference (https://docs.aws.amazon.com/access-analyzer/latest/APIReference/)
and to botocore's service model (botocore/data/accessanalyzer/2019-11-01/service-2.json), which also
supplies the routes: every operation of the real API is recognised, the ones not modelled here
answer HTTP 501 ``NotImplemented`` with their name. emulator/README.md lists what is modelled.

State is kept per account and region; the model knows nothing about WSGI (see emulator/server.py).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
import threading
import uuid
from typing import Any, Callable, NamedTuple

from emulator.restjson import RestJsonRoutes

SIGNING_NAME = "access-analyzer"
BOTOCORE_SERVICE = "accessanalyzer"
RESOURCE_TYPE = "AWS::AccessAnalyzer::Analyzer"

# From the service model: shapes AnalyzerName, Type and TagsMap (limits from the API reference).
ANALYZER_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
ANALYZER_TYPES = (
    "ACCOUNT",
    "ORGANIZATION",
    "ACCOUNT_UNUSED_ACCESS",
    "ORGANIZATION_UNUSED_ACCESS",
    "ACCOUNT_INTERNAL_ACCESS",
    "ORGANIZATION_INTERNAL_ACCESS",
)


class Request(NamedTuple):
    """One API request, already attributed to an account and a region."""

    method: str
    raw_path: str  # percent-encoded, as sent (an ARN in a URI label keeps its %2F)
    query: dict[str, list[str]]
    body: bytes
    account_id: str
    region: str
    partition: str = "aws"


class Response(NamedTuple):
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class ServiceError(Exception):
    """An error response in the restJson1 style: ``x-amzn-ErrorType`` header + JSON body."""

    def __init__(self, status: int, code: str, message: str, **fields: Any):
        super().__init__(message)
        self.status = status
        self.code = code
        self.fields = dict(message=message, **fields)


def validation_error(message: str, field: str | None = None, reason: str = "fieldValidationFailed") -> ServiceError:
    fields: dict[str, Any] = {"reason": reason}
    if field:
        fields["fieldList"] = [{"name": field, "message": message}]
    return ServiceError(400, "ValidationException", message, **fields)


def not_found(resource_id: str) -> ServiceError:
    return ServiceError(
        404, "ResourceNotFoundException", f"Analyzer {resource_id} not found.", resourceId=resource_id, resourceType=RESOURCE_TYPE
    )


def conflict(resource_id: str, message: str) -> ServiceError:
    return ServiceError(409, "ConflictException", message, resourceId=resource_id, resourceType=RESOURCE_TYPE)


# --------------------------------------------------------------------------------------------
# Routing: method + URI template of every operation, from botocore's model of the real API
# --------------------------------------------------------------------------------------------
ROUTES = RestJsonRoutes(BOTOCORE_SERVICE)
match = ROUTES.match


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def _timestamp(value: datetime.datetime) -> str:
    # restJson1 body timestamps are ISO 8601 (date-time) by default.
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


class RegionState:
    def __init__(self) -> None:
        self.analyzers: dict[str, dict[str, Any]] = {}  # name -> analyzer, in creation order
        self.sequence = 0
        self.create_tokens: dict[str, tuple[str, str]] = {}  # clientToken -> (request fingerprint, arn)
        self.delete_tokens: dict[str, str] = {}  # clientToken -> analyzer name

    def by_arn(self, arn: str) -> dict[str, Any]:
        for analyzer in self.analyzers.values():
            if analyzer["arn"] == arn:
                return analyzer
        raise not_found(arn)

    def by_name(self, name: str) -> dict[str, Any]:
        if name not in self.analyzers:
            raise not_found(name)
        return self.analyzers[name]


def _summary(analyzer: dict[str, Any]) -> dict[str, Any]:
    summary = {
        "arn": analyzer["arn"],
        "name": analyzer["name"],
        "type": analyzer["type"],
        "createdAt": _timestamp(analyzer["createdAt"]),
        "status": analyzer["status"],
        "tags": dict(analyzer["tags"]),
    }
    if analyzer.get("configuration"):
        summary["configuration"] = analyzer["configuration"]
    return summary


def _check_tags(tags: Any, field: str = "tags") -> dict[str, str]:
    if not isinstance(tags, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
        raise validation_error(f"{field} must be a map of strings to strings.", field)
    for key, value in tags.items():
        if not 1 <= len(key) <= 128:
            raise validation_error(f"Tag key {key!r} must be 1 to 128 characters long.", field)
        if key.lower().startswith("aws:"):
            raise validation_error(f"Tag key {key!r} must not start with the reserved prefix aws:.", field)
        if len(value) > 256:
            raise validation_error(f"The value of tag {key!r} must be at most 256 characters long.", field)
    return dict(tags)


def _page_token(sequence: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": sequence}).encode()).decode()


def _read_page_token(token: str) -> int:
    try:
        return int(json.loads(base64.urlsafe_b64decode(token.encode()))["after"])
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise validation_error("Invalid nextToken.", "nextToken") from exc


class AccessAnalyzerBackend:
    """Analyzers per (account, region). Thread-safe: moto's server is threaded."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[tuple[str, str], RegionState] = {}
        self.handlers: dict[str, Callable[[RegionState, Request, dict[str, str]], Any]] = {
            "CreateAnalyzer": self.create_analyzer,
            "GetAnalyzer": self.get_analyzer,
            "ListAnalyzers": self.list_analyzers,
            "DeleteAnalyzer": self.delete_analyzer,
            "TagResource": self.tag_resource,
            "UntagResource": self.untag_resource,
            "ListTagsForResource": self.list_tags_for_resource,
        }

    def reset(self) -> None:
        with self._lock:
            self._state.clear()

    # -- entry point ------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        operation, labels = match(request.method, request.raw_path)
        try:
            if operation is None:
                raise ServiceError(
                    404, "UnknownOperationException", f"No IAM Access Analyzer operation has the route {request.method} {request.raw_path}."
                )
            handler = self.handlers.get(operation)
            if handler is None:
                raise ServiceError(
                    501, "NotImplemented",
                    f"IAM Access Analyzer {operation} is not modelled by the local emulator (see emulator/README.md).",
                )
            with self._lock:
                state = self._state.setdefault((request.account_id, request.region), RegionState())
                result = handler(state, request, labels)
        except ServiceError as error:
            return self._response(error.status, error.fields, error_type=error.code)
        return self._response(200, result)

    @staticmethod
    def _response(status: int, payload: Any, error_type: str | None = None) -> Response:
        headers = [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))]
        if error_type:
            headers.append(("x-amzn-ErrorType", error_type))
        body = b"" if payload is None else json.dumps(payload).encode()
        return Response(status, headers, body)

    @staticmethod
    def _json_body(request: Request) -> dict[str, Any]:
        if not request.body:
            return {}
        try:
            body = json.loads(request.body)
        except ValueError as exc:
            raise validation_error("The request body is not valid JSON.", reason="cannotParse") from exc
        if not isinstance(body, dict):
            raise validation_error("The request body must be a JSON object.", reason="cannotParse")
        return body

    # -- operations -------------------------------------------------------------------------
    def create_analyzer(self, state: RegionState, request: Request, _labels: dict[str, str]) -> dict[str, Any]:
        body = self._json_body(request)
        name, kind = body.get("analyzerName"), body.get("type")
        if not isinstance(name, str) or not 1 <= len(name) <= 255 or not ANALYZER_NAME.match(name):
            raise validation_error("analyzerName must be 1 to 255 characters matching [A-Za-z_][A-Za-z0-9_.-]*.", "analyzerName")
        if kind not in ANALYZER_TYPES:
            raise validation_error(f"type must be one of {', '.join(ANALYZER_TYPES)}.", "type")
        tags = _check_tags(body.get("tags", {}))
        if not isinstance(body.get("archiveRules", []), list):
            raise validation_error("archiveRules must be a list.", "archiveRules")
        configuration = body.get("configuration")
        if configuration is not None and not isinstance(configuration, dict):
            raise validation_error("configuration must be an object.", "configuration")

        token = body.get("clientToken")
        fingerprint = json.dumps({k: v for k, v in body.items() if k != "clientToken"}, sort_keys=True)
        if token is not None and token in state.create_tokens:
            seen_fingerprint, arn = state.create_tokens[token]
            if seen_fingerprint != fingerprint:
                raise conflict(name, f"clientToken {token} was already used with a different CreateAnalyzer request.")
            return {"arn": arn}  # a retry of the same request: the same answer
        if name in state.analyzers:
            raise conflict(name, f"An analyzer named {name} already exists.")

        arn = f"arn:{request.partition}:access-analyzer:{request.region}:{request.account_id}:analyzer/{name}"
        state.sequence += 1
        state.analyzers[name] = {
            "arn": arn,
            "name": name,
            "type": kind,
            "createdAt": _now(),
            "status": "ACTIVE",
            "tags": tags,
            "configuration": configuration,
            "sequence": state.sequence,
        }
        if token is not None:
            state.create_tokens[token] = (fingerprint, arn)
        return {"arn": arn}

    def get_analyzer(self, state: RegionState, _request: Request, labels: dict[str, str]) -> dict[str, Any]:
        return {"analyzer": _summary(state.by_name(labels["analyzerName"]))}

    def list_analyzers(self, state: RegionState, request: Request, _labels: dict[str, str]) -> dict[str, Any]:
        kind = (request.query.get("type") or [None])[0]
        if kind is not None and kind not in ANALYZER_TYPES:
            raise validation_error(f"type must be one of {', '.join(ANALYZER_TYPES)}.", "type")
        limit = None
        if request.query.get("maxResults"):
            try:
                limit = int(request.query["maxResults"][0])
            except ValueError as exc:
                raise validation_error("maxResults must be an integer.", "maxResults") from exc
            if limit < 1:
                raise validation_error("maxResults must be at least 1.", "maxResults")
        after = _read_page_token(request.query["nextToken"][0]) if request.query.get("nextToken") else 0
        matching = [a for a in state.analyzers.values() if (kind is None or a["type"] == kind) and a["sequence"] > after]
        page = matching[:limit] if limit else matching
        result: dict[str, Any] = {"analyzers": [_summary(a) for a in page]}
        if len(page) < len(matching):
            result["nextToken"] = _page_token(page[-1]["sequence"])
        return result

    def delete_analyzer(self, state: RegionState, request: Request, labels: dict[str, str]) -> None:
        name = labels["analyzerName"]
        token = (request.query.get("clientToken") or [None])[0]
        if name not in state.analyzers and token is not None and state.delete_tokens.get(token) == name:
            return None  # a retry of a delete that already succeeded
        state.by_name(name)
        del state.analyzers[name]
        if token is not None:
            state.delete_tokens[token] = name
        return None

    def tag_resource(self, state: RegionState, request: Request, labels: dict[str, str]) -> dict[str, Any]:
        body = self._json_body(request)
        if "tags" not in body:
            raise validation_error("tags is required.", "tags")
        tags = _check_tags(body["tags"])
        state.by_arn(labels["resourceArn"])["tags"].update(tags)
        return {}

    def untag_resource(self, state: RegionState, request: Request, labels: dict[str, str]) -> dict[str, Any]:
        keys = request.query.get("tagKeys")
        if not keys:
            raise validation_error("tagKeys is required.", "tagKeys")
        analyzer = state.by_arn(labels["resourceArn"])
        for key in keys:
            analyzer["tags"].pop(key, None)
        return {}

    def list_tags_for_resource(self, state: RegionState, _request: Request, labels: dict[str, str]) -> dict[str, Any]:
        return {"tags": dict(state.by_arn(labels["resourceArn"])["tags"])}
