"""plugins/module_utils/tags.py: ownership tags and amazon.aws's tags/purge_tags contract."""

from __future__ import annotations

import pytest

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    COMPONENT_TAG,
    ENVIRONMENT_TAG,
    MANAGED_BY_TAG,
    MAX_TAGS,
    STACK_TAG,
    Ownership,
    boto3_tag_list_to_dict,
    check_tags,
    dict_to_boto3_tag_list,
    tag_specifications,
)

OWNERSHIP = {
    ENVIRONMENT_TAG: "prod",
    STACK_TAG: "prod-us-east-1",
    COMPONENT_TAG: "networking",
    MANAGED_BY_TAG: "cairn.platform",
}


def owner(user_tags=None, purge_tags=True):
    return Ownership("prod", "prod-us-east-1", "networking", user_tags=user_tags, purge_tags=purge_tags)


# ---- desired_tags: user < identity < ownership -------------------------------------------------
def test_desired_tags_contains_ownership_name_and_user_tags():
    tags = owner({"owner": "platform"}).desired_tags(name="prod-us-east-1-igw")
    assert tags == dict(OWNERSHIP, Name="prod-us-east-1-igw", owner="platform")


def test_identity_tags_override_user_tags():
    tags = owner({"Name": "from-user", "tier": "user"}).desired_tags(name="from-identity", extra={"tier": "identity"})
    assert tags["Name"] == "from-identity"
    assert tags["tier"] == "identity"


def test_ownership_tags_override_identity_tags():
    # Identity tags come from the module, not the user (who cannot use cairn: keys), but even they
    # must not be able to change whom a resource belongs to.
    tags = owner().desired_tags(name="x", extra={STACK_TAG: "someone-else", COMPONENT_TAG: "other"})
    assert tags[STACK_TAG] == "prod-us-east-1"
    assert tags[COMPONENT_TAG] == "networking"


def test_desired_tags_without_user_tags_or_name():
    assert owner().desired_tags() == OWNERSHIP


def test_user_tag_values_are_strings():
    tags = owner({"cost-center": 1234}).desired_tags()
    assert tags["cost-center"] == "1234"


def test_desired_tags_does_not_mutate_user_tags():
    o = owner({"owner": "platform"})
    o.desired_tags(name="a", extra={"k": "v"})
    assert o.user_tags == {"owner": "platform"}


# ---- tag_changes under the amazon.aws contract -----------------------------------------------
def test_tags_unset_never_removes_user_tags():
    o = owner(user_tags=None, purge_tags=True)
    current = dict(OWNERSHIP, Name="n", owner="someone", team="x")
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="n"))
    assert to_set == {}
    assert to_remove == []


def test_tags_unset_still_enforces_ownership_and_name():
    o = owner(user_tags=None)
    current = {"owner": "someone", STACK_TAG: "tampered", "Name": "old"}
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="new"))
    assert to_remove == []
    assert to_set == dict(OWNERSHIP, Name="new")


def test_tags_set_with_purge_removes_unlisted_user_tags():
    o = owner({"owner": "platform"}, purge_tags=True)
    current = dict(OWNERSHIP, Name="n", owner="platform", stale="1", another="2")
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="n"))
    assert to_set == {}
    assert to_remove == ["another", "stale"]


def test_empty_tags_with_purge_removes_every_user_tag_but_keeps_ownership_and_name():
    o = owner({}, purge_tags=True)
    current = dict(OWNERSHIP, Name="n", owner="platform")
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="n"))
    assert to_set == {}
    assert to_remove == ["owner"]


def test_tags_set_without_purge_only_adds_and_updates():
    o = owner({"owner": "platform", "team": "net"}, purge_tags=False)
    current = dict(OWNERSHIP, Name="n", owner="old", stale="1")
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="n"))
    assert to_set == {"owner": "platform", "team": "net"}
    assert to_remove == []


