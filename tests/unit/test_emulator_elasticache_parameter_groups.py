"""The emulator's model of ElastiCache cache parameter groups (emulator/elasticache_parameter_groups.py), with boto3.

The session's emulator (tests/conftest.py) runs the launcher; these tests check the model operation by
operation (emulator/README.md), that the XML is the query protocol's, and that every other ElastiCache
request (and the tags of other resources) is still moto's.
"""

from __future__ import annotations

from xml.etree import ElementTree

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from support.emulator import Call

ACCOUNT = "123456789012"
XMLNS = "{http://elasticache.amazonaws.com/doc/2015-02-02/}"


def elasticache(region="us-east-1", **kwargs):
    return boto3.client("elasticache", region_name=region, **kwargs)


def error_of(excinfo):
    return excinfo.value.response["Error"]["Code"], excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"]


def create(client, name="app-redis7", **kwargs):
    return client.create_cache_parameter_group(CacheParameterGroupName=name, CacheParameterGroupFamily="redis7",
                                               Description="app parameters", **kwargs)["CacheParameterGroup"]


def parameters(client, name="app-redis7", **kwargs):
    pages = client.get_paginator("describe_cache_parameters").paginate(CacheParameterGroupName=name, **kwargs)
    return {p["ParameterName"]: p for page in pages for p in page["Parameters"]}


def values(client, name="app-redis7", **kwargs):
    return {name: p.get("ParameterValue") for name, p in parameters(client, name, **kwargs).items()}


def test_create_and_describe_with_the_default_groups(aws_env):
    client = elasticache()
    group = create(client, "App-Redis7")  # stored in lowercase
    assert group == {"CacheParameterGroupName": "app-redis7", "CacheParameterGroupFamily": "redis7",
                     "Description": "app parameters", "IsGlobal": False,
                     "ARN": f"arn:aws:elasticache:us-east-1:{ACCOUNT}:parametergroup:app-redis7"}
    listed = client.describe_cache_parameter_groups()["CacheParameterGroups"]
    assert [g["CacheParameterGroupName"] for g in listed] == ["app-redis7", "default.redis7", "default.redis7.cluster.on"]
    assert client.describe_cache_parameter_groups(CacheParameterGroupName="app-redis7")["CacheParameterGroups"] == [group]
    default = client.describe_cache_parameter_groups(CacheParameterGroupName="default.redis7.cluster.on")["CacheParameterGroups"][0]
    assert default["Description"] == "Customized default parameter group for redis7 with cluster mode on"

    with pytest.raises(client.exceptions.CacheParameterGroupAlreadyExistsFault) as duplicate:
        create(client, "app-redis7")
    assert error_of(duplicate) == ("CacheParameterGroupAlreadyExists", 400)
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault) as missing:
        client.describe_cache_parameter_groups(CacheParameterGroupName="missing")
    assert error_of(missing) == ("CacheParameterGroupNotFound", 404)


def test_create_refuses_bad_names_and_families(aws_env):
    client = elasticache()
    for name in ("1-starts-with-a-digit", "double--hyphen", "trailing-", "under_score", "default.mine"):
        with pytest.raises(ClientError) as bad:
            create(client, name)
        assert error_of(bad) == ("InvalidParameterValue", 400), name
    with pytest.raises(ClientError) as bad_family:
        client.create_cache_parameter_group(CacheParameterGroupName="x", CacheParameterGroupFamily="redis9", Description="d")
    assert error_of(bad_family) == ("InvalidParameterValue", 400)
    with pytest.raises(ClientError) as other_family:
        client.create_cache_parameter_group(CacheParameterGroupName="x", CacheParameterGroupFamily="redis6.x", Description="d")
    assert error_of(other_family) == ("NotImplemented", 501)
    assert "redis6.x" in other_family.value.response["Error"]["Message"]
    unchecked = elasticache(config=Config(parameter_validation=False))
    with pytest.raises(ClientError) as no_description:
        unchecked.create_cache_parameter_group(CacheParameterGroupName="x", CacheParameterGroupFamily="redis7")
    assert error_of(no_description) == ("MissingParameter", 400)
    assert [g["CacheParameterGroupName"] for g in client.describe_cache_parameter_groups()["CacheParameterGroups"]] == [
        "default.redis7", "default.redis7.cluster.on"]


