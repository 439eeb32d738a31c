"""The emulator launcher (emulator/server.py) and its IAM Access Analyzer model, driven with boto3.

The session's emulator (tests/conftest.py) is started by tests/support/emulator.py, which runs the
launcher; these tests check the model operation by operation (emulator/README.md) and that moto,
its reset and its recorder still work through the launcher.
"""

from __future__ import annotations

import datetime

import boto3
import pytest
from botocore.exceptions import ClientError
from support.emulator import Call

ACCOUNT = "123456789012"


def analyzers(region="us-east-1", **kwargs):
    return boto3.client("accessanalyzer", region_name=region, **kwargs)


def error_of(excinfo):
    error = excinfo.value.response["Error"]
    return error["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def test_the_harness_starts_the_launcher(emulator):
    assert any(str(arg).endswith("emulator/server.py") for arg in emulator.process.args)


def test_create_get_and_list_with_a_type_filter(aws_env):
    client = analyzers()
    arn = client.create_analyzer(analyzerName="external", type="ACCOUNT", tags={"cairn:stack": "s1"})["arn"]
    assert arn == f"arn:aws:access-analyzer:us-east-1:{ACCOUNT}:analyzer/external"
    client.create_analyzer(analyzerName="unused", type="ACCOUNT_UNUSED_ACCESS",
                           configuration={"unusedAccess": {"unusedAccessAge": 90}},
                           archiveRules=[{"ruleName": "ignored", "filter": {"isPublic": {"eq": ["false"]}}}])

    got = client.get_analyzer(analyzerName="external")["analyzer"]
    assert {k: got[k] for k in ("arn", "name", "type", "status", "tags")} == {
        "arn": arn, "name": "external", "type": "ACCOUNT", "status": "ACTIVE", "tags": {"cairn:stack": "s1"}}
    assert abs(got["createdAt"] - datetime.datetime.now(datetime.timezone.utc)) < datetime.timedelta(minutes=1)
    assert "configuration" not in got
    assert client.get_analyzer(analyzerName="unused")["analyzer"]["configuration"] == {"unusedAccess": {"unusedAccessAge": 90}}

    assert [a["name"] for a in client.list_analyzers()["analyzers"]] == ["external", "unused"]
    assert [a["name"] for a in client.list_analyzers(type="ACCOUNT")["analyzers"]] == ["external"]
    assert [a["name"] for a in client.list_analyzers(type="ACCOUNT_UNUSED_ACCESS")["analyzers"]] == ["unused"]
    assert client.list_analyzers(type="ORGANIZATION")["analyzers"] == []


def test_pagination_follows_botocore_paginator(aws_env):
    client = analyzers()
    for name in ("a", "b", "c"):
        client.create_analyzer(analyzerName=name, type="ACCOUNT")
    pages = list(client.get_paginator("list_analyzers").paginate(PaginationConfig={"PageSize": 2}))
    assert [[a["name"] for a in page["analyzers"]] for page in pages] == [["a", "b"], ["c"]]
    assert "nextToken" in pages[0] and "nextToken" not in pages[1]
    with pytest.raises(ClientError) as bad_token:
        client.list_analyzers(nextToken="not-a-token")
    assert error_of(bad_token) == ("ValidationException", 400)


def test_duplicate_name_conflicts_but_a_retry_with_the_same_token_does_not(aws_env):
    client = analyzers()
    arn = client.create_analyzer(analyzerName="dup", type="ACCOUNT", clientToken="token-1")["arn"]
    assert client.create_analyzer(analyzerName="dup", type="ACCOUNT", clientToken="token-1")["arn"] == arn
    with pytest.raises(client.exceptions.ConflictException) as duplicate:
        client.create_analyzer(analyzerName="dup", type="ACCOUNT")
    assert error_of(duplicate) == ("ConflictException", 409)
    assert duplicate.value.response["resourceId"] == "dup"
    with pytest.raises(client.exceptions.ConflictException):
        client.create_analyzer(analyzerName="dup", type="ORGANIZATION", clientToken="token-1")
    assert len(client.list_analyzers()["analyzers"]) == 1


def test_input_validation(aws_env):
    client = analyzers()
    with pytest.raises(client.exceptions.ValidationException):
        client.create_analyzer(analyzerName="1-starts-with-a-digit", type="ACCOUNT")
    with pytest.raises(client.exceptions.ValidationException):
        client.create_analyzer(analyzerName="reserved", type="ACCOUNT", tags={"aws:owner": "x"})
    with pytest.raises(client.exceptions.ValidationException):
        client.create_analyzer(analyzerName="long", type="ACCOUNT", tags={"k" * 129: "x"})
    assert client.list_analyzers()["analyzers"] == []


def test_tag_untag_and_list_tags(aws_env):
    client = analyzers()
    arn = client.create_analyzer(analyzerName="tagged", type="ACCOUNT", tags={"keep": "1", "drop": "2"})["arn"]
    client.tag_resource(resourceArn=arn, tags={"keep": "changed", "new": "3"})
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"keep": "changed", "drop": "2", "new": "3"}
    client.untag_resource(resourceArn=arn, tagKeys=["drop", "new", "absent"])
    assert client.list_tags_for_resource(resourceArn=arn)["tags"] == {"keep": "changed"}
    assert client.list_analyzers()["analyzers"][0]["tags"] == {"keep": "changed"}

    missing = arn.replace("/tagged", "/missing")
    for call in (lambda: client.tag_resource(resourceArn=missing, tags={"a": "b"}),
                 lambda: client.untag_resource(resourceArn=missing, tagKeys=["a"]),
                 lambda: client.list_tags_for_resource(resourceArn=missing)):
        with pytest.raises(client.exceptions.ResourceNotFoundException) as not_found:
            call()
        assert error_of(not_found) == ("ResourceNotFoundException", 404)


