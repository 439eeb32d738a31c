#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: security_groups
short_description: Converge a set of security groups of one VPC, with their rules reconciled exactly
version_added: 0.1.0
description:
  - Creates, updates or deletes the security groups of one region stack in one VPC as one unit,
    with a plan of every change.
  - Groups may reference each other, in cycles too. Missing groups are created first, without rules,
    and then the rules of every group are reconciled.
  - Rules are reconciled exactly, in both directions. A rule added by hand to a group the stack owns
    shows in RV(changes) (fields C(ingress)/C(egress), before and after) and is removed. The egress
    rule AWS adds to every new group (all traffic to C(0.0.0.0/0)) is removed unless declared.
  - A rule's description is part of the rule; a new description is applied in place, without
    revoking the rule.
  - A least-privilege guard refuses, before any API call, ingress from C(0.0.0.0/0) or C(::/0) on
    anything but TCP or UDP ports 80 and 443 and the ports listed in O(allow_public_ingress_ports).
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the groups to O(groups); V(absent) deletes every group the stack owns
        (in O(vpc_id) when given).
    type: str
    choices: [present, absent]
    default: present
  vpc_id:
    description:
      - The VPC the groups live in. Required when O(state=present).
    type: str
  groups:
    description:
      - The security groups, by logical name.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Logical name, unique in the list, used by rules to reference the group. The AWS group
            name is C(<stack>-<name>).
        type: str
        required: true
      description:
        description:
          - The group's description. Defaults to C(<name> of <stack> (cairn.platform)).
          - AWS cannot change the description of an existing group; the module refuses before any
            write when it differs.
        type: str
      ingress:
        description: Inbound rules. Anything else on the group is removed.
        type: list
        elements: dict
        default: []
        suboptions: &rule
          protocol:
            description:
              - V(tcp), V(udp), V(icmp), V(icmpv6), V(all), or an IP protocol number from 0 to 255.
            type: str
            default: tcp
          ports:
            description:
              - One port (V(443)) or a range (V(1024-2048)), 0 to 65535. Required for V(tcp) and
                V(udp), refused for every other protocol.
            type: raw
          icmp_type:
            description:
              - For V(icmp) and V(icmpv6), the ICMP type. Unset means every type.
            type: int
          icmp_code:
            description:
              - For V(icmp) and V(icmpv6), the ICMP code; needs an ICMP type. Unset means every code.
            type: int
          cidr_ipv4:
            description: An IPv4 network, for example V(10.40.0.0/16).
            type: str
          cidr_ipv6:
            description: An IPv6 network, for example V(::/0).
            type: str
          group:
            description:
              - The logical name of another group in O(groups), or the id (V(sg-...)) of a group in
                the same VPC.
            type: str
          prefix_list_id:
            description: A managed prefix list id (V(pl-...)).
            type: str
          description:
            description:
              - What the rule is for, up to 255 characters. Part of the rule; changing it updates the
                rule in place.
            type: str
      egress:
        description: Outbound rules, with the same fields as the inbound ones. Anything else is removed.
        type: list
        elements: dict
        default: []
        suboptions: *rule
  purge_groups:
    description:
      - Delete groups of the stack in O(vpc_id) that are no longer listed in O(groups).
    type: bool
    default: true
  allow_public_ingress_ports:
    description:
      - Ports, besides 80 and 443, that an ingress rule may open to C(0.0.0.0/0) or C(::/0).
    type: list
    elements: int
    default: []