def test_a_new_group_is_a_copy_of_the_family_default_and_source_filters(aws_env):
    client = elasticache()
    create(client)
    everything = parameters(client)
    assert {"cluster-enabled", "maxmemory-policy", "notify-keyspace-events", "timeout", "tcp-keepalive"} <= set(everything)
    assert everything["cluster-enabled"] == {
        "ParameterName": "cluster-enabled", "ParameterValue": "no", "Description": "Enable cluster mode",
        "Source": "engine-default", "DataType": "string", "AllowedValues": "yes,no", "IsModifiable": True,
        "MinimumEngineVersion": "7.0.0", "ChangeType": "requires-reboot"}
    assert (everything["maxmemory-policy"]["ParameterValue"], everything["maxmemory-policy"]["ChangeType"]) == ("volatile-lru", "immediate")
    assert everything["notify-keyspace-events"]["ParameterValue"] == ""
    assert (everything["timeout"]["ParameterValue"], everything["timeout"]["AllowedValues"]) == ("0", "0,20-")
    assert everything["tcp-keepalive"]["ParameterValue"] == "300"
    assert everything["maxclients"]["IsModifiable"] is False
    assert list(everything) == sorted(everything)

    assert values(client, Source="user") == {}
    by_source = {source: set(parameters(client, Source=source)) for source in ("system", "engine-default")}
    assert by_source["system"] | by_source["engine-default"] == set(everything)
    assert "reserved-memory-percent" in by_source["system"] and "cluster-enabled" in by_source["engine-default"]
    with pytest.raises(ClientError) as bad_source:
        client.describe_cache_parameters(CacheParameterGroupName="app-redis7", Source="customer")
    assert error_of(bad_source) == ("InvalidParameterValue", 400)

    cluster_on = parameters(client, "default.redis7.cluster.on")["cluster-enabled"]
    assert (cluster_on["ParameterValue"], cluster_on["Source"]) == ("yes", "system")
    assert values(client, "default.redis7")["cluster-enabled"] == "no"
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault):
        client.describe_cache_parameters(CacheParameterGroupName="missing")


def test_modify_sets_user_values_and_checks_every_parameter_first(aws_env):
    client = elasticache()
    create(client)
    result = client.modify_cache_parameter_group(CacheParameterGroupName="app-redis7", ParameterNameValues=[
        {"ParameterName": "cluster-enabled", "ParameterValue": "yes"},
        {"ParameterName": "maxmemory-policy", "ParameterValue": "allkeys-lru"},
        {"ParameterName": "notify-keyspace-events", "ParameterValue": "Ex"},
        {"ParameterName": "timeout", "ParameterValue": "300"}])
    assert result["CacheParameterGroupName"] == "app-redis7"
    assert values(client, Source="user") == {"cluster-enabled": "yes", "maxmemory-policy": "allkeys-lru",
                                             "notify-keyspace-events": "Ex", "timeout": "300"}

    for bad in ([{"ParameterName": "timeout", "ParameterValue": "5"}],  # AllowedValues 0,20-
                [{"ParameterName": "maxmemory-policy", "ParameterValue": "lru"}],
                [{"ParameterName": "tcp-keepalive", "ParameterValue": "soon"}],
                [{"ParameterName": "maxclients", "ParameterValue": "100"}],  # not modifiable
                [{"ParameterName": "no-such-parameter", "ParameterValue": "1"}],
                [{"ParameterName": "timeout"}],
                [{"ParameterName": "tcp-keepalive", "ParameterValue": "60"}, {"ParameterName": "timeout", "ParameterValue": "1"}],
                [{"ParameterName": "tcp-keepalive", "ParameterValue": "60"}] * 21):
        with pytest.raises(ClientError) as refused:
            client.modify_cache_parameter_group(CacheParameterGroupName="app-redis7", ParameterNameValues=bad)
        assert error_of(refused) == ("InvalidParameterValue", 400), bad
    assert values(client)["tcp-keepalive"] == "300"  # nothing of a refused call was applied

    for default_group in ("default.redis7", "default.redis7.cluster.on"):
        with pytest.raises(ClientError) as default:
            client.modify_cache_parameter_group(CacheParameterGroupName=default_group, ParameterNameValues=[
                {"ParameterName": "timeout", "ParameterValue": "300"}])
        assert error_of(default) == ("InvalidCacheParameterGroupState", 400)
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault):
        client.modify_cache_parameter_group(CacheParameterGroupName="missing", ParameterNameValues=[
            {"ParameterName": "timeout", "ParameterValue": "300"}])