def test_delete_then_get_is_not_found(aws_env):
    client = analyzers()
    client.create_analyzer(analyzerName="gone", type="ACCOUNT")
    client.delete_analyzer(analyzerName="gone", clientToken="delete-1")
    client.delete_analyzer(analyzerName="gone", clientToken="delete-1")  # a retry of a delete that succeeded
    with pytest.raises(client.exceptions.ResourceNotFoundException) as not_found:
        client.get_analyzer(analyzerName="gone")
    assert error_of(not_found) == ("ResourceNotFoundException", 404)
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_analyzer(analyzerName="gone")
    assert client.list_analyzers()["analyzers"] == []


def test_state_is_per_region_and_per_account(aws_env):
    analyzers().create_analyzer(analyzerName="east", type="ACCOUNT")
    west = analyzers("us-west-2")
    assert west.list_analyzers()["analyzers"] == []
    assert west.create_analyzer(analyzerName="east", type="ACCOUNT")["arn"].startswith("arn:aws:access-analyzer:us-west-2:")

    # Credentials of a role in another account (moto's STS maps them to that account).
    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/auditor", RoleSessionName="audit")["Credentials"]
    other = analyzers(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
    assert other.list_analyzers()["analyzers"] == []
    assert ":111111111111:analyzer/east" in other.create_analyzer(analyzerName="east", type="ACCOUNT")["arn"]
    assert [a["arn"].split(":")[4] for a in analyzers().list_analyzers()["analyzers"]] == [ACCOUNT]


def test_reset_clears_the_model_and_moto(aws_env):
    analyzers().create_analyzer(analyzerName="before-reset", type="ACCOUNT")
    boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.9.0.0/16")
    aws_env.reset()
    assert analyzers().list_analyzers()["analyzers"] == []
    assert boto3.client("ec2", region_name="us-east-1").describe_vpcs(
        Filters=[{"Name": "cidr", "Values": ["10.9.0.0/16"]}])["Vpcs"] == []


def test_operations_not_modelled_answer_501_not_implemented(aws_env):
    client = analyzers()
    arn = client.create_analyzer(analyzerName="a", type="ACCOUNT")["arn"]
    with pytest.raises(ClientError) as not_modelled:
        client.list_findings(analyzerArn=arn)
    assert error_of(not_modelled) == ("NotImplemented", 501)
    assert "ListFindings" in not_modelled.value.response["Error"]["Message"]
    assert not_modelled.value.response["ResponseMetadata"]["RetryAttempts"] == 0


def test_moto_still_serves_and_records_through_the_launcher(aws_env):
    ec2, client = boto3.client("ec2", region_name="us-east-1"), analyzers()
    with aws_env.recording() as calls:
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        assert [v["VpcId"] for v in ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]] == [vpc_id]
        arn = client.create_analyzer(analyzerName="recorded", type="ACCOUNT")["arn"]
        client.list_analyzers(type="ACCOUNT")
        client.tag_resource(resourceArn=arn, tags={"a": "b"})
        client.untag_resource(resourceArn=arn, tagKeys=["a"])
        client.delete_analyzer(analyzerName="recorded")
    assert calls == [
        Call("ec2", "CreateVpc", True),
        Call("ec2", "DescribeVpcs", False),
        Call("access-analyzer", "CreateAnalyzer", True),
        Call("access-analyzer", "ListAnalyzers", False),
        Call("access-analyzer", "TagResource", True),
        Call("access-analyzer", "UntagResource", True),
        Call("access-analyzer", "DeleteAnalyzer", True),
    ]
    # Outside a recording nothing is appended.
    recorded = aws_env.download_recording()
    client.list_analyzers()
    assert aws_env.download_recording() == recorded
