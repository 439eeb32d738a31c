"""plugins/module_utils/policy.py: IAM policies compared by meaning, not by text."""

from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.policy import (
    load_policy,
    normalize_policy,
    policies_equal,
    to_json,
)

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {
            "StringEquals": {"aws:SourceAccount": "123456789012"},
            "ArnLike": {"aws:SourceArn": "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"},
        },
    }],
}

DELIVERY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Deliver", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
         "Resource": ["arn:aws:logs:us-east-1:123456789012:log-group:/g", "arn:aws:logs:us-east-1:123456789012:log-group:/g:*"]},
        {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/*"},
    ],
}


def statement(policy, index=0):
    return policy["Statement"][index]


def copy(policy):
    return json.loads(json.dumps(policy))


# ---- semantic equality -----------------------------------------------------------------------
def test_identical_policies_are_equal():
    assert policies_equal(TRUST, copy(TRUST))


def test_statement_order_does_not_matter():
    reordered = copy(DELIVERY)
    reordered["Statement"].reverse()
    assert policies_equal(DELIVERY, reordered)


def test_single_statement_object_equals_one_item_list():
    single = copy(TRUST)
    single["Statement"] = single["Statement"][0]
    assert policies_equal(TRUST, single)


@pytest.mark.parametrize("key", ["Action", "Resource"])
def test_string_equals_one_item_list(key):
    as_list = copy(DELIVERY)
    statement(as_list, 1)[key] = [statement(as_list, 1)[key]]
    assert policies_equal(DELIVERY, as_list)


def test_list_order_and_duplicates_do_not_matter():
    shuffled = copy(DELIVERY)
    actions = statement(shuffled)["Action"]
    statement(shuffled)["Action"] = list(reversed(actions)) + [actions[0]]
    statement(shuffled)["Resource"] = list(reversed(statement(shuffled)["Resource"]))
    assert policies_equal(DELIVERY, shuffled)


def test_principal_string_equals_one_item_list():
    as_list = copy(TRUST)
    statement(as_list)["Principal"] = {"Service": ["vpc-flow-logs.amazonaws.com"]}
    assert policies_equal(TRUST, as_list)


def test_condition_value_list_equals_scalar():
    as_list = copy(TRUST)
    statement(as_list)["Condition"]["StringEquals"]["aws:SourceAccount"] = ["123456789012"]
    assert policies_equal(TRUST, as_list)


def test_condition_value_number_equals_string():
    left = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                           "Condition": {"NumericLessThan": {"s3:max-keys": 10}}}]}
    right = {"Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*",
                            "Condition": {"NumericLessThan": {"s3:max-keys": ["10"]}}}]}
    assert policies_equal(left, right)


def test_condition_value_boolean_equals_its_string_form():
    left = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                           "Condition": {"Bool": {"aws:SecureTransport": False}}}]}
    right = {"Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*",
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    assert policies_equal(left, right)


def test_json_text_equals_dict():
    assert policies_equal(json.dumps(TRUST, indent=4), TRUST)
    assert policies_equal(TRUST, to_json(TRUST))


def test_url_encoded_json_as_iam_returns_it():
    encoded = quote(json.dumps(TRUST, indent=2), safe="")
    assert encoded.startswith("%7B")
    assert load_policy(encoded) == TRUST
    assert policies_equal(encoded, TRUST)
    assert policies_equal(quote(to_json(DELIVERY), safe=""), DELIVERY)


def test_normalize_is_stable_and_to_json_is_compact_and_sorted():
    assert normalize_policy(DELIVERY) == normalize_policy(to_json(DELIVERY))
    text = to_json({"b": 1, "a": [1, 2]})
    assert text == '{"a":[1,2],"b":1}'


# ---- real differences --------------------------------------------------------------------------
def _changed(mutate, base=None):
    other = copy(TRUST if base is None else base)
    mutate(other)
    return other


@pytest.mark.parametrize("mutate", [
    lambda p: statement(p).update(Effect="Deny"),
    lambda p: statement(p).update(Action=["sts:AssumeRole", "sts:TagSession"]),
    lambda p: statement(p).update(Principal={"Service": "ec2.amazonaws.com"}),
    lambda p: statement(p).update(Principal={"AWS": "vpc-flow-logs.amazonaws.com"}),
    lambda p: statement(p)["Condition"]["StringEquals"].update({"aws:SourceAccount": "999999999999"}),
    lambda p: statement(p)["Condition"]["StringEquals"].update({"aws:SourceAccount": ["123456789012", "999999999999"]}),
    lambda p: statement(p)["Condition"].pop("ArnLike"),
    lambda p: statement(p)["Condition"].update(StringLike=statement(p)["Condition"].pop("StringEquals")),
    lambda p: p["Statement"].append({"Effect": "Allow", "Action": "sts:TagSession", "Principal": {"Service": "x"}}),
    lambda p: p.update(Version="2008-10-17"),
], ids=["effect", "extra-action", "principal-value", "principal-type", "condition-value", "condition-extra-value",
        "condition-removed", "condition-operator", "extra-statement", "version"])
def test_real_differences_are_detected(mutate):
    assert not policies_equal(TRUST, _changed(mutate))


@pytest.mark.parametrize("mutate", [
    lambda p: statement(p).update(Resource=statement(p)["Resource"][:1]),
    lambda p: statement(p, 1).update(Resource="arn:aws:s3:::other/*"),
    lambda p: statement(p, 1).update(Sid="Renamed"),
    lambda p: statement(p, 1).update(NotAction=statement(p, 1).pop("Action")),
    lambda p: p["Statement"].pop(),
])
def test_real_differences_in_permissions_are_detected(mutate):
    assert not policies_equal(DELIVERY, _changed(mutate, DELIVERY))


# ---- invalid input names the field -----------------------------------------------------------
@pytest.mark.parametrize("document", ["{not json", quote("{not json", safe=""), ""])
def test_invalid_json_raises_input_error_naming_the_field(document):
    with pytest.raises(InputError) as err:
        normalize_policy(document, field="bucket_policy")
    assert "bucket_policy" in err.value.message
    assert "JSON" in err.value.message


@pytest.mark.parametrize("document", ["[1, 2]", '"text"', 42, ["Statement"]])
def test_non_object_policy_raises_input_error_naming_the_field(document):
    with pytest.raises(InputError) as err:
        load_policy(document, field="trust_policy")
    assert "trust_policy" in err.value.message


def test_policies_equal_reports_invalid_json_as_input_error():
    with pytest.raises(InputError) as err:
        policies_equal("{", TRUST)
    assert "policy" in err.value.message