def test_reset_some_or_all_parameters(aws_env):
    client = elasticache()
    create(client)
    client.modify_cache_parameter_group(CacheParameterGroupName="app-redis7", ParameterNameValues=[
        {"ParameterName": "cluster-enabled", "ParameterValue": "yes"},
        {"ParameterName": "timeout", "ParameterValue": "300"},
        {"ParameterName": "tcp-keepalive", "ParameterValue": "60"}])
    client.reset_cache_parameter_group(CacheParameterGroupName="app-redis7", ParameterNameValues=[{"ParameterName": "timeout"}])
    assert values(client, Source="user") == {"cluster-enabled": "yes", "tcp-keepalive": "60"}
    reset = parameters(client)["timeout"]
    assert (reset["ParameterValue"], reset["Source"]) == ("0", "engine-default")

    with pytest.raises(ClientError) as both:
        client.reset_cache_parameter_group(CacheParameterGroupName="app-redis7", ResetAllParameters=True,
                                           ParameterNameValues=[{"ParameterName": "timeout"}])
    assert error_of(both) == ("InvalidParameterCombination", 400)
    with pytest.raises(ClientError) as neither:
        client.reset_cache_parameter_group(CacheParameterGroupName="app-redis7")
    assert error_of(neither) == ("InvalidParameterValue", 400)

    client.reset_cache_parameter_group(CacheParameterGroupName="app-redis7", ResetAllParameters=True)
    assert values(client, Source="user") == {}
    assert values(client)["cluster-enabled"] == "no"


def test_delete_refuses_default_groups_and_groups_in_use(aws_env):
    client = elasticache()
    create(client, "unused")
    client.delete_cache_parameter_group(CacheParameterGroupName="unused")
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault) as gone:
        client.delete_cache_parameter_group(CacheParameterGroupName="unused")
    assert error_of(gone) == ("CacheParameterGroupNotFound", 404)
    with pytest.raises(client.exceptions.InvalidCacheParameterGroupStateFault):
        client.delete_cache_parameter_group(CacheParameterGroupName="default.redis7")

    create(client)
    client.create_replication_group(ReplicationGroupId="app", ReplicationGroupDescription="app", ClusterMode="enabled",
                                    NumNodeGroups=1, CacheNodeType="cache.t4g.small", CacheParameterGroupName="app-redis7")
    with pytest.raises(client.exceptions.InvalidCacheParameterGroupStateFault) as in_use:
        client.delete_cache_parameter_group(CacheParameterGroupName="app-redis7")
    assert "replication group app" in in_use.value.response["Error"]["Message"]


def test_a_replication_group_must_name_an_existing_group(aws_env):
    client = elasticache()
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault) as missing:
        client.create_replication_group(ReplicationGroupId="app", ReplicationGroupDescription="app",
                                        CacheNodeType="cache.t4g.small", CacheParameterGroupName="missing")
    assert error_of(missing) == ("CacheParameterGroupNotFound", 404)
    assert client.describe_replication_groups()["ReplicationGroups"] == []

    create(client)
    created = client.create_replication_group(ReplicationGroupId="app", ReplicationGroupDescription="app", ClusterMode="enabled",
                                              NumNodeGroups=1, CacheNodeType="cache.t4g.small", CacheParameterGroupName="app-redis7")
    assert created["ReplicationGroup"]["ReplicationGroupId"] == "app"  # moto's answer
    client.create_replication_group(ReplicationGroupId="other", ReplicationGroupDescription="other", ClusterMode="enabled",
                                    NumNodeGroups=1, CacheNodeType="cache.t4g.small", CacheParameterGroupName="default.redis7.cluster.on")
    with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault):
        client.modify_replication_group(ReplicationGroupId="app", CacheParameterGroupName="missing", ApplyImmediately=True)
    assert sorted(g["ReplicationGroupId"] for g in client.describe_replication_groups()["ReplicationGroups"]) == ["app", "other"]


