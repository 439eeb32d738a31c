"""Routing of a REST-JSON AWS API (method + URI template of every operation) from botocore's model.

Shared by the models of APIs moto lacks, so every operation of the real API is recognised, also the ones a
model does not implement (those answer NotImplemented rather than falling through to moto).
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple
from urllib.parse import unquote


class Route(NamedTuple):
    method: str
    regex: re.Pattern
    literal: int  # characters outside labels: the most specific template wins
    operation: str


class RestJsonRoutes:
    """The routes of one botocore service (for example ``accessanalyzer`` or ``eks``)."""

    def __init__(self, botocore_service: str):
        self.botocore_service = botocore_service

    @functools.cached_property
    def model(self):
        import botocore.session

        return botocore.session.get_session().get_service_model(self.botocore_service)

    @functools.cached_property
    def routes(self) -> tuple[Route, ...]:
        found = []
        for name in self.model.operation_names:
            http = self.model.operation_model(name).http
            path = http["requestUri"].split("?", 1)[0].rstrip("/") or "/"
            pattern, literal = "", 0
            for part in re.split(r"(\{[^}]+\})", path):
                if part.startswith("{"):
                    label = part.strip("{}+")
                    pattern += f"(?P<{label}>{'.+' if part.endswith('+}') else '[^/]+'})"
                else:
                    pattern += re.escape(part)
                    literal += len(part)
            found.append(Route(http["method"].upper(), re.compile(f"^{pattern}/?$"), literal, name))
        return tuple(sorted(found, key=lambda route: -route.literal))

    def match(self, method: str, raw_path: str) -> tuple[str | None, dict[str, str]]:
        """(operation name, decoded URI labels), or (None, {}) when no operation of the API has this route."""
        path = raw_path.split("?", 1)[0]
        for route in self.routes:
            found = route.regex.match(path)
            if found and route.method == method:
                return route.operation, {key: unquote(value) for key, value in found.groupdict().items()}
        return None, {}
