# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM policy documents compared by meaning, not by text.

Statement order, a single string versus a one-item list, duplicate entries and JSON formatting
do not make two policies different; anything else does.
"""

from __future__ import annotations

import json
from urllib.parse import unquote

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError

_LIST_KEYS = ("Action", "NotAction", "Resource", "NotResource")


def _condition_value(value):
    # IAM returns condition values as strings: true -> "true", 443 -> "443".
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _as_sorted_list(value):
    values = value if isinstance(value, list) else [value]
    return sorted({json.dumps(item, sort_keys=True) if not isinstance(item, str) else item for item in values})


def _normalize_principal(principal):
    if isinstance(principal, dict):
        return {key: _as_sorted_list(value) for key, value in sorted(principal.items())}
    return principal


def _normalize_statement(statement):
    normalized = {}
    for key, value in statement.items():
        if key in _LIST_KEYS:
            normalized[key] = _as_sorted_list(value)
        elif key in ("Principal", "NotPrincipal"):
            normalized[key] = _normalize_principal(value)
        elif key == "Condition":
            normalized[key] = {
                operator: {name: _as_sorted_list([_condition_value(v) for v in (vals if isinstance(vals, list) else [vals])])
                           for name, vals in sorted(conditions.items())}
                for operator, conditions in sorted(value.items())
            }
        else:
            normalized[key] = value
    return normalized


def load_policy(document, field="policy"):
    """A policy as a dict, from a dict, JSON text or URL-encoded JSON (as IAM returns it)."""
    if isinstance(document, dict):
        return document
    if isinstance(document, str):
        text = unquote(document) if document.lstrip().startswith("%7B") else document
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise InputError("{0} is not valid JSON: {1}.".format(field, exc))
        if not isinstance(value, dict):
            raise InputError("{0} must be a JSON object with a Statement list.".format(field))
        return value
    raise InputError("{0} must be a dict or a JSON string; got {1}.".format(field, type(document).__name__))


def normalize_policy(document, field="policy"):
    policy = load_policy(document, field)
    statements = policy.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    normalized = {key: value for key, value in policy.items() if key != "Statement"}
    normalized["Statement"] = sorted(
        (_normalize_statement(statement) for statement in statements), key=lambda item: json.dumps(item, sort_keys=True)
    )
    return normalized


def policies_equal(left, right):
    return normalize_policy(left) == normalize_policy(right)


def to_json(policy):
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))
