#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ssm_parameters
short_description: Publish a region stack's wiring (endpoints, ports, secret ARNs) under one SSM Parameter Store path
version_added: 0.1.0
description:
  - Converges every parameter under one Parameter Store path, such as C(/cairn/prod/us-east-1/), to the
    names and values given, so applications and the DR drill find a stack's endpoints, ports and secret
    ARNs in one place and switch by updating that place.
  - Creates missing parameters born with the ownership tags, overwrites those whose value or description
    differs (a new parameter version), and with O(purge=true) deletes the stack's parameters under the
    path that are no longer listed.
  - Parameters under the path without this stack's ownership tags are never modified or deleted; listing
    the name of one is refused before any write.
  - Only C(String) and C(StringList) parameters are published. Secrets stay in Secrets Manager and only
    their ARNs are published here, so no secret value passes through the inventory or any output;
    C(SecureString) is refused.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the parameters under O(path) to O(parameters).
      - V(absent) deletes every parameter under O(path) that carries this stack's ownership tags.
    type: str
    choices: [present, absent]
    default: present
  path:
    description:
      - The hierarchy the parameters live under, for example V(/cairn/prod/us-east-1/). It starts and ends
        with C(/) and holds at least one level.
      - Each level holds only letters, digits and C(_ . -); the first may not begin with C(aws) or C(ssm)
        (any case), which AWS reserves.
      - Parameter Store allows 15 levels in a full parameter name, and at most 1011 characters counting the
        ARN in front of it (C(arn:aws:ssm:<region>:<account>:parameter)); both are checked before any call.
      - Everything under the path, at any depth, is in scope for O(purge) and O(state=absent).
    type: str
    required: true
  parameters:
    description:
      - The parameters to publish, by name relative to O(path) (for example V(rds/endpoint) becomes
        C(/cairn/prod/us-east-1/rds/endpoint)). Names use the characters of O(path).
      - Each value is either the value itself (a string or an integer such as a port) or a dictionary with
        C(value) (required), C(type) (V(String), the default, or V(StringList)), C(description) (up to 1024
        characters; unset leaves the current description alone) and C(tier) (V(Standard) only).
      - A C(StringList) value is a comma-separated string or a list of strings without commas.
      - A value is 1 byte to 4 KB (4096 bytes, the Standard tier's limit) and may not hold a C({{ }})
        reference, which Parameter Store refuses. Values are compared exactly, character for character.
      - Values are published in plain text and shown in RV(ignore:changes), RV(ignore:diff) and
        RV(parameters). Never publish a secret here; publish its Secrets Manager ARN.
      - Required when O(state=present); V({}) publishes nothing (and with O(purge=true) removes all of the
        stack's parameters under O(path)).
    type: dict
  purge:
    description:
      - Delete the parameters under O(path) that carry this stack's ownership tags but are not in
        O(parameters). Parameters without the ownership tags are never deleted.
    type: bool
    default: true
notes:
  - "Reads: one paginated C(GetParametersByPath) (recursive, never decrypting) for names, values, types and
    versions, and, only when the path holds parameters, one paginated C(DescribeParameters) filtered by the
    path and the ownership tags for which of them are ours, with their descriptions and tiers.
    C(ListTagsForResource) is called per published parameter only when O(tags) is set (to converge your
    tags), and for a listed name that exists but C(DescribeParameters) did not report as ours (AWS lists
    new parameters and tags there with a delay)."
  - "Writes: C(PutParameter) creates a parameter with its tags; updates use C(Overwrite) without tags,
    because AWS refuses both together, and tags change through C(AddTagsToResource) and
    C(RemoveTagsFromResource). Deletions use C(DeleteParameters) in batches of 10."
  - A type change is refused before any write, since Parameter Store refuses type changes in place
    (C(HierarchyTypeMismatchException), for example from String to SecureString); so is a Standard
    tier for an Advanced parameter, which AWS cannot turn back. Remove the name, let O(purge) delete it,
    and add it back in a later run (AWS asks for 30 seconds between deleting and recreating a name).
  - A parameter created moments ago may not yet be listed by C(DescribeParameters); it is then not purged
    in that run, only in the next.
  - Each update writes a new parameter version; Parameter Store keeps the last 100.
  - The emulator (moto) accepts names with spaces, names deeper than 15 levels and over-long names; those
    rules are enforced here before any call, following the AWS API reference.
seealso:
  - name: Parameter Store hierarchies
    description: How parameter paths, names and their limits work.
    link: https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-hierarchies.html
  - module: cairn.platform.rds_postgres
"""

EXAMPLES = r"""
- name: Publish the endpoints of the region stack (secrets only by ARN)
  cairn.platform.ssm_parameters:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    path: /cairn/prod/us-east-1/
    parameters:
      rds/endpoint: "{{ cairn_rds_postgres.instance.endpoint }}"
      rds/port: "{{ cairn_rds_postgres.instance.port }}"
      rds/master_secret_arn:
        value: "{{ cairn_rds_postgres.master_user_secret_arn }}"
        description: ARN of the Secrets Manager secret that holds the master password
      redis/configuration_endpoint: "{{ cairn_redis.configuration_endpoint.address }}"
      s3/buckets:
        type: StringList
        value: ["prod-us-east-1-uploads", "prod-us-east-1-assets"]
    tags:
      owner: platform

- name: Plan only (check mode writes nothing; values an earlier task only planned show as known after apply)
  cairn.platform.ssm_parameters:
    environment: dev
    stack: dev-us-east-1
    path: /cairn/dev/us-east-1/
    parameters:
      rds/endpoint: "{{ cairn_rds_postgres.instance.endpoint }}"
  check_mode: true
  diff: true

- name: Remove everything the stack published under its path
  cairn.platform.ssm_parameters:
    environment: dev
    stack: dev-us-east-1
    path: /cairn/dev/us-east-1/
    state: absent
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: ssm_parameter
      resource: /cairn/prod/us-east-1/rds/endpoint
      fields: {value: {before: old.cluster.example, after: new.cluster.example}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
path:
  description: The path converged.
  returned: always
  type: str
  sample: /cairn/prod/us-east-1/
parameters:
  description:
    - The published parameters, by the names given in O(parameters).
    - In check mode the version of a parameter to be created or updated is C((known after apply)).
  returned: always
  type: dict
  sample:
    rds/port: {name: /cairn/prod/us-east-1/rds/port, value: "5432", version: 3, type: String}
"""

import re

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    STACK_TAG,
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)

COMPONENT = "ssm_parameters"
RESOURCE_TYPE = "ssm_parameter"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    path=dict(type="str", required=True),
    parameters=dict(type="dict"),
    purge=dict(type="bool", default=True),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
TYPES = ("String", "StringList")
TIERS = ("Standard",)
ENTRY_KEYS = ("value", "type", "description", "tier")
MAX_LEVELS = 15  # slashes in a full name: /l1/l2/.../l14/name
# AWS counts the ARN in front of the name (arn:aws:ssm:us-east-2:111122223333:parameter) toward 1011.
MAX_NAME_WITH_ARN = 1011
ACCOUNT_ID_LENGTH = 12
MAX_VALUE_BYTES = 4096  # Standard tier
MAX_DESCRIPTION = 1024
DELETE_BATCH = 10  # DeleteParameters takes at most 10 names
_LEVEL = re.compile(r"^[A-Za-z0-9_.\-]+$")
_REFERENCE = re.compile(r"\{\{.*\}\}", re.DOTALL)


def max_name_length(region, partition="aws"):
    """Characters left for a full name once the ARN prefix AWS counts along is taken."""
    prefix = "arn:{0}:ssm:{1}:{2}:parameter".format(partition, region, "0" * ACCOUNT_ID_LENGTH)
    return MAX_NAME_WITH_ARN - len(prefix)


def check_levels(field, text, what):
    for level in text.split("/"):
        if not _LEVEL.match(level):
            if not level:
                raise InputError("{0}: {1!r} has an empty level (two slashes in a row); {2}.".format(field, text, what))
            raise InputError(
                "{0}: {1!r} holds the level {2!r}; Parameter Store allows only letters, digits and _ . - in a level "
                "(no spaces).".format(field, text, level)
            )


def check_path(path, name_limit):
    if not isinstance(path, str) or not path.startswith("/") or not path.endswith("/"):
        raise InputError("path: {0!r} must start and end with '/', like /cairn/prod/us-east-1/.".format(path))
    if path == "/":
        raise InputError("path: give at least one level, like /cairn/prod/us-east-1/; the root holds every parameter of the region.")
    check_levels("path", path[1:-1], "give a path like /cairn/prod/us-east-1/")
    first = path[1:].split("/", 1)[0].lower()
    if first.startswith(("aws", "ssm")):
        raise InputError("path: {0!r} begins with 'aws' or 'ssm' (any case), which AWS reserves.".format(path))
    if path.count("/") > MAX_LEVELS:
        raise InputError(
            "path: {0!r} has {1} levels; Parameter Store allows {2} in a full name, the parameter's own name "
            "included, so a path may have at most {3}.".format(path, path.count("/") - 1, MAX_LEVELS, MAX_LEVELS - 1)
        )
    if len(path) + 1 > name_limit:
        raise InputError(
            "path: {0} characters leave no room for a name; a full name may have at most {1} characters here "
            "(AWS counts the parameter ARN toward 1011).".format(len(path), name_limit)
        )
    return path


def full_name(key, path, name_limit):
    field = "parameters.{0}".format(key)
    if not isinstance(key, str) or not key:
        raise InputError("parameters: the name {0!r} must be a non-empty string relative to path.".format(key))
    if key.startswith("/") or key.endswith("/"):
        raise InputError(
            "{0}: give the name relative to path ({1}) without a leading or trailing '/', for example rds/endpoint.".format(field, path)
        )
    check_levels(field, key, "separate levels with one '/'")
    name = path + key
    if name.count("/") > MAX_LEVELS:
        raise InputError(
            "{0}: {1} has {2} levels; Parameter Store allows at most {3}.".format(field, name, name.count("/"), MAX_LEVELS)
        )
    if len(name) > name_limit:
        raise InputError(
            "{0}: {1} has {2} characters; in this region a full name may have at most {3} (AWS counts the "
            "parameter ARN toward 1011).".format(field, name, len(name), name_limit)
        )
    return name


def scalar_text(field, value):
    """A value as Parameter Store stores it: a string, or an integer such as a port."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(
            "{0}: got {1} {2!r}; give a string or an integer (encode structured data with to_json, quote "
            "yes/no).".format(field, type(value).__name__, value)
        )
    return str(value)


def value_text(field, value, parameter_type):
    if isinstance(value, list):
        if parameter_type != "StringList":
            raise InputError("{0}: a list is a value only for type StringList; join it, or set type: StringList.".format(field))
        items = [scalar_text(field, item) for item in value]
        for item in items:
            if not item or "," in item:
                raise InputError(
                    "{0}: the StringList item {1!r} is empty or holds a comma; StringList items are separated by "
                    "commas and cannot escape them (use type String for such a value).".format(field, item)
                )
        text = ",".join(items)
    else:
        text = scalar_text(field, value)
    if not text:
        raise InputError("{0}: is empty; Parameter Store refuses empty values.".format(field))
    size = len(text.encode("utf-8"))
    if size > MAX_VALUE_BYTES:
        raise InputError(
            "{0}: is {1} bytes; a Standard parameter holds at most {2} bytes (4 KB). Publish a pointer (an S3 "
            "object or a secret ARN) instead of the data.".format(field, size, MAX_VALUE_BYTES)
        )
    if _REFERENCE.search(text):
        raise InputError("{0}: holds a {{{{ }}}} reference, which Parameter Store refuses in a value.".format(field))
    return text


def build_entry(key, raw, path, name_limit):
    name = full_name(key, path, name_limit)
    field = "parameters.{0}".format(key)
    entry = raw if isinstance(raw, dict) else {"value": raw}
    unknown = sorted(str(option) for option in entry if option not in ENTRY_KEYS)
    if unknown:
        raise InputError("{0}: unknown key {1}; a parameter takes {2}.".format(field, ", ".join(unknown), ", ".join(ENTRY_KEYS)))
    if entry.get("value") is None:
        raise InputError("{0}.value: required.".format(field))
    parameter_type = entry.get("type") or "String"
    if parameter_type == "SecureString":
        raise InputError(
            "{0}.type: SecureString is refused: secrets stay in Secrets Manager and only their ARNs are published "
            "here, so no secret value passes through the inventory or any output. Publish the secret's ARN as a "
            "String.".format(field)
        )
    if parameter_type not in TYPES:
        raise InputError("{0}.type: {1!r} is not one of {2}.".format(field, parameter_type, ", ".join(TYPES)))
    tier = entry.get("tier") or "Standard"
    if tier not in TIERS:
        raise InputError(
            "{0}.tier: {1!r} is not offered; only Standard (4 KB, no charge) is, which published wiring fits.".format(field, tier)
        )
    description = entry.get("description")
    if description is not None:
        if not isinstance(description, str):
            raise InputError("{0}.description: give a string.".format(field))
        if len(description) > MAX_DESCRIPTION:
            raise InputError("{0}.description: has {1} characters; at most {2}.".format(field, len(description), MAX_DESCRIPTION))
    return {
        "key": key,
        "field": field,
        "name": name,
        "value": value_text(field + ".value", entry["value"], parameter_type),
        "type": parameter_type,
        "description": description,
        "tier": tier,
    }


def build_spec(params, region, partition="aws"):
    """All checks that need no API call; `region` and `partition` size the name limit."""
    name_limit = max_name_length(region, partition)
    spec = {"state": params["state"], "path": check_path(params["path"], name_limit), "purge": params["purge"]}
    if params["state"] == "absent":
        spec["parameters"] = []
        return spec
    if params.get("parameters") is None:
        raise InputError("parameters: required when state=present (give {} to publish nothing).")
    spec["parameters"] = [
        build_entry(key, raw, spec["path"], name_limit)
        for key, raw in sorted(params["parameters"].items(), key=lambda item: str(item[0]))
    ]
    return spec


# ---------------------------------------------------------------------------------------------
# Converging against Parameter Store
# ---------------------------------------------------------------------------------------------
class SsmParametersConverger:
    """Reads everything under the path once, refuses what it must not touch, then writes."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.path = spec["path"]
        self.owner = cm.ownership()
        self.ssm = cm.client("ssm")
        self.current = {}  # full name -> GetParametersByPath entry (Name, Type, Value, Version)
        self.owned = {}  # full name -> DescribeParameters metadata of the stack's parameters
        self.tags = {}  # full name -> tags, where they were read

    # ---- read ------------------------------------------------------------------------------
    def read(self):
        with self.cm.doing("reading the parameters under " + self.path):
            found = paginate(self.ssm, "get_parameters_by_path", "Parameters", Path=self.path, Recursive=True,
                             WithDecryption=False)
        self.current = {parameter["Name"]: parameter for parameter in found}
        if not self.current:
            return
        filters = [{"Key": "Path", "Option": "Recursive", "Values": [self.path.rstrip("/")]}]
        filters += [{"Key": "tag:" + key, "Option": "Equals", "Values": [value]}
                    for key, value in sorted(self.owner.ownership_tags.items())]
        with self.cm.doing("listing the parameters under {0} that belong to stack {1}".format(self.path, self.owner.stack)):
            owned = paginate(self.ssm, "describe_parameters", "Parameters", ParameterFilters=filters)
        self.owned = {metadata["Name"]: metadata for metadata in owned if metadata["Name"] in self.current}
        for entry in self.spec["parameters"]:
            name = entry["name"]
            if name not in self.current:
                continue
            # Tags are read where they must be converged, and where DescribeParameters may lag behind them.
            if self.owner.user_tags is not None or name not in self.owned:
                self.read_tags(name)
            if name not in self.owned and self.owner.owns(self.tags[name]):
                self.owned[name] = {"Name": name, "Type": self.current[name]["Type"]}

    def read_tags(self, name):
        with self.cm.doing("reading the tags of parameter " + name):
            answer = self.ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)
        self.tags[name] = boto3_tag_list_to_dict(answer.get("TagList"))

    # ---- converge --------------------------------------------------------------------------
    def present(self):
        self.read()
        self.preflight()
        published = {entry["key"]: self.ensure(entry) for entry in self.spec["parameters"]}
        if self.spec["purge"]:
            listed = {entry["name"] for entry in self.spec["parameters"]}
            self.remove(sorted(name for name in self.owned if name not in listed))
        return {"path": self.path, "parameters": published}

    def absent(self):
        self.read()
        self.remove(sorted(self.owned))
        return {"path": self.path, "parameters": {}}

    def preflight(self):
        """Refuse, before any write, every listed parameter AWS would refuse to change or that is not ours."""
        for entry in self.spec["parameters"]:
            current = self.current.get(entry["name"])
            if current is None:
                continue
            if entry["name"] not in self.owned:
                holder = self.tags.get(entry["name"], {}).get(STACK_TAG)
                raise CairnError(
                    "{0}: {1} already exists {2}; cairn.platform never takes over a parameter it does not own. Choose "
                    "another name, or delete or tag that parameter by hand.".format(
                        entry["field"], entry["name"],
                        "and belongs to stack {0}".format(holder) if holder else
                        "without the ownership tags of stack {0} (component {1})".format(self.owner.stack, COMPONENT))
                )
            if current["Type"] != entry["type"]:
                raise CairnError(
                    "{0}.type: {1} is a {2} parameter and types are not changed in place (Parameter Store refuses "
                    "some such changes with HierarchyTypeMismatchException). Remove it "
                    "from parameters so purge deletes it, then add it back as {3} in a later run (AWS asks for 30 "
                    "seconds between deleting and recreating a name).".format(entry["field"], entry["name"], current["Type"], entry["type"])
                )
            tier = self.owned[entry["name"]].get("Tier", "Standard")
            if tier not in TIERS:
                raise CairnError(
                    "{0}.tier: {1} is an {2} parameter and AWS cannot turn it back into a Standard one. Remove it "
                    "from parameters so purge deletes it, then add it back in a later run.".format(entry["field"], entry["name"], tier)
                )

    def ensure(self, entry):
        name = entry["name"]
        desired_tags = self.owner.desired_tags()
        current = self.current.get(name)
        if current is None:
            return self.create(entry, desired_tags)
        metadata = self.owned[name]
        description = entry["description"] if entry["description"] is not None else metadata.get("Description")
        before = {"value": current["Value"], "description": metadata.get("Description")}
        after = {"value": entry["value"], "description": description}
        version = current["Version"]
        if before != after:
            version = UNKNOWN
            if self.plan.update(RESOURCE_TYPE, name, before, after):
                kwargs = dict(Name=name, Value=entry["value"], Type=entry["type"], Tier=entry["tier"], Overwrite=True)
                if description is not None:
                    # Sent on every overwrite, so an update never clears a description it does not manage.
                    kwargs["Description"] = description
                with self.cm.doing("updating parameter " + name):
                    version = self.ssm.put_parameter(**kwargs)["Version"]
        # Tags never ride on an overwrite: AWS refuses Tags together with Overwrite=True.
        apply_tag_changes(
            self.cm, self.plan, self.owner, RESOURCE_TYPE, name, self.tags.get(name, self.owner.ownership_tags), desired_tags,
            action="tagging parameter " + name,
            add=lambda to_set: self.ssm.add_tags_to_resource(
                ResourceType="Parameter", ResourceId=name, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.ssm.remove_tags_from_resource(
                ResourceType="Parameter", ResourceId=name, TagKeys=to_remove))
        return self.published(entry, version)

    def create(self, entry, tags):
        desired = {"value": entry["value"], "type": entry["type"], "tier": entry["tier"],
                   "description": entry["description"], "tags": tags}
        if not self.plan.create(RESOURCE_TYPE, entry["name"], desired):
            return self.published(entry, UNKNOWN)
        kwargs = dict(Name=entry["name"], Value=entry["value"], Type=entry["type"], Tier=entry["tier"],
                      Tags=dict_to_boto3_tag_list(tags))
        if entry["description"] is not None:
            kwargs["Description"] = entry["description"]
        with self.cm.doing("creating parameter " + entry["name"]):
            version = self.ssm.put_parameter(**kwargs)["Version"]
        return self.published(entry, version)

    @staticmethod
    def published(entry, version):
        return {"name": entry["name"], "value": entry["value"], "version": version, "type": entry["type"]}

    def remove(self, names):
        doomed = []
        for name in names:
            current = self.current[name]
            before = {"type": current["Type"], "version": current["Version"]}
            if current["Type"] != "SecureString":  # never show what another tool encrypted
                before["value"] = current["Value"]
            if self.plan.delete(RESOURCE_TYPE, name, before):
                doomed.append(name)
        for start in range(0, len(doomed), DELETE_BATCH):
            batch = doomed[start:start + DELETE_BATCH]
            with self.cm.doing("deleting parameters " + ", ".join(batch)):
                self.ssm.delete_parameters(Names=batch)


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region, cm.partition())
        converger = SsmParametersConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
