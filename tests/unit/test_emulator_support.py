"""The call counting of tests/support/emulator.py, checked on real recordings made with boto3."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from support.emulator import Call, count_by_operation, mutating_calls, parse_recording


def client(name, **kwargs):
    # Endpoint, credentials and region come from the environment set by aws_env.
    return boto3.client(name, **kwargs)


def test_create_and_describe_vpc_is_one_mutating_call(aws_env):
    ec2 = client("ec2")
    with aws_env.recording() as calls:
        vpc_id = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        ec2.describe_vpcs(VpcIds=[vpc_id])
    assert calls == [Call("ec2", "CreateVpc", True), Call("ec2", "DescribeVpcs", False)]
    assert mutating_calls(calls) == [Call("ec2", "CreateVpc", True)]
    assert count_by_operation(calls) == {"ec2:CreateVpc": 1, "ec2:DescribeVpcs": 1}


def test_query_json_and_sts_protocols(aws_env):
    iam, logs, sts = client("iam"), client("logs"), client("sts")
    with aws_env.recording() as calls:
        iam.create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))
        iam.list_roles()
        logs.create_log_group(logGroupName="/probe")
        logs.put_retention_policy(logGroupName="/probe", retentionInDays=30)
        logs.describe_log_groups()
        sts.get_caller_identity()
    assert calls == [
        Call("iam", "CreateRole", True),
        Call("iam", "ListRoles", False),
        Call("logs", "CreateLogGroup", True),
        Call("logs", "PutRetentionPolicy", True),
        Call("logs", "DescribeLogGroups", False),
        Call("sts", "GetCallerIdentity", False),
    ]


def test_rest_operations_are_resolved_from_the_api_model(aws_env):
    s3, route53 = client("s3"), client("route53")
    with aws_env.recording() as calls:
        s3.create_bucket(Bucket="probe")
        s3.put_bucket_tagging(Bucket="probe", Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
        s3.put_object(Bucket="probe", Key="a/b c.txt", Body=b"x")
        s3.list_objects_v2(Bucket="probe")
        s3.head_bucket(Bucket="probe")
        route53.list_hosted_zones()
    assert calls == [
        Call("s3", "CreateBucket", True),
        Call("s3", "PutBucketTagging", True),
        Call("s3", "PutObject", True),
        Call("s3", "ListObjectsV2", False),
        Call("s3", "HeadBucket", False),
        Call("route53", "ListHostedZones", False),
    ]


def test_failed_calls_are_recorded(aws_env):
    ec2 = client("ec2")
    with aws_env.recording() as calls:
        with pytest.raises(ClientError):
            ec2.describe_vpcs(VpcIds=["vpc-00000000"])
        with pytest.raises(ClientError):
            ec2.delete_vpc(VpcId="vpc-00000000")
    assert calls == [Call("ec2", "DescribeVpcs", False), Call("ec2", "DeleteVpc", True)]


def test_retries_count_once(aws_env):
    # Ask botocore for one retry of a successful call: the SDK resends the request with the
    # same amz-sdk-invocation-id, exactly as it does after a throttling error.
    ec2 = client("ec2")
    ec2.meta.events.register("needs-retry.ec2.DescribeVpcs", lambda attempts, **_: 0 if attempts == 1 else None)
    with aws_env.recording() as calls:
        ec2.describe_vpcs()
    raw = [json.loads(line) for line in aws_env.download_recording().splitlines()]
    assert len(raw) == 2
    assert len({entry["headers"]["Amz-Sdk-Invocation-Id"] for entry in raw}) == 1
    assert calls == [Call("ec2", "DescribeVpcs", False)]


def test_regions_and_reset(aws_env):
    west = client("ec2", region_name="us-west-2")
    west.create_vpc(CidrBlock="10.1.0.0/16")
    assert len(west.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.1.0.0/16"]}])["Vpcs"]) == 1
    aws_env.reset()
    assert west.describe_vpcs(Filters=[{"Name": "cidr", "Values": ["10.1.0.0/16"]}])["Vpcs"] == []


def test_aws_managed_policies_survive_resets_without_leaking_state(aws_env):
    # emulator/speedups.py parses the managed-policy data once; each reset must still start clean.
    iam = client("iam")
    arn = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    trust = json.dumps({"Version": "2012-10-17", "Statement": []})
    for _round in range(2):
        iam.create_role(RoleName="probe", AssumeRolePolicyDocument=trust)
        assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 0
        iam.attach_role_policy(RoleName="probe", PolicyArn=arn)
        assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
        aws_env.reset()


def _line(url, headers, body="", method="POST"):
    return json.dumps({"url": url, "method": method, "headers": headers, "body": body, "body_encoded": False})


def test_parse_recording_edge_cases():
    auth = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host"
    text = "\n".join(
        [
            # Query protocol with the Action in the query string (GET form).
            _line("http://h/?Action=DescribeRegions&Version=2016-11-15", {"Authorization": auth.format("ec2")}, method="GET"),
            # Presigned URL: the credential scope is in the query string.
            _line(
                "http://h/probe/key?X-Amz-Credential=testing%2F20260101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Signature=x",
                {},
                method="GET",
            ),
            # Smithy RPC v2 CBOR.
            _line("http://h/service/GraniteServiceVersion20100801/operation/PutMetricData", {"Authorization": auth.format("monitoring")}),
            # The emulator's own API is not an AWS call.
            _line("http://h/moto-api/reset", {}),
            # Retry of an earlier invocation.
            _line("http://h/", {"Authorization": auth.format("iam"), "Amz-Sdk-Invocation-Id": "1"}, "Action=CreateUser&UserName=a"),
            _line("http://h/", {"Authorization": auth.format("iam"), "Amz-Sdk-Invocation-Id": "1"}, "Action=CreateUser&UserName=a"),
            # Unknown REST route: falls back to the HTTP verb.
            _line("http://h/nowhere/at/all", {"Authorization": auth.format("eks")}, method="DELETE"),
        ]
    )
    assert parse_recording(text) == [
        Call("ec2", "DescribeRegions", False),
        Call("s3", "GetObject", False),
        Call("monitoring", "PutMetricData", True),
        Call("iam", "CreateUser", True),
        Call("eks", "DELETE /nowhere/at/all", True),
    ]