def test_tags_of_parameter_groups_and_of_moto_resources(aws_env):
    client = elasticache()
    arn = create(client, Tags=[{"Key": "cairn:stack", "Value": "s1"}, {"Key": "drop", "Value": "x"}])["ARN"]
    assert client.list_tags_for_resource(ResourceName=arn)["TagList"] == [
        {"Key": "cairn:stack", "Value": "s1"}, {"Key": "drop", "Value": "x"}]
    added = client.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "drop", "Value": "y"}, {"Key": "owner", "Value": "data"}])
    assert added["TagList"] == [{"Key": "cairn:stack", "Value": "s1"}, {"Key": "drop", "Value": "y"}, {"Key": "owner", "Value": "data"}]
    removed = client.remove_tags_from_resource(ResourceName=arn, TagKeys=["drop"])
    assert removed["TagList"] == [{"Key": "cairn:stack", "Value": "s1"}, {"Key": "owner", "Value": "data"}]
    with pytest.raises(ClientError) as absent_key:
        client.remove_tags_from_resource(ResourceName=arn, TagKeys=["drop"])
    assert error_of(absent_key) == ("TagNotFound", 404)
    with pytest.raises(ClientError) as too_many:
        client.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(49)])
    assert error_of(too_many) == ("TagQuotaPerResourceExceeded", 400)

    for missing in (arn.replace(":app-redis7", ":missing"), arn.replace("us-east-1", "us-west-2")):
        with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault):
            client.list_tags_for_resource(ResourceName=missing)
        with pytest.raises(client.exceptions.CacheParameterGroupNotFoundFault):
            client.add_tags_to_resource(ResourceName=missing, Tags=[{"Key": "a", "Value": "b"}])
    with pytest.raises(client.exceptions.InvalidARNFault):
        client.list_tags_for_resource(ResourceName=f"arn:aws:elasticache:us-east-1:{ACCOUNT}:parametergroup:")

    # Tags of the resources moto models are still moto's.
    subnet_ids = [boto3.client("ec2", region_name="us-east-1").create_subnet(
        VpcId=boto3.client("ec2", region_name="us-east-1").describe_vpcs()["Vpcs"][0]["VpcId"],
        CidrBlock="172.31.200.0/24")["Subnet"]["SubnetId"]]
    subnet_group = client.create_cache_subnet_group(CacheSubnetGroupName="cache", CacheSubnetGroupDescription="d",
                                                    SubnetIds=subnet_ids, Tags=[{"Key": "a", "Value": "b"}])["CacheSubnetGroup"]
    assert client.list_tags_for_resource(ResourceName=subnet_group["ARN"])["TagList"] == [{"Key": "a", "Value": "b"}]


def test_pagination_follows_botocore_paginator(aws_env):
    client = elasticache()
    for index in range(25):
        create(client, f"group-{index:02d}")
    pages = list(client.get_paginator("describe_cache_parameter_groups").paginate(PaginationConfig={"PageSize": 20}))
    assert [len(page["CacheParameterGroups"]) for page in pages] == [20, 7]
    assert "Marker" in pages[0] and "Marker" not in pages[1]
    names = [g["CacheParameterGroupName"] for page in pages for g in page["CacheParameterGroups"]]
    assert names == sorted(names) and len(set(names)) == 27
    parameter_pages = list(client.get_paginator("describe_cache_parameters").paginate(
        CacheParameterGroupName="group-00", PaginationConfig={"PageSize": 20}))
    assert len(parameter_pages) == 2 and len(parameter_pages[0]["Parameters"]) == 20
    for bad in (dict(MaxRecords=19), dict(MaxRecords=101), dict(Marker="not a marker!")):
        with pytest.raises(ClientError) as refused:
            client.describe_cache_parameter_groups(**bad)
        assert error_of(refused) == ("InvalidParameterValue", 400), bad


