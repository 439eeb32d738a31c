"""Local AWS emulator (moto_server) for tests, and counting of the API calls made against it.

Only the test harness knows it talks to an emulator: code under test gets an endpoint URL
(AWS_ENDPOINT_URL or the modules' endpoint_url option) and nothing else.

    with Emulator() as emu:                      # moto_server on a free 127.0.0.1 port
        os.environ["AWS_ENDPOINT_URL"] = emu.endpoint_url
        with emu.recording() as calls:           # moto's recorder API, server side
            ...                                  # run the code under test
        assert mutating_calls(calls) == []       # filled when the block exits

Each ``Call(service, operation, mutating)`` is one SDK invocation: retries of the same
invocation (same ``amz-sdk-invocation-id`` header) are counted once. Known blind spot of the
recorder: requests moto has no route for (HTTP 404) are not recorded.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable, Iterator, NamedTuple
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "Call",
    "Emulator",
    "EmulatorError",
    "count_by_operation",
    "mutating_calls",
    "parse_recording",
]

# Operation-name prefixes that only read. Everything else counts as mutating.
READ_ONLY_PREFIXES = (
    "Describe",
    "Get",
    "List",
    "Head",
    "Search",
    "Lookup",
    "Check",
    "Scan",
    "Query",
    "Select",
    "BatchGet",
)

_CREDENTIAL_SCOPE = re.compile(r"Credential=[^/\s,]+/\d{8}/([^/\s,]+)/([^/\s,]+)/aws4_request")
_RPC_V2_PATH = re.compile(r"^/service/([^/]+)/operation/([^/?]+)")


class Call(NamedTuple):
    """One SDK invocation seen by the emulator."""

    service: str  # signing name from the SigV4 credential scope (ec2, iam, logs, monitoring ...)
    operation: str  # API operation name, e.g. CreateVpc
    mutating: bool


class EmulatorError(RuntimeError):
    pass


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


def mutating_calls(calls: Iterable[Call]) -> list[Call]:
    """The calls that change something."""
    return [call for call in calls if call.mutating]


def count_by_operation(calls: Iterable[Call]) -> dict[str, int]:
    """``{"ec2:CreateVpc": 1, ...}`` in first-seen order."""
    return dict(collections.Counter(f"{call.service}:{call.operation}" for call in calls))


# --------------------------------------------------------------------------------------
# Parsing of moto recorder lines
# --------------------------------------------------------------------------------------


def _header(headers: dict, name: str) -> str | None:
    name = name.lower()
    for key, value in headers.items():
        if key.lower() == name:
            return value
    return None


def _body_text(entry: dict) -> str:
    body = entry.get("body") or ""
    if entry.get("body_encoded"):
        try:
            return base64.b64decode(body).decode("utf-8", "replace")
        except ValueError:
            return ""
    return body


def _service_from(headers: dict, url: str, query: dict) -> str | None:
    for candidate in (
        _header(headers, "Authorization"),
        (query.get("X-Amz-Credential") or [None])[0],
    ):
        if candidate:
            match = _CREDENTIAL_SCOPE.search(candidate if "Credential=" in candidate else "Credential=" + candidate)
            if match:
                return match.group(2)
    # Unsigned request through a real AWS host name: ec2.us-east-1.amazonaws.com.
    host = (_header(headers, "Host") or urlsplit(url).netloc).split(":")[0]
    if host.endswith(".amazonaws.com"):
        return host.split(".")[0]
    return None


@functools.lru_cache(maxsize=None)
def _botocore_session():
    import botocore.session

    return botocore.session.get_session()


@functools.lru_cache(maxsize=None)
def _models_for_signing_name(signing_name: str) -> tuple:
    """botocore service models whose requests are signed as ``signing_name``."""
    session = _botocore_session()
    available = session.get_available_services()
    if signing_name in available:
        model = session.get_service_model(signing_name)
        if model.signing_name == signing_name:
            return (model,)
    # Signing name differs from the client name (aps -> amp, elasticfilesystem -> efs ...):
    # scan once; only REST requests of such services get here.
    return tuple(
        model
        for model in (session.get_service_model(name) for name in available)
        if model.signing_name == signing_name
    )


@functools.lru_cache(maxsize=None)
def _rest_routes(model) -> list:
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = http.get("requestUri", "/")
        path, query = (uri.split("?", 1) + [""])[:2]
        required = {}
        for item in filter(None, query.split("&")):
            key, value = (item.split("=", 1) + [""])[:2]
            required[key] = value or None
        pattern = ""
        literal = 0
        for part in re.split(r"(\{[^}]+\})", path.rstrip("/")):
            if part.startswith("{"):
                pattern += ".+" if part.endswith("+}") else "[^/]+"
            else:
                pattern += re.escape(part)
                literal += len(part)
        # Same method and path, told apart by a required header (PutObject vs CopyObject).
        input_shape = model.operation_model(name).input_shape
        headers = tuple(
            member.serialization["name"].lower()
            for member_name, member in (input_shape.members.items() if input_shape else ())
            if member.serialization.get("location") == "header" and member_name in input_shape.required_members
        )
        routes.append(
            (
                http.get("method", "POST").upper(),
                re.compile("^" + pattern + "/?$"),
                required,
                headers,
                (len(required) + len(headers), literal),
                name,
            )
        )
    return routes


def _rest_operation(service: str | None, method: str, path: str, query: dict, headers: dict) -> str | None:
    if not service:
        return None
    present_headers = {key.lower() for key in headers}
    best = None
    for model in _models_for_signing_name(service):
        if not model.protocol.startswith("rest"):
            continue
        for route_method, regex, required, required_headers, score, name in _rest_routes(model):
            if route_method != method or not regex.match(path.rstrip("/") or "/"):
                continue
            if any(key not in query or (value is not None and value not in query[key]) for key, value in required.items()):
                continue
            if not present_headers.issuperset(required_headers):
                continue
            if best is None or score > best[0]:
                best = (score, name)
    return best[1] if best else None


def parse_entry(entry: dict) -> tuple[str | None, Call] | None:
    """(invocation id, Call) for one recorder line; None for the emulator's own API."""
    url = entry.get("url", "")
    parts = urlsplit(url)
    if parts.path.startswith("/moto-api/"):
        return None
    headers = entry.get("headers") or {}
    method = (entry.get("method") or "GET").upper()
    query = parse_qs(parts.query, keep_blank_values=True)
    service = _service_from(headers, url, query)

    operation = None
    target = _header(headers, "X-Amz-Target")
    if target:  # JSON protocols: "Logs_20140328.CreateLogGroup"
        operation = target.rsplit(".", 1)[-1]
        if not service:
            service = target.rsplit(".", 1)[0].split("_")[0].lower()
    if not operation:  # Smithy RPC v2 CBOR: POST /service/<Service>/operation/<Operation>
        match = _RPC_V2_PATH.match(parts.path)
        if match:
            operation = match.group(2)
    if not operation:  # query protocol (ec2, iam, sts ...): Action= in the form body or URL
        content_type = _header(headers, "Content-Type") or ""
        body = _body_text(entry)
        form = {}
        if "x-www-form-urlencoded" in content_type or body.startswith("Action="):
            form = parse_qs(body, keep_blank_values=True)
        action = (form.get("Action") or query.get("Action") or [None])[0]
        if action:
            operation = action
    if not operation:  # REST protocols: match method + path against the service's API model
        operation = _rest_operation(service, method, parts.path, query, headers)
    if operation:
        mutating = is_mutating(operation)
    else:  # unknown REST route: fall back to the HTTP verb
        operation = f"{method} {parts.path}"
        mutating = method not in ("GET", "HEAD", "OPTIONS")
    return _header(headers, "Amz-Sdk-Invocation-Id"), Call(service or "unknown", operation, mutating)