notes:
  - One describe call (filtered by VPC and ownership tags; ownership judged by the tags read back)
    reads every group; a rerun with the same input makes no mutating call.
  - Creating a group whose name is taken in the VPC by a group without the ownership tags is
    refused before any write. Deleting a group that network interfaces or groups outside the stack
    still use is refused before any write as well; a dependency that appears in between makes AWS
    refuse the delete with C(DependencyViolation), which the module reports by name.
  - "The local emulator (moto) has gaps this module does not work around: it accepts duplicate rules
    and deleting a referenced group, it does not update the description of a rule that references a
    group nor remove a description. Those paths are covered by botocore Stubber tests."
  - Groups of other components (the networking module's endpoint group, say) carry another
    C(cairn:component) tag and are never touched.
seealso:
  - name: Security group rules
    description: How rules, references and descriptions work.
    link: https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html
"""

EXAMPLES = r"""
- name: The groups of an application behind a load balancer
  cairn.platform.security_groups:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    vpc_id: "{{ network.vpc.id }}"
    groups:
      - name: alb
        ingress:
          - {ports: 443, cidr_ipv4: 0.0.0.0/0, description: HTTPS from the internet}
          - {ports: 443, cidr_ipv6: "::/0", description: HTTPS from the internet}
        egress:
          - {ports: 8080, group: app, description: To the application}
      - name: app
        ingress:
          - {ports: 8080, group: alb, description: From the load balancer}
        egress:
          - {ports: 5432, group: db, description: PostgreSQL}
      - name: db
        ingress:
          - {ports: 5432, group: app, description: From the application}
  register: security_groups

- name: Plan only
  cairn.platform.security_groups:
    environment: prod
    stack: prod-us-east-1
    vpc_id: vpc-0abc
    groups: "{{ security_groups_definition }}"
  check_mode: true
  diff: true

- name: Delete every group of the stack
  cairn.platform.security_groups:
    environment: dev
    stack: dev-us-east-1
    vpc_id: vpc-0abc
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
      resource_type: security_group
      resource: prod-us-east-1-db
      fields:
        ingress:
          before: ["tcp:22 0.0.0.0/0", "tcp:5432 group:app (From the application)"]
          after: ["tcp:5432 group:app (From the application)"]
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
groups:
  description: The groups by logical name (C(known after apply) ids in check mode before creation).
  returned: when state=present
  type: dict
  sample:
    app: {id: sg-0abc, name: prod-us-east-1-app, arn: "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0abc"}
vpc_id:
  description: The VPC of the groups.
  returned: when state=present
  type: str
"""

import ipaddress
import re

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
    tag_specifications,
)

COMPONENT = "security_groups"

RULE_OPTIONS = dict(
    protocol=dict(type="str", default="tcp"),
    ports=dict(type="raw"),
    icmp_type=dict(type="int"),
    icmp_code=dict(type="int"),
    cidr_ipv4=dict(type="str"),
    cidr_ipv6=dict(type="str"),
    group=dict(type="str"),
    prefix_list_id=dict(type="str"),
    description=dict(type="str"),
)

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    vpc_id=dict(type="str"),
    groups=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            description=dict(type="str"),
            ingress=dict(type="list", elements="dict", default=[], options=RULE_OPTIONS),
            egress=dict(type="list", elements="dict", default=[], options=RULE_OPTIONS),
        ),
    ),
    purge_groups=dict(type="bool", default=True),
    allow_public_ingress_ports=dict(type="list", elements="int", default=[]),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the rule model (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
DIRECTIONS = ("ingress", "egress")
PORTED = ("tcp", "udp")
ICMP = ("icmp", "icmpv6")
# AWS answers with these names for the numbers, so numbers are compared by name.
PROTOCOL_NUMBERS = {"6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
ALWAYS_PUBLIC_PORTS = (80, 443)
SOURCES = ("cidr_ipv4", "cidr_ipv6", "group", "prefix_list_id")
# kind -> (IpPermission list, item key)
PEER_FIELDS = {
    "ipv4": ("IpRanges", "CidrIp"),
    "ipv6": ("Ipv6Ranges", "CidrIpv6"),
    "group": ("UserIdGroupPairs", "GroupId"),
    "prefix_list": ("PrefixListIds", "PrefixListId"),
}
SOURCE_KIND = {"cidr_ipv4": "ipv4", "cidr_ipv6": "ipv6", "group": "group", "prefix_list_id": "prefix_list"}
# The characters AWS allows in VPC security group names and descriptions, and rule descriptions.
_AWS_TEXT = re.compile(r"^[A-Za-z0-9 ._\-:/()#,@\[\]+=&;{}!$*]*$")
_LOGICAL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,62}$")
_GROUP_ID = re.compile(r"^sg-[0-9a-f]{8}([0-9a-f]{9})?$")
_PREFIX_LIST_ID = re.compile(r"^pl-[0-9a-f]{8}([0-9a-f]{9})?$")
_VPC_ID = re.compile(r"^vpc-[0-9a-f]{8}([0-9a-f]{9})?$")


def parse_protocol(field, value):
    """The protocol as AWS reports it: tcp, udp, icmp, icmpv6, -1 (all) or a number."""
    text = str(value).strip().lower()
    if text in ("all", "-1"):
        return "-1"
    if text in PORTED + ICMP:
        return text
    if text.isdigit() and 0 <= int(text) <= 255:
        number = str(int(text))
        return PROTOCOL_NUMBERS.get(number, number)
    raise InputError(
        "{0}: unknown protocol {1!r}; use tcp, udp, icmp, icmpv6, all, or an IP protocol number from 0 to 255.".format(field, value)
    )


def parse_ports(field, value):
    """(from, to) from 443, "443" or "1024-2048"."""
    if isinstance(value, bool):
        raise InputError("{0}: give a port such as 443 or a range such as 1024-2048; got {1!r}.".format(field, value))
    if isinstance(value, int):
        low = high = value
    else:
        match = re.match(r"^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$", str(value))
        if not match:
            raise InputError("{0}: give a port such as 443 or a range such as 1024-2048; got {1!r}.".format(field, value))
        low = int(match.group(1))
        high = int(match.group(2)) if match.group(2) is not None else low
    for port in (low, high):
        if not 0 <= port <= 65535:
            raise InputError("{0}: ports run from 0 to 65535; got {1}.".format(field, port))
    if low > high:
        raise InputError("{0}: the range {1}-{2} runs backwards; write {2}-{1}.".format(field, low, high))
    return low, high


def check_text(field, value, limit=255):
    if len(value) > limit or not _AWS_TEXT.match(value):
        raise InputError(
            "{0}: up to {1} of letters, digits, spaces and ._-:/()#,@[]+=&;{{}}!$* (AWS allows no others); "
            "got {2!r}.".format(field, limit, value)
        )


def parse_peer(field, rule, group_names):
    """(kind, value) of the rule's one source or destination."""
    given = [key for key in SOURCES if rule.get(key) not in (None, "")]
    if len(given) != 1:
        raise InputError(
            "{0}: give exactly one of cidr_ipv4, cidr_ipv6, group, prefix_list_id; got {1}.".format(
                field, ", ".join(given) if given else "none"
            )
        )
    key = given[0]
    value = str(rule[key]).strip()
    if key == "cidr_ipv4":
        try:
            value = str(ipaddress.IPv4Network(value, strict=True))
        except (ValueError, TypeError) as exc:
            raise InputError("{0}.cidr_ipv4: {1!r} is not an IPv4 network in CIDR form such as 10.0.0.0/16 ({2}).".format(field, value, exc))
    elif key == "cidr_ipv6":
        try:
            value = str(ipaddress.IPv6Network(value, strict=True))
        except (ValueError, TypeError) as exc:
            raise InputError("{0}.cidr_ipv6: {1!r} is not an IPv6 network in CIDR form such as ::/0 ({2}).".format(field, value, exc))
    elif key == "group":
        if value not in group_names and not _GROUP_ID.match(value):
            raise InputError(
                "{0}.group: {1!r} is neither a group of this list ({2}) nor a security group id (sg-...).".format(
                    field, value, ", ".join(sorted(group_names))
                )
            )
    elif not _PREFIX_LIST_ID.match(value):
        raise InputError("{0}.prefix_list_id: {1!r} is not a prefix list id (pl-...).".format(field, value))
    return SOURCE_KIND[key], value


def parse_rule(field, rule, group_names):
    """(key, description); key = (protocol, from_port, to_port, kind, value), ports None where AWS has none."""
    protocol = parse_protocol(field + ".protocol", rule.get("protocol") or "tcp")
    ports, icmp_type, icmp_code = rule.get("ports"), rule.get("icmp_type"), rule.get("icmp_code")
    if protocol not in ICMP and (icmp_type is not None or icmp_code is not None):
        raise InputError("{0}.icmp_type: only icmp and icmpv6 rules take icmp_type and icmp_code.".format(field))
    if protocol in PORTED:
        if ports is None or ports == "":
            raise InputError("{0}.ports: required for {1} rules (a port such as 443 or a range such as 1024-2048).".format(field, protocol))
        low, high = parse_ports(field + ".ports", ports)
    elif protocol in ICMP:
        if ports is not None:
            raise InputError("{0}.ports: {1} has no ports; use icmp_type and icmp_code.".format(field, protocol))
        if icmp_code is not None and icmp_type is None:
            raise InputError("{0}.icmp_code: needs icmp_type.".format(field))
        low = -1 if icmp_type is None else icmp_type
        high = -1 if icmp_code is None else icmp_code
        for name, number in (("icmp_type", low), ("icmp_code", high)):
            if not -1 <= number <= 255:
                raise InputError("{0}.{1}: must be between 0 and 255; got {2}.".format(field, name, number))
    else:
        if ports is not None:
            what = "all traffic" if protocol == "-1" else "protocol " + protocol
            raise InputError("{0}.ports: a rule for {1} covers every port; remove ports or use tcp/udp.".format(field, what))
        low = high = None
    kind, value = parse_peer(field, rule, group_names)
    description = rule.get("description") or None
    if description is not None:
        check_text(field + ".description", description)
    return (protocol, low, high, kind, value), description


def check_public_ingress(field, key, allowed_ports):
    """Refuse ingress from the whole internet except on web ports and the ports the user allows."""
    protocol, low, high, kind, value = key
    if kind not in ("ipv4", "ipv6") or ipaddress.ip_network(value).prefixlen != 0:
        return
    if protocol in PORTED and low == high and (low in ALWAYS_PUBLIC_PORTS or low in allowed_ports):
        return
    raise InputError(
        "{0}: opens {1} to {2}; only ports 80 and 443 (and those in allow_public_ingress_ports) may be open "
        "to the whole internet. Narrow the source, or list the port in allow_public_ingress_ports.".format(
            field, rule_text(key, None, {}), value
        )
    )


def build_spec(params):
    """All checks that need no API call, in the order a person reads the options."""
    spec = {"state": params["state"], "vpc_id": params.get("vpc_id"), "purge_groups": params["purge_groups"], "groups": []}
    if spec["vpc_id"] not in (None, UNKNOWN) and not _VPC_ID.match(spec["vpc_id"]):
        raise InputError("vpc_id: {0!r} is not a VPC id (vpc- and 8 or 17 hex digits).".format(spec["vpc_id"]))
    if params["state"] == "absent":
        return spec
    if not spec["vpc_id"]:
        raise InputError("vpc_id: required when state=present (the VPC the groups live in).")
    allowed_ports = set()
    for port in params.get("allow_public_ingress_ports") or []:
        if not 0 <= port <= 65535:
            raise InputError("allow_public_ingress_ports: ports run from 0 to 65535; got {0}.".format(port))
        allowed_ports.add(port)
    groups = params.get("groups") or []
    names = [group["name"] for group in groups]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InputError("groups: {0} listed more than once; each group needs its own name.".format(", ".join(duplicates)))
    for index, group in enumerate(groups):
        name = group["name"]
        if not _LOGICAL_NAME.match(name or ""):
            raise InputError(
                "groups[{0}].name: {1!r} must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit.".format(index, name)
            )
        group_name = "{0}-{1}".format(params["stack"], name)
        check_text("groups[{0}].name".format(name), group_name)
        description = group.get("description") or "{0} of {1} (cairn.platform)".format(name, params["stack"])
        check_text("groups[{0}].description".format(name), description)
        desired = {"name": name, "group_name": group_name, "description": description}
        for direction in DIRECTIONS:
            rules = {}
            for position, rule in enumerate(group.get(direction) or []):
                field = "groups[{0}].{1}[{2}]".format(name, direction, position)
                key, rule_description = parse_rule(field, rule, names)
                if key in rules:
                    raise InputError("{0}: the same rule as {1} (AWS refuses duplicate rules).".format(field, rules[key][1]))
                if direction == "ingress":
                    check_public_ingress(field, key, allowed_ports)
                rules[key] = (rule_description, field)
            desired[direction] = {key: value[0] for key, value in rules.items()}
        spec["groups"].append(desired)
    return spec


def flatten_permissions(permissions):
    """{key: {"description", "peer"}} from AWS IpPermissions; `peer` is the item as AWS knows it."""
    rules = {}
    for permission in permissions or []:
        protocol = parse_protocol("IpProtocol", permission.get("IpProtocol"))
        ported = protocol in PORTED + ICMP
        low = permission.get("FromPort") if ported else None
        high = permission.get("ToPort") if ported else None
        for kind, (list_key, item_key) in PEER_FIELDS.items():
            for item in permission.get(list_key) or []:
                peer = {item_key: item[item_key]}
                if kind == "group" and item.get("UserId"):
                    peer["UserId"] = item["UserId"]
                rules[(protocol, low, high, kind, item[item_key])] = {"description": item.get("Description") or None, "peer": peer}
    return rules


def to_permissions(rules):
    """AWS IpPermissions for [(key, description, peer or None)], one permission per rule."""
    permissions = []
    for key, description, peer in sorted(rules, key=lambda rule: str(rule[0])):
        protocol, low, high, kind, value = key
        permission = {"IpProtocol": protocol}
        if low is not None:
            permission.update(FromPort=low, ToPort=high)
        list_key, item_key = PEER_FIELDS[kind]
        item = dict(peer) if peer else {item_key: value}
        if description:
            item["Description"] = description
        permission[list_key] = [item]
        permissions.append(permission)
    return permissions


def rule_text(key, description, labels):
    """A rule as one readable line, with our groups by logical name: 'tcp:5432 group:app (PostgreSQL)'."""
    protocol, low, high, kind, value = key
    if protocol == "-1":
        head = "all"
    elif protocol in ICMP:
        head = "{0}:{1}".format(protocol, "all" if low == -1 else ("{0}/{1}".format(low, "all" if high == -1 else high)))
    elif low is None:
        head = "proto-" + protocol
    else:
        head = "{0}:{1}".format(protocol, low if low == high else "{0}-{1}".format(low, high))
    peer = "group:" + labels.get(value, value) if kind == "group" else value
    text = "{0} {1}".format(head, peer)
    return text + " ({0})".format(description) if description else text


class SecurityGroupConverger:
    """Reads the stack's groups with one describe call, then converges them."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.ec2 = cm.client("ec2")
        self.check_mode = cm.check_mode
        self.current = []
        # logical name -> group id (a placeholder in check mode); group id -> label for readable rules
        self.ids = {}
        self.labels = {}

    def describe(self, what, **kwargs):
        with self.cm.doing("reading " + what):
            return paginate(self.ec2, "describe_security_groups", "SecurityGroups", **kwargs)

    def owned(self, group):
        return self.owner.owns(boto3_tag_list_to_dict(group.get("Tags")))

    def read(self):
        if self.spec["vpc_id"] == UNKNOWN:
            self.current = []  # the VPC itself is only planned (check mode): nothing can exist in it yet
            return
        filters = list(self.owner.filters())
        if self.spec["vpc_id"]:
            filters.insert(0, {"Name": "vpc-id", "Values": [self.spec["vpc_id"]]})
        # The filters narrow the answer; the tags read back decide.
        self.current = [group for group in self.describe("the stack's security groups", Filters=filters) if self.owned(group)]
        for group in self.current:
            self.labels[group["GroupId"]] = group["GroupName"]
            self.cm.remember_account_id(group.get("OwnerId"))

    def tags_for(self, group_name):
        return self.owner.desired_tags(name=group_name)

    def texts(self, rules):
        return sorted(rule_text(key, description, self.labels) for key, description in rules.items())

    def current_texts(self, group):
        return {direction: self.texts({key: rule["description"] for key, rule in self.current_rules(group, direction).items()})
                for direction in DIRECTIONS}

    @staticmethod
    def current_rules(group, direction):
        return flatten_permissions(group.get("IpPermissions" if direction == "ingress" else "IpPermissionsEgress"))

    # ---- present --------------------------------------------------------------------------
    def present(self):
        self.read()
        by_name = {group["GroupName"]: group for group in self.current}
        desired_names = {desired["group_name"] for desired in self.spec["groups"]}
        missing = [desired for desired in self.spec["groups"] if desired["group_name"] not in by_name]
        doomed = [group for group in self.current if group["GroupName"] not in desired_names] if self.spec["purge_groups"] else []
        for desired in self.spec["groups"]:
            group = by_name.get(desired["group_name"])
            self.ids[desired["name"]] = group["GroupId"] if group else "{0} {1}".format(UNKNOWN, desired["name"])
            self.labels[self.ids[desired["name"]]] = desired["name"]
        self.preflight(by_name, missing, doomed)

        created = self.create_groups(missing)
        by_name.update(created)
        for desired in self.spec["groups"]:
            group = by_name.get(desired["group_name"])
            if group is not None:
                self.reconcile(desired, group, record=desired["group_name"] not in created)
        self.delete_groups(doomed)
        return {"vpc_id": self.spec["vpc_id"], "groups": {desired["name"]: self.result(desired, by_name.get(desired["group_name"]))
                                                          for desired in self.spec["groups"]}}

    def preflight(self, by_name, missing, doomed):
        """Refuse, before any write, what AWS cannot do in place and groups we do not own."""
        for desired in self.spec["groups"]:
            group = by_name.get(desired["group_name"])
            if group is not None and group.get("Description") != desired["description"]:
                raise CairnError(
                    "groups[{0}].description: group {1} ({2}) has the description {3!r}; AWS cannot change a security "
                    "group's description (asked for {4!r}). Keep the old one, or delete the group first.".format(
                        desired["name"], desired["group_name"], group["GroupId"], group.get("Description"), desired["description"]
                    )
                )
        if missing and self.spec["vpc_id"] != UNKNOWN:
            taken = self.describe("security groups of the names to create", Filters=[
                {"Name": "vpc-id", "Values": [self.spec["vpc_id"]]},
                {"Name": "group-name", "Values": sorted(desired["group_name"] for desired in missing)},
            ])
            if taken:
                group = taken[0]
                raise CairnError(
                    "groups: security group {0} ({1}) already exists in {2} without the ownership tags of stack {3}; "
                    "cairn.platform never takes over a group it does not own. Delete or rename it, or tag it by hand "
                    "to adopt it.".format(group["GroupName"], group["GroupId"], self.spec["vpc_id"], self.owner.stack)
                )
        if doomed:
            self.check_deletable(doomed)

    def check_deletable(self, doomed):
        """Refuse to delete groups that other groups or network interfaces still use (before stripping any rule)."""
        doomed_ids = sorted(group["GroupId"] for group in doomed)
        ours = {group["GroupId"] for group in self.current}
        for desired in self.spec["groups"]:
            for direction in DIRECTIONS:
                for key in desired[direction]:
                    if key[3] == "group" and key[4] in doomed_ids:
                        raise CairnError(
                            "groups[{0}].{1}: refers to {2}, a group of the stack that is no longer listed and would be "
                            "deleted; refer to it by logical name and list it, or drop the rule.".format(desired["name"], direction, key[4])
                        )
        users = {}
        for filter_name in ("ip-permission.group-id", "egress.ip-permission.group-id"):
            for group in self.describe("groups that refer to the groups to delete", Filters=[{"Name": filter_name, "Values": doomed_ids}]):
                if group["GroupId"] not in ours:
                    users.setdefault(group["GroupId"], group["GroupName"])
        with self.cm.doing("reading network interfaces that use the groups to delete"):
            interfaces = paginate(self.ec2, "describe_network_interfaces", "NetworkInterfaces",
                                  Filters=[{"Name": "group-id", "Values": doomed_ids}])
        if users or interfaces:
            found = ["group {0} ({1})".format(group_id, name) for group_id, name in sorted(users.items())]
            found += ["network interface {0} ({1})".format(eni["NetworkInterfaceId"], eni.get("Description") or eni.get("InterfaceType", "interface"))
                      for eni in interfaces]
            raise CairnError(
                "Cannot delete security groups {0}: still in use by {1}. Nothing was changed; detach or remove those "
                "first, or keep the groups listed (purge_groups=false keeps unlisted groups).".format(
                    ", ".join("{0} ({1})".format(g["GroupName"], g["GroupId"]) for g in doomed), ", ".join(found)
                )
            )

    def create_groups(self, missing):
        """Create the missing groups without rules (so they can refer to each other); {group name: group}."""
        created = {}
        for desired in missing:
            tags = self.tags_for(desired["group_name"])
            planned = {"vpc_id": self.spec["vpc_id"], "description": desired["description"], "tags": tags}
            planned.update({direction: self.texts(desired[direction]) for direction in DIRECTIONS})
            if not self.plan.create("security_group", desired["group_name"], planned):
                continue
            with self.cm.doing("creating security group " + desired["group_name"]):
                response = self.ec2.create_security_group(
                    GroupName=desired["group_name"], Description=desired["description"], VpcId=self.spec["vpc_id"],
                    TagSpecifications=tag_specifications("security-group", tags),
                )
            self.ids[desired["name"]] = response["GroupId"]
            self.labels[response["GroupId"]] = desired["name"]
        if missing and not self.check_mode:
            new_ids = [self.ids[desired["name"]] for desired in missing]
            # Read back what AWS made: the default egress rule to reconcile away, the ARN.
            for group in self.describe("the new security groups", GroupIds=new_ids):
                created[group["GroupName"]] = group
        return created

    def resolve(self, rules):
        """Desired rules with logical group names replaced by ids."""
        resolved = {}
        for (protocol, low, high, kind, value), description in rules.items():
            if kind == "group" and value in self.ids:
                value = self.ids[value]
            resolved[(protocol, low, high, kind, value)] = description
        return resolved

    def reconcile(self, desired, group, record):
        """Make the group's rules exactly the desired ones; a rule added by hand shows in the plan and is removed."""
        group_id = group["GroupId"]
        label = desired["group_name"]
        if record:
            apply_tag_changes(
                self.cm, self.plan, self.owner, "security_group", label, boto3_tag_list_to_dict(group.get("Tags")), self.tags_for(label),
                action="tagging security group " + group_id,
                add=lambda to_set: self.ec2.create_tags(Resources=[group_id], Tags=dict_to_boto3_tag_list(to_set)),
                remove=lambda to_remove: self.ec2.delete_tags(Resources=[group_id], Tags=[{"Key": key} for key in to_remove]))
        work = {}
        for direction in DIRECTIONS:
            current = self.current_rules(group, direction)
            wanted = self.resolve(desired[direction])
            add = [(key, description, None) for key, description in wanted.items() if key not in current]
            remove = [(key, rule["description"], rule["peer"]) for key, rule in current.items() if key not in wanted]
            redescribe = [(key, description, current[key]["peer"]) for key, description in wanted.items()
                          if key in current and current[key]["description"] != description]
            if add or remove or redescribe:
                work[direction] = (add, remove, redescribe)
        if not work:
            return
        # A group created in this run was planned with its rules already.
        if record:
            before = self.current_texts(group)
            after = {direction: self.texts(self.resolve(desired[direction])) for direction in DIRECTIONS}
            if not self.plan.update("security_group", label, before, after):
                return
        with self.cm.doing("reconciling the rules of security group {0} ({1})".format(label, group_id)):
            for direction, (add, remove, redescribe) in sorted(work.items()):
                # Add before removing, so a changed rule never leaves a moment with neither.
                if add:
                    getattr(self.ec2, "authorize_security_group_" + direction)(GroupId=group_id, IpPermissions=to_permissions(add))
                if redescribe:
                    getattr(self.ec2, "update_security_group_rule_descriptions_" + direction)(
                        GroupId=group_id, IpPermissions=to_permissions(redescribe))
                if remove:
                    getattr(self.ec2, "revoke_security_group_" + direction)(GroupId=group_id, IpPermissions=to_permissions(remove))

    # ---- removal ------------------------------------------------------------------------------
    def delete_groups(self, doomed):
        for group in doomed:
            before = dict(self.current_texts(group), id=group["GroupId"])
            self.plan.delete("security_group", group["GroupName"], before)
        if not doomed or self.check_mode:
            return
        # Groups to delete may refer to each other: strip every rule first, then delete.
        for group in doomed:
            with self.cm.doing("revoking the rules of security group {0} ({1})".format(group["GroupName"], group["GroupId"])):
                for direction in DIRECTIONS:
                    current = self.current_rules(group, direction)
                    if current:
                        getattr(self.ec2, "revoke_security_group_" + direction)(
                            GroupId=group["GroupId"],
                            IpPermissions=to_permissions([(key, rule["description"], rule["peer"]) for key, rule in current.items()]))
        for group in doomed:
            self.delete_group(group)

    def delete_group(self, group):
        with self.cm.doing("deleting security group {0} ({1})".format(group["GroupName"], group["GroupId"])):
            try:
                self.ec2.delete_security_group(GroupId=group["GroupId"])
            except Exception as exc:
                if error_code(exc) != "DependencyViolation":
                    raise
                raise CairnError(
                    "AWS refused to delete security group {0} ({1}): DependencyViolation: {2}. Something outside the "
                    "stack started using it after the module checked (a network interface, or a rule of a group in "
                    "this or a peered VPC); its rules are already removed. Find the users with `aws ec2 "
                    "describe-network-interfaces --filters Name=group-id,Values={1}` and `aws ec2 "
                    "describe-security-group-references --group-id {1}`, then rerun.".format(
                        group["GroupName"], group["GroupId"], exc.response.get("Error", {}).get("Message", "").rstrip(".")),
                    error_code="DependencyViolation", group_id=group["GroupId"],
                )

    def absent(self):
        self.read()
        if self.current:
            self.check_deletable(self.current)
        self.delete_groups(self.current)
        return {}

    # ---- result --------------------------------------------------------------------------
    def result(self, desired, group):
        if group is None:
            return {"id": UNKNOWN, "name": desired["group_name"], "arn": UNKNOWN}
        arn = group.get("SecurityGroupArn") or "arn:{0}:ec2:{1}:{2}:security-group/{3}".format(
            self.cm.partition(), self.cm.connection.region, group.get("OwnerId") or self.cm.account_id(), group["GroupId"])
        return {"id": group["GroupId"], "name": group["GroupName"], "arn": arn}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = SecurityGroupConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
