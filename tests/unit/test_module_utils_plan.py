"""plugins/module_utils/plan.py: the changes list, check mode and the before/after diff."""

from __future__ import annotations

from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, Plan


def test_create_records_and_says_write():
    plan = Plan()
    assert plan.create("vpc", "stack", {"cidr_block": "10.0.0.0/16", "tags": {"a": "1"}}) is True
    assert plan.changes == [{
        "action": "create",
        "resource_type": "vpc",
        "resource": "stack",
        "fields": {"cidr_block": {"before": None, "after": "10.0.0.0/16"},
                   "tags": {"before": None, "after": {"a": "1"}}},
    }]
    assert plan.changed


def test_update_records_only_the_fields_that_differ():
    plan = Plan()
    assert plan.update("subnet", "s1", {"a": 1, "b": 2}, {"a": 1, "b": 3}) is True
    assert plan.changes == [{"action": "update", "resource_type": "subnet", "resource": "s1",
                             "fields": {"b": {"before": 2, "after": 3}}}]


def test_update_without_difference_records_nothing_and_returns_false():
    plan = Plan()
    assert plan.update("subnet", "s1", {"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 2]}) is False
    assert plan.changes == []
    assert not plan.changed
    assert plan.diff() == {"before": {}, "after": {}}
    assert plan.summary() == "0 to create, 0 to update, 0 to delete"


def test_delete_records_with_empty_fields():
    plan = Plan()
    assert plan.delete("nat_gateway", "nat-a", {"id": "nat-1"}, note="surplus zone") is True
    assert plan.changes == [{"action": "delete", "resource_type": "nat_gateway", "resource": "nat-a",
                             "fields": {}, "note": "surplus zone"}]
    assert plan.diff() == {"before": {"nat_gateway/nat-a": {"id": "nat-1"}}, "after": {}}


def test_delete_without_before():
    plan = Plan()
    assert plan.delete("vpc", "v") is True
    assert plan.diff() == {"before": {"vpc/v": {}}, "after": {}}


def test_note_only_when_given():
    plan = Plan()
    plan.create("vpc", "v", {"a": 1})
    assert "note" not in plan.changes[0]
    plan.create("vpc", "w", {"a": 1}, note="why")
    assert plan.changes[1]["note"] == "why"


def test_check_mode_records_but_never_says_write():
    plan = Plan(check_mode=True)
    assert plan.create("vpc", "v", {"cidr_block": "10.0.0.0/16"}) is False
    assert plan.update("vpc", "v", {"x": 1}, {"x": 2}) is False
    assert plan.delete("subnet", "s") is False
    assert [c["action"] for c in plan.changes] == ["create", "update", "delete"]
    assert plan.changed
    assert plan.summary() == "1 to create, 1 to update, 1 to delete"


def test_diff_before_and_after():
    plan = Plan()
    plan.create("vpc", "v", {"cidr_block": "10.0.0.0/16", "id": UNKNOWN})
    plan.update("subnet", "s", {"tags": {"a": "1"}}, {"tags": {"a": "2"}})
    plan.delete("route_table", "r", {"id": "rtb-1"})
    assert plan.diff() == {
        "before": {"subnet/s": {"tags": {"a": "1"}}, "route_table/r": {"id": "rtb-1"}},
        "after": {"vpc/v": {"cidr_block": "10.0.0.0/16", "id": UNKNOWN}, "subnet/s": {"tags": {"a": "2"}}},
    }


def test_diff_is_a_snapshot():
    plan = Plan()
    desired = {"tags": {"a": "1"}}
    before = {"tags": {"a": "0"}}
    plan.update("subnet", "s", before, desired)
    desired["tags"]["a"] = "changed later"
    before["tags"]["a"] = "changed later"
    assert plan.diff()["after"]["subnet/s"] == {"tags": {"a": "1"}}
    assert plan.diff()["before"]["subnet/s"] == {"tags": {"a": "0"}}


def test_two_updates_of_one_resource_both_show_in_the_diff():
    plan = Plan()
    plan.update("subnet", "s", {"tags": {"a": "1"}}, {"tags": {"a": "2"}})
    plan.update("subnet", "s", {"map_public_ip_on_launch": False}, {"map_public_ip_on_launch": True})
    diff = plan.diff()
    assert diff["before"]["subnet/s"] == {"tags": {"a": "1"}, "map_public_ip_on_launch": False}
    assert diff["after"]["subnet/s"] == {"tags": {"a": "2"}, "map_public_ip_on_launch": True}


def test_summary_counts():
    plan = Plan()
    plan.create("a", "1", {"x": 1})
    plan.create("a", "2", {"x": 1})
    plan.update("a", "3", {"x": 1}, {"x": 2})
    plan.delete("a", "4")
    plan.delete("a", "5")
    plan.delete("a", "6")
    assert plan.summary() == "2 to create, 1 to update, 3 to delete"


def test_result_shape():
    plan = Plan()
    plan.create("vpc", "v", {"cidr_block": "10.0.0.0/16"})
    result = plan.result(vpc={"id": "vpc-1"}, waited_seconds=0.0)
    assert set(result) == {"changed", "changes", "plan_summary", "vpc", "waited_seconds"}
    assert result["changed"] is True
    assert result["changes"] == plan.changes
    assert result["plan_summary"] == "1 to create, 0 to update, 0 to delete"
    assert result["vpc"] == {"id": "vpc-1"}
    assert "diff" not in result

    with_diff = plan.result(diff_mode=True)
    assert with_diff["diff"] == plan.diff()


def test_result_of_empty_plan_is_unchanged():
    result = Plan().result(diff_mode=True)
    assert result == {"changed": False, "changes": [], "plan_summary": "0 to create, 0 to update, 0 to delete",
                      "diff": {"before": {}, "after": {}}}