def test_aws_keys_are_never_purged():
    o = owner({"owner": "platform"}, purge_tags=True)
    current = dict(OWNERSHIP, Name="n", owner="platform", **{"aws:cloudformation:stack-name": "s", "AWS:Other": "x", "stale": "1"})
    to_set, to_remove = o.tag_changes(current, o.desired_tags(name="n"))
    assert to_set == {}
    assert to_remove == ["stale"]


def test_ownership_tags_are_always_enforced_even_without_purge():
    o = owner({"owner": "platform"}, purge_tags=False)
    current = {"owner": "platform", "Name": "n", ENVIRONMENT_TAG: "dev"}
    to_set = o.tag_changes(current, o.desired_tags(name="n"))[0]
    assert to_set == {ENVIRONMENT_TAG: "prod", STACK_TAG: "prod-us-east-1", COMPONENT_TAG: "networking",
                      MANAGED_BY_TAG: "cairn.platform"}


def test_no_current_tags_sets_everything():
    o = owner({"owner": "platform"})
    desired = o.desired_tags(name="n")
    assert o.tag_changes(None, desired) == (desired, [])


def test_in_sync_is_no_change():
    o = owner({"owner": "platform"})
    desired = o.desired_tags(name="n")
    assert o.tag_changes(dict(desired), desired) == ({}, [])


# ---- refusals ----------------------------------------------------------------------------------
@pytest.mark.parametrize("key", ["cairn:environment", "cairn:anything", "aws:created-by", "AWS:createdBy"])
def test_reserved_keys_are_refused(key):
    with pytest.raises(InputError) as err:
        owner({key: "x"})
    assert "tags" in err.value.message
    assert key in err.value.message


def test_at_most_50_tags():
    # 45 user tags + Name + 4 ownership tags = 50: allowed.
    o = owner({"k{0}".format(i): "v" for i in range(MAX_TAGS - 5)})
    assert len(o.desired_tags(name="n")) == MAX_TAGS == 50
    # One more is refused, naming the option.
    o = owner({"k{0}".format(i): "v" for i in range(MAX_TAGS - 4)})
    with pytest.raises(InputError) as err:
        o.desired_tags(name="n")
    assert "tags" in err.value.message
    assert "50" in err.value.message


@pytest.mark.parametrize("field, args", [
    ("environment", ("", "prod-us-east-1")),
    ("environment", ("e" * 129, "prod-us-east-1")),
    ("stack", ("prod", "")),
    ("stack", ("prod", None)),
])
def test_environment_and_stack_are_checked(field, args):
    with pytest.raises(InputError) as err:
        Ownership(args[0], args[1], "networking")
    assert field in err.value.message


# ---- AWS tag limits (check_tags) ----------------------------------------------------------------
def tag_refusal(tags):
    with pytest.raises(InputError) as err:
        check_tags("tags", tags)
    return err.value.message


def test_limits_are_inclusive_and_count_unicode_characters():
    tags = {"k" * 128: "v" * 256, "empty": "", "é" * 128: "ü" * 256, "Équipe propriétaire": "plateforme données",
            "a_b.c:d/e=f+g-h@i": "Ω 42 +-=._:/@", "数据": "所有者"}
    assert check_tags("tags", tags) == tags
    assert owner(tags).desired_tags() == dict(OWNERSHIP, **tags)


def test_tags_unset_stay_unset_and_values_become_strings():
    assert check_tags("tags", None) is None
    assert check_tags("tags", {"n": 5, "b": True}) == {"n": "5", "b": "True"}


