"""ssm_parameters pure input checks: every refusal names the field, with no API call possible."""

from __future__ import annotations

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.ssm_parameters import (
    MAX_NAME_WITH_ARN,
    build_spec,
    max_name_length,
)

PATH = "/cairn/prod/us-east-1/"


def spec(parameters=None, path=PATH, state="present", region="us-east-1", partition="aws", purge=True):
    return build_spec({"state": state, "path": path, "parameters": parameters, "purge": purge}, region, partition)


def refused(match, **kwargs):
    with pytest.raises(InputError, match=match) as failure:
        spec(**kwargs)
    return failure.value.message


def test_plain_values_become_string_parameters_in_name_order():
    result = spec({"rds/port": 5432, "rds/endpoint": "db.example", "s3/buckets": {"type": "StringList", "value": ["a", "b"]}})
    assert [(e["name"], e["value"], e["type"], e["tier"], e["description"]) for e in result["parameters"]] == [
        ("/cairn/prod/us-east-1/rds/endpoint", "db.example", "String", "Standard", None),
        ("/cairn/prod/us-east-1/rds/port", "5432", "String", "Standard", None),
        ("/cairn/prod/us-east-1/s3/buckets", "a,b", "StringList", "Standard", None),
    ]
    assert result["purge"] is True and result["path"] == PATH


def test_values_are_kept_exactly():
    value = "  spaced value with trailing newline\n"
    assert spec({"a": value})["parameters"][0]["value"] == value


def test_comma_separated_string_list_is_kept_as_given():
    assert spec({"a": {"type": "StringList", "value": "x, y"}})["parameters"][0]["value"] == "x, y"


def test_absent_needs_no_parameters():
    assert spec(None, state="absent")["parameters"] == []


def test_unknown_value_is_planned_not_refused():
    assert spec({"rds/endpoint": UNKNOWN})["parameters"][0]["value"] == UNKNOWN


def test_name_limit_counts_the_arn_prefix():
    # AWS's own example: arn:aws:ssm:us-east-2:111122223333:parameter/ is 45 characters of the 1011.
    assert max_name_length("us-east-2") == MAX_NAME_WITH_ARN - 44
    assert max_name_length("us-gov-west-1", "aws-us-gov") < max_name_length("us-east-1")


@pytest.mark.parametrize("path, words", [
    ("cairn/prod/", ["start and end with '/'"]),
    ("/cairn/prod", ["start and end with '/'"]),
    ("/", ["at least one level"]),
    ("/cairn//prod/", ["empty level"]),
    ("/cairn/prod us/", ["'prod us'", "no spaces"]),
    ("/cairn/pr*d/", ["'pr*d'", "letters, digits"]),
    ("/aws/cairn/", ["reserves"]),
    ("/SSMconfig/", ["reserves"]),
    ("/" + "/".join("l{0}".format(i) for i in range(15)) + "/", ["15 levels", "at most 14"]),
    ("/" + "a" * 1000 + "/", ["no room for a name"]),
])
def test_bad_paths(path, words):
    message = refused("path", path=path, parameters={"a": "b"})
    for word in words:
        assert word in message, message


def test_path_with_fourteen_levels_is_the_deepest():
    path = "/" + "/".join("l{0}".format(i) for i in range(14)) + "/"
    assert spec({"name": "v"}, path=path)["parameters"][0]["name"].count("/") == 15
    refused("parameters.deeper/name: .* 16 levels", path=path, parameters={"deeper/name": "v"})


@pytest.mark.parametrize("name, words", [
    ("/rds/endpoint", ["relative to path"]),
    ("rds/", ["relative to path"]),
    ("rds//endpoint", ["empty level"]),
    ("rds endpoint", ["no spaces"]),
    ("rds/end#point", ["'end#point'"]),
    ("", ["non-empty string"]),
])
def test_names_ssm_refuses(name, words):
    message = refused("parameters", parameters={name: "v"})
    for word in words:
        assert word in message, message


def test_full_name_length_with_the_arn():
    limit = max_name_length("us-east-1")
    fits = "a" * (limit - len(PATH))
    assert spec({fits: "v"})["parameters"][0]["name"] == PATH + fits
    message = refused("parameters.a+: ", parameters={fits + "a": "v"})
    assert "{0} characters".format(limit + 1) in message and "1011" in message


def test_value_over_four_kilobytes():
    assert spec({"a": "x" * 4096})["parameters"][0]["value"] == "x" * 4096
    refused(r"parameters.a.value: is 4097 bytes; a Standard parameter holds at most 4096", parameters={"a": "x" * 4097})


def test_value_size_counts_bytes_not_characters():
    refused("4098 bytes", parameters={"a": "é" * 2049})


def test_secure_string_is_refused_with_the_reason():
    message = refused("parameters.db/password.type: SecureString is refused", parameters={
        "db/password": {"type": "SecureString", "value": "hunter2"}})
    assert "Secrets Manager" in message and "ARN" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("entry, match", [
    ({"type": "Bogus", "value": "v"}, r"parameters.a.type: 'Bogus' is not one of String, StringList"),
    ({"tier": "Advanced", "value": "v"}, r"parameters.a.tier: 'Advanced' is not offered"),
    ({"type": "String"}, r"parameters.a.value: required"),
    ({"value": "v", "overwrite": True}, r"parameters.a: unknown key overwrite"),
    ({"value": "v", "description": "d" * 1025}, r"parameters.a.description: has 1025 characters"),
    ({"value": ""}, r"parameters.a.value: is empty"),
    ({"value": True}, r"parameters.a.value: got bool"),
    ({"value": {"nested": 1}}, r"parameters.a.value: got dict"),
    ({"value": ["x", "y"]}, r"parameters.a.value: a list is a value only for type StringList"),
    ({"type": "StringList", "value": ["x", "y,z"]}, r"parameters.a.value: the StringList item 'y,z'"),
    ({"value": "{{ssm:other}}"}, r"parameters.a.value: holds a \{\{ \}\} reference"),
])
def test_bad_entries(entry, match):
    refused(match, parameters={"a": entry})


def test_parameters_required_when_present():
    refused(r"parameters: required when state=present", parameters=None)


def test_empty_parameters_publish_nothing():
    assert spec({})["parameters"] == []