def parse_recording(text: str) -> list[Call]:
    """Calls from moto's ``download-recording`` output (one JSON object per line).

    Retries share the SDK's invocation id and are counted once.
    """
    calls = []
    seen = set()
    for line in text.splitlines():
        if not line.strip():
            continue
        parsed = parse_entry(json.loads(line))
        if parsed is None:
            continue
        invocation_id, call = parsed
        if invocation_id:
            if invocation_id in seen:
                continue
            seen.add(invocation_id)
        calls.append(call)
    return calls


# --------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------


def _moto_server_command() -> list[str]:
    """The project's emulator (moto's server plus the models in emulator/, see emulator/README.md),
    run by the interpreter running the tests (the project venv)."""
    return [sys.executable, str(Path(__file__).resolve().parents[2] / "emulator" / "server.py")]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Emulator:
    """A moto_server process on 127.0.0.1 (a free port unless one is given)."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None, ready_timeout: float = 30.0):
        self.host = host
        self.port = port
        self.ready_timeout = ready_timeout
        self.process: subprocess.Popen | None = None
        self._workdir: str | None = None
        self._log = None

    # -- lifecycle -----------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        if self.port is None:
            raise EmulatorError("emulator is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return Path(self._workdir or ".") / "moto_server.log"

    def start(self) -> "Emulator":
        if self.process is not None:
            return self
        self._workdir = tempfile.mkdtemp(prefix="cairn-emulator-")
        env = dict(os.environ)
        env.update(
            MOTO_IAM_LOAD_MANAGED_POLICIES="true",
            # ACM issues a DNS-validated certificate minutes after its records exist; moto after this delay (60 s by default).
            MOTO_ACM_VALIDATION_WAIT="2",
            # The recorder writes to the cwd by default; keep it out of the repo.
            MOTO_RECORDER_FILEPATH=os.path.join(self._workdir, "recording.jsonl"),
        )
        env.pop("MOTO_ENABLE_RECORDING", None)
        fixed_port = self.port
        # A port found free may be taken before moto binds it: retry with another one.
        for _attempt in range(3):
            self.port = fixed_port or _free_port(self.host)
            self._log = open(self.log_path, "ab")
            self.process = subprocess.Popen(
                _moto_server_command() + ["-H", self.host, "-p", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                cwd=self._workdir,
                env=env,
            )
            if self._wait_ready():
                return self
            self._terminate()
            if fixed_port:
                break
        log_tail = self.log_path.read_text(errors="replace")[-2000:]
        raise EmulatorError(f"moto_server did not become ready on {self.host}:{self.port}:\n{log_tail}")

    def _wait_ready(self) -> bool:
        deadline = time.monotonic() + self.ready_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                self._request("GET", "/moto-api/config", timeout=1)
                return True
            except (OSError, EmulatorError):
                time.sleep(0.1)
        return False

    def _terminate(self) -> None:
        if self.process is not None:
            if self.process.poll() is None:
                self.process.terminate()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
            self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def stop(self) -> None:
        self._terminate()
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> "Emulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- moto's control API ----------------------------------------------------------------
    def _request(self, method: str, path: str, timeout: float = 30) -> str:
        request = urllib.request.Request(self.endpoint_url + path, method=method, data=b"" if method == "POST" else None)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read().decode("utf-8")
        except urllib.error.HTTPError as exc:
            raise EmulatorError(f"{method} {path} -> HTTP {exc.code}") from exc

    def reset(self) -> None:
        """Forget every resource in every region (POST /moto-api/reset)."""
        self._request("POST", "/moto-api/reset")

    @contextlib.contextmanager
    def recording(self) -> Iterator[list[Call]]:
        """Record the API calls made inside the block; the yielded list is filled on exit."""
        calls: list[Call] = []
        self._request("POST", "/moto-api/recorder/reset-recording")
        self._request("POST", "/moto-api/recorder/start-recording")
        try:
            yield calls
        finally:
            self._request("POST", "/moto-api/recorder/stop-recording")
            calls.extend(parse_recording(self.download_recording()))

    def download_recording(self) -> str:
        """The recorder's raw log: one JSON object per HTTP request."""
        return self._request("GET", "/moto-api/recorder/download-recording")