def test_responses_are_query_protocol_xml(aws_env):
    client = elasticache()
    bodies = []
    client.meta.events.register("after-call.elasticache", lambda http_response, **_: bodies.append(http_response))
    create(client)
    response = bodies[-1]
    root = ElementTree.fromstring(response.content)
    assert response.headers["Content-Type"] == "text/xml"
    assert root.tag == XMLNS + "CreateCacheParameterGroupResponse"
    assert [child.tag for child in root] == [XMLNS + "CreateCacheParameterGroupResult", XMLNS + "ResponseMetadata"]
    assert root.find(f"{XMLNS}CreateCacheParameterGroupResult/{XMLNS}CacheParameterGroup/{XMLNS}ARN") is not None
    client.describe_cache_parameters(CacheParameterGroupName="app-redis7", MaxRecords=20)
    root = ElementTree.fromstring(bodies[-1].content)
    assert root.find(f"{XMLNS}DescribeCacheParametersResult/{XMLNS}Parameters/{XMLNS}Parameter/{XMLNS}ParameterName") is not None
    client.delete_cache_parameter_group(CacheParameterGroupName="app-redis7")
    root = ElementTree.fromstring(bodies[-1].content)
    assert [child.tag for child in root] == [XMLNS + "ResponseMetadata"]

    with pytest.raises(ClientError):  # after-call sees error responses too
        client.describe_cache_parameters(CacheParameterGroupName="app-redis7")
    assert bodies[-1].status_code == 404
    root = ElementTree.fromstring(bodies[-1].content)
    assert root.tag == XMLNS + "ErrorResponse"
    assert [root.findtext(f"{XMLNS}Error/{XMLNS}{field}") for field in ("Type", "Code")] == ["Sender", "CacheParameterGroupNotFound"]
    assert root.findtext(f"{XMLNS}RequestId")


def test_state_is_per_region_and_per_account_and_reset_clears_it(aws_env):
    create(elasticache())
    west = elasticache("us-west-2")
    assert [g["CacheParameterGroupName"] for g in west.describe_cache_parameter_groups()["CacheParameterGroups"]] == [
        "default.redis7", "default.redis7.cluster.on"]
    assert create(west)["ARN"] == f"arn:aws:elasticache:us-west-2:{ACCOUNT}:parametergroup:app-redis7"

    creds = boto3.client("sts", region_name="us-east-1").assume_role(
        RoleArn="arn:aws:iam::111111111111:role/cache", RoleSessionName="cache")["Credentials"]
    other = elasticache(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"])
    assert len(other.describe_cache_parameter_groups()["CacheParameterGroups"]) == 2
    assert ":111111111111:parametergroup:app-redis7" in create(other)["ARN"]

    aws_env.reset()
    assert len(elasticache().describe_cache_parameter_groups()["CacheParameterGroups"]) == 2


def test_recorded_like_moto_and_moto_still_serves_the_rest(aws_env):
    client = elasticache()
    with aws_env.recording() as calls:
        create(client)
        client.describe_cache_parameters(CacheParameterGroupName="app-redis7", Source="user")
        client.modify_cache_parameter_group(CacheParameterGroupName="app-redis7", ParameterNameValues=[
            {"ParameterName": "cluster-enabled", "ParameterValue": "yes"}])
        client.create_replication_group(ReplicationGroupId="app", ReplicationGroupDescription="app", ClusterMode="enabled",
                                        NumNodeGroups=1, CacheNodeType="cache.t4g.small", CacheParameterGroupName="app-redis7")
        client.describe_replication_groups(ReplicationGroupId="app")
    assert calls == [
        Call("elasticache", "CreateCacheParameterGroup", True),
        Call("elasticache", "DescribeCacheParameters", False),
        Call("elasticache", "ModifyCacheParameterGroup", True),
        Call("elasticache", "CreateReplicationGroup", True),
        Call("elasticache", "DescribeReplicationGroups", False),
    ]