@pytest.mark.parametrize("tags,message", [
    ({"owner": "x" * 300}, "tags: the value of 'owner' has 300 characters; AWS allows at most 256."),
    ({"owner": "ü" * 257}, "tags: the value of 'owner' has 257 characters; AWS allows at most 256."),
    ({"k" * 129: "v"}, "tags: the key '{0}' has 129 characters; AWS allows 1 to 128.".format("k" * 129)),
    ({"": "v"}, "tags: the key '' has 0 characters; AWS allows 1 to 128."),
    ({"team#1": "v"}, "tags: the key 'team#1' contains '#', which AWS does not allow in tags; use letters, digits, spaces and "
                      "_ . : / = + - @."),
    ({"owner": "a,b"}, "tags: the value of 'owner' contains ',', which AWS does not allow in tags; use letters, digits, spaces "
                       "and _ . : / = + - @."),
    ({"owner": "line\nbreak"}, "tags: the value of 'owner' contains '\\n'"),
    ({"owner": "tab\there"}, "tags: the value of 'owner' contains '\\t'"),
    ({"owner": "*"}, "tags: the value of 'owner' contains '*'"),
    ({"owner": "😀"}, "tags: the value of 'owner' contains '😀'"),
    ({"AWS:cloudformation": "v"}, "tags: the key 'AWS:cloudformation' is reserved"),
    ({"cairn:stack": "v"}, "tags: the key 'cairn:stack' is reserved"),
    (["owner"], "tags: must be a mapping of tag keys to values; got list."),
])
def test_tags_outside_aws_limits_are_refused(tags, message):
    assert tag_refusal(tags).startswith(message)


def test_more_than_50_user_tags_are_refused_before_adding_the_collection_s():
    assert tag_refusal({"k{0}".format(i): "v" for i in range(51)}).startswith("tags: 51 tags given; AWS allows at most 50")
    assert len(check_tags("tags", {"k{0}".format(i): "v" for i in range(50)})) == 50


def test_ownership_checks_user_tags():
    with pytest.raises(InputError) as err:
        owner({"owner": "x" * 300})
    assert err.value.message == "tags: the value of 'owner' has 300 characters; AWS allows at most 256."


@pytest.mark.parametrize("environment,stack,message", [
    ("prod#1", "prod-us-east-1", "environment: 'prod#1' (the value of its cairn:environment tag) contains '#'"),
    ("prod", "prod,us", "stack: 'prod,us' (the value of its cairn:stack tag) contains ','"),
])
def test_environment_and_stack_must_be_valid_tag_values(environment, stack, message):
    with pytest.raises(InputError) as err:
        Ownership(environment, stack, "networking")
    assert err.value.message.startswith(message)


# ---- filters / owns --------------------------------------------------------------------------
def test_filters_select_by_every_ownership_tag_in_stable_order():
    assert owner({"owner": "x"}).filters() == [
        {"Name": "tag:cairn:component", "Values": ["networking"]},
        {"Name": "tag:cairn:environment", "Values": ["prod"]},
        {"Name": "tag:cairn:managed-by", "Values": ["cairn.platform"]},
        {"Name": "tag:cairn:stack", "Values": ["prod-us-east-1"]},
    ]


def test_owns():
    o = owner()
    assert o.owns(dict(OWNERSHIP, Name="x", other="y"))
    assert not o.owns(dict(OWNERSHIP, **{STACK_TAG: "prod-us-west-2"}))
    assert not o.owns({k: v for k, v in OWNERSHIP.items() if k != COMPONENT_TAG})
    assert not o.owns(None)
    assert not o.owns({})
    other_component = Ownership("prod", "prod-us-east-1", "security")
    assert not other_component.owns(OWNERSHIP)


# ---- boto3 helpers ---------------------------------------------------------------------------
def test_tag_list_round_trip_and_specifications():
    tags = {"b": "2", "a": "1"}
    as_list = dict_to_boto3_tag_list(tags)
    assert as_list == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert boto3_tag_list_to_dict(as_list) == tags
    assert boto3_tag_list_to_dict(None) == {}
    assert boto3_tag_list_to_dict([{"key": "k", "value": "v"}], "key", "value") == {"k": "v"}
    assert tag_specifications("vpc", tags) == [{"ResourceType": "vpc", "Tags": as_list}]
