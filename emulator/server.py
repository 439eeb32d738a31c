"""moto_server plus our models of the APIs moto lacks.

    python -m emulator.server -H 127.0.0.1 -p PORT        (from the repo root, with the venv python)
    python emulator/server.py -H 127.0.0.1 -p PORT        (from anywhere)

Serves moto's own WSGI application exactly as ``moto_server`` does (same options, same MOTO_*
environment variables, same /moto-api/* endpoints), behind a small WSGI middleware that sends a
request to one of our models when the service name of its SigV4 credential scope is one we model
(``access-analyzer``; ``elasticache`` for its cache parameter groups only; ``eks`` for what moto's EKS lacks),
and everything else to moto. Requests whose path starts with ``/_eks/`` go to the Kubernetes API model of the
emulated EKS clusters (emulator/kube_api.py). ``POST /moto-api/reset`` resets our models too. Requests our
models answer are written to moto's recorder like moto's own. At start-up, emulator/rds_fidelity.py patches moto's RDS model (in this process only).
See emulator/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import signal
import sys
import threading
import uuid
from typing import Any, Iterable
from urllib.parse import parse_qs

if __package__ in (None, ""):  # run as a script: make the repo root importable, not emulator/
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from emulator import access_analyzer, cloudfront_fidelity, eks_fidelity, elasticache_parameter_groups, elbv2_fidelity, rds_fidelity, s3_fidelity, speedups  # noqa: E402

_CREDENTIAL = re.compile(r"Credential=([^/\s,]+)/\d{8}/([^/\s,]+)/([^/\s,]+)/aws4_request")
KUBE_PREFIX = "/_eks/"  # the emulated EKS clusters' Kubernetes API (endpoint http://<host>/_eks/<region>/<cluster>)
_STATUS_TEXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 409: "Conflict", 501: "Not Implemented"}


def credential_scope(environ: dict[str, Any]) -> tuple[str, str, str] | None:
    """(access key id, region, service) of a SigV4-signed request (header or presigned query)."""
    candidates = [environ.get("HTTP_AUTHORIZATION") or ""]
    query_credential = parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential")
    if query_credential:
        candidates.append("Credential=" + query_credential[0])
    for candidate in candidates:
        found = _CREDENTIAL.search(candidate)
        if found:
            return found.group(1), found.group(2), found.group(3)
    return None


def account_id(environ: dict[str, Any], access_key: str) -> str:
    """The account moto would serve this request as (moto.core.responses.get_current_account)."""
    if "MOTO_ACCOUNT_ID" in os.environ:
        return os.environ["MOTO_ACCOUNT_ID"]
    if environ.get("HTTP_X_MOTO_ACCOUNT_ID"):
        return environ["HTTP_X_MOTO_ACCOUNT_ID"]
    from moto.iam.models import get_account_id_from  # access keys of moto IAM users map to their account

    return get_account_id_from(access_key)


def _raw_path(environ: dict[str, Any]) -> str:
    """The path as sent, still percent-encoded (werkzeug's server keeps it in RAW_URI)."""
    from moto.core.request import Request as MotoRequest

    return MotoRequest(environ).raw_path


def _record(environ: dict[str, Any], body: bytes) -> None:
    """Append the request to moto's recorder (if recording), in moto's own format."""
    from moto.core.request import Request as MotoRequest
    from moto.moto_api import recorder

    recorder._record_request(MotoRequest(environ), body)  # pylint: disable=protected-access


class ExtensionMiddleware:
    """Route requests of the services in ``extensions`` (SigV4 signing name -> model) to the model.

    A model's ``handle(Request)`` returns its ``Response``, or None to leave the request to moto (a model
    of part of a service moto otherwise handles, such as ElastiCache's cache parameter groups). A model with
    ``WANTS_CONTEXT = True`` is called as ``handle(Request, host=<Host header>, access_key=<SigV4 key id>)``.
    ``kube_app`` (a WSGI application with ``reset()``) serves every path under ``/_eks/``.
    """

    def __init__(self, moto_app: Any, extensions: dict[str, Any], kube_app: Any = None):
        self._moto_app = moto_app
        # moto's backends are plain dicts shared by the server's threads: a ListRoles serialising
        # while a CreateRole lands raised "dictionary changed size during iteration" (a 500 with an
        # HTML body). One request at a time inside moto; the GIL allowed no more parallelism anyway.
        self._moto_lock = threading.RLock()
        self.extensions = extensions
        self.kube_app = kube_app

    def dispatch(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """An AWS request (or /moto-api/*): to our model of its service, else to moto."""
        if environ.get("REQUEST_METHOD") == "POST" and environ.get("PATH_INFO") == "/moto-api/reset":
            for model in self.extensions.values():
                model.reset()
            if self.kube_app is not None:
                self.kube_app.reset()
            return self.moto_app(environ, start_response)
        scope = credential_scope(environ)
        model = self.extensions.get(scope[2]) if scope else None
        if model is None:
            return self.moto_app(environ, start_response)

        access_key, region, _service = scope
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        from moto.utilities.utils import get_partition

        request = access_analyzer.Request(
            method=environ["REQUEST_METHOD"].upper(),
            raw_path=_raw_path(environ),
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
            body=body,
            account_id=account_id(environ, access_key),
            region=region,
            partition=get_partition(region),
        )
        if getattr(model, "WANTS_CONTEXT", False):
            response = model.handle(request, host=environ.get("HTTP_HOST") or environ.get("SERVER_NAME", ""), access_key=access_key)
        else:
            response = model.handle(request)
        if response is None:  # moto's: hand it the body we read (moto records it itself)
            environ["wsgi.input"] = io.BytesIO(body)
            return self.moto_app(environ, start_response)
        _record(environ, body)
        headers = list(response.headers) + [("Content-Length", str(len(response.body)))]
        if not any(header[0].lower() == "x-amzn-requestid" for header in headers):
            headers.append(("x-amzn-RequestId", str(uuid.uuid4())))
        start_response(f"{response.status} {_STATUS_TEXT.get(response.status, 'Error')}", headers)
        return [response.body]

    def moto_app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        with self._moto_lock:
            return list(self._moto_app(environ, start_response))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.kube_app is not None and environ.get("PATH_INFO", "").startswith(KUBE_PREFIX):
            return self.kube_app(environ, start_response)
        with self._moto_lock:  # our models read and write moto's objects too (EKS, ACM, RDS)
            return self.dispatch(environ, start_response)


def build_app() -> ExtensionMiddleware:
    """moto's WSGI application (as moto_server builds it) behind the extension middleware."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    moto_app = DomainDispatcherApplication(create_backend_app)
    moto_app.debug = True  # as moto_server does
    from emulator.kube_api import KubeApiServer

    return ExtensionMiddleware(moto_app, {
        access_analyzer.SIGNING_NAME: access_analyzer.AccessAnalyzerBackend(),
        elasticache_parameter_groups.SIGNING_NAME: elasticache_parameter_groups.CacheParameterGroupsBackend(),
        eks_fidelity.SIGNING_NAME: eks_fidelity.EksModel(),
    }, kube_app=KubeApiServer())


def _exit(_signum: Any, _frame: Any) -> None:
    sys.exit(0)


def main(argv: list[str] | None = None) -> None:
    """Same command line as moto_server (moto/server.py)."""
    parser = argparse.ArgumentParser(prog="python -m emulator.server", description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("-H", "--host", default="127.0.0.1", help="Which host to bind")
    parser.add_argument("-p", "--port", type=int, default=int(os.environ.get("MOTO_PORT", 5000)), help="Port number to use")
    parser.add_argument("-r", "--reload", action="store_true", help="Reload server on a file change")
    parser.add_argument("-s", "--ssl", action="store_true", help="HTTPS with an auto-generated certificate")
    parser.add_argument("-c", "--ssl-cert", default=None, help="Path to SSL certificate")
    parser.add_argument("-k", "--ssl-key", default=None, help="Path to SSL private key")
    args = parser.parse_args(argv)

    os.environ.setdefault("MOTO_PORT", str(args.port))  # moto builds some URLs (SQS queues...) from it
    try:
        signal.signal(signal.SIGINT, _exit)
        signal.signal(signal.SIGTERM, _exit)
    except ValueError:  # not the main thread
        pass

    speedups.parse_managed_policies_once()
    rds_fidelity.apply()
    s3_fidelity.apply()
    cloudfront_fidelity.apply()
    elbv2_fidelity.apply()
    from moto.moto_server.werkzeug_app import MotoRequestHandler
    from werkzeug.serving import run_simple

    ssl_context: Any = None
    if args.ssl_key and args.ssl_cert:
        ssl_context = (args.ssl_cert, args.ssl_key)
    elif args.ssl:
        ssl_context = "adhoc"
    run_simple(
        args.host,
        args.port,
        build_app(),
        threaded=True,
        use_reloader=args.reload,
        ssl_context=ssl_context,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
