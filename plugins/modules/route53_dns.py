#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: route53_dns
short_description: Converge an environment's public Route 53 zone, its records and health checks with one plan
version_added: 0.1.0
description:
  - Creates (or adopts) the environment's public hosted zone, converges the record sets listed (plain,
    alias and failover) and the Route 53 health checks they use, and reports every change in one plan.
  - Health checks are created or updated before the records that use them, all record changes go to
    Route 53 in one atomic C(ChangeResourceRecordSets) batch, and health checks are deleted only after
    the records stopped using them.
  - Records are compared by meaning (case and trailing dots of names, the C(dualstack.) prefix of load
    balancer alias targets, value order), so a rerun with the same input makes no mutating call.
  - The module never changes or deletes a record set it did not create. What it created is recorded in
    ownership records, one TXT record set per managed name at C(_cairn-owner.<name>), whose strings name
    the environment, the stack, the type and the set identifier (like external-dns's TXT registry). ACM
    validation records written by M(cairn.platform.acm_certificates), NS and SOA records and records made
    by hand are left alone, also by O(purge_records) and O(state=absent).
  - "Failover timing: Route 53 marks an endpoint unhealthy after O(health_checks[].request_interval) x
    O(health_checks[].failure_threshold) seconds of failed checks (30 s with 10 x 3); resolvers then follow
    within the record's TTL (for an alias, the target's: 60 s for a load balancer). Detection time =
    request_interval x failure_threshold + TTL."
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the zone, O(health_checks) and O(records).
      - V(absent) deletes the record sets and health checks this stack's module created, then the zone when
        it is ours and holds nothing else but its NS and SOA records; otherwise the zone is kept and
        RV(zone.kept_because) says what is left.
    type: str
    choices: [present, absent]
    default: present
  zone:
    description:
      - The public hosted zone of the environment.
    type: dict
    required: true
    suboptions:
      name:
        description:
          - The domain, for example V(prod.example.com), with or without a trailing dot.
          - Exactly one public zone of that name may exist (private zones are ignored); two are refused,
            naming their ids.
        type: str
        required: true
      comment:
        description:
          - The zone's comment. Unset leaves an existing zone's comment alone and gives a new zone
            C(Public zone of <environment>, managed by cairn.platform).
        type: str
      adopt:
        description:
          - Use and tag an existing public zone of this name that does not carry this stack's ownership
            tags. Without it such a zone is refused with a sentence saying so.
          - Adopting touches none of the zone's records; only the listed ones are managed from then on.
        type: bool
        default: false
      delegation_set_id:
        description:
          - A reusable delegation set for a new zone (its name servers). A zone keeps the delegation set it
            was created with; an existing zone with another one is refused.
        type: str
      id:
        description:
          - The zone's id as an earlier task of the play returned it (RV(zone.id)), for a second task on the same
            zone. The zone is still found by its name, and a zone of that name with another id is refused.
          - In check mode, V((known after apply)) means the earlier task plans to create the zone, so this task plans
            its records in it without planning the zone a second time.
        type: str
  health_checks:
    description:
      - The stack's Route 53 health checks, by name. Unset leaves health checks alone; a list is the complete
        set, so the stack's health checks not listed are deleted (after the records stop using them).
      - A health check is owned by its tags (the ownership tags and C(Name)). It is created with a
        C(CallerReference) derived from the stack, the name and the settings, so a retried run never
        duplicates one; a health check carrying such a reference but no tags (a run interrupted between
        create and tag) is recognised and tagged.
      - O(health_checks[].type), O(health_checks[].request_interval) and O(health_checks[].measure_latency)
        cannot change after creation. A change of one of them is planned as a replacement, create then
        delete, with the records using the old health check moved to the new one in the same run.
    type: list
    elements: dict
    suboptions:
      name:
        description: The health check's name (its C(Name) tag), which O(records[].health_check) refers to.
        type: str
        required: true
      fqdn:
        description: The domain name the checkers resolve and request (for an ALB, its C(dns_name)).
        type: str
        required: true
      port:
        description:
          - The port to check. Defaults to 443 for the HTTPS types and 80 for the HTTP types; required for
            V(TCP).
        type: int
      type:
        description:
          - How the endpoint is checked. The C(_STR_MATCH) types also look for O(health_checks[].search_string)
            in the first 5120 bytes of the response body. Cannot change after creation (replacement).
        type: str
        choices: [HTTPS, HTTP, HTTPS_STR_MATCH, HTTP_STR_MATCH, TCP]
        default: HTTPS
      resource_path:
        description: The path requested by the HTTP(S) types (default V(/)); a TCP check has none.
        type: str
      search_string:
        description: The string the C(_STR_MATCH) types look for (1 to 255 characters).
        type: str
      request_interval:
        description:
          - Seconds between two checks by each checker, V(10) (fast, billed extra) or V(30). Cannot change
            after creation (replacement).
        type: int
        choices: [10, 30]
        default: 30
      failure_threshold:
        description: Consecutive failed (or passed) checks before the status changes, 1 to 10.
        type: int
        default: 3
      enable_sni:
        description:
          - Send O(health_checks[].fqdn) in the TLS client hello. Defaults to true for the HTTPS types; the
            other types do not use TLS and refuse it.
        type: bool
      regions:
        description:
          - The checker regions, at least 3 of V(us-east-1), V(us-west-1), V(us-west-2), V(eu-west-1),
            V(ap-southeast-1), V(ap-southeast-2), V(ap-northeast-1) and V(sa-east-1). Unset means all of them.
        type: list
        elements: str
      measure_latency:
        description: Measure latency from the checker regions (CloudWatch graphs). Cannot change after creation.
        type: bool
        default: false
      inverted:
        description: Report healthy when the check fails and the reverse.
        type: bool
        default: false
      disabled:
        description: Stop checking; Route 53 then treats the endpoint as healthy (unless O(health_checks[].inverted)).
        type: bool
        default: false
  records:
    description:
      - Record sets in the zone. Unset leaves records alone.
      - A listed record set that exists but was not created by the module is refused unless
        O(records[].adopt) is set. Record sets the module created at a listed name and type that are not
        listed (a renamed set identifier, a plain record turned into a failover pair) are replaced in the
        same batch.
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The record's name, relative to the zone (V(app), V(api.eu), V(@) or empty for the apex) or fully
            qualified (V(app.prod.example.com)). A name ending with a dot is fully qualified and must lie in
            the zone. A name that does not end with the zone's name is taken as relative.
        type: str
        required: true
      type:
        description:
          - The record type. A CNAME cannot be at the apex nor beside another type at its name; the apex NS
            and the SOA belong to the zone.
        type: str
        required: true
        choices: [A, AAAA, CAA, CNAME, DS, HTTPS, MX, NAPTR, NS, PTR, SPF, SRV, SSHFP, SVCB, TLSA, TXT]
      ttl:
        description:
          - Seconds resolvers may cache the answer, 0 to 2147483647. Defaults to 300 for records with
            O(records[].values); an alias has none (it answers with the target's).
        type: int
      values:
        description:
          - The values, compared sorted. TXT and SPF values without quotes are quoted (and split into
            255-character strings) for you; MX is C(<priority> <host>), CAA C(<flags> <tag> "<value>").
        type: list
        elements: str
      alias:
        description:
          - An alias to an AWS resource or another record of the zone, instead of O(records[].ttl) and
            O(records[].values).
        type: dict
        suboptions:
          dns_name:
            description:
              - The target's DNS name (a load balancer's C(dns_name), a CloudFront C(domain_name), a record
                of this zone). Compared without case, trailing dot or C(dualstack.) prefix.
            type: str
            required: true
          hosted_zone_id:
            description:
              - The target's hosted zone id (a load balancer's C(canonical_hosted_zone_id)). Defaults to
                V(Z2FDTNDATAQYW2) for C(*.cloudfront.net) (the only value CloudFront takes) and to this zone for
                a record of the zone; required otherwise.
            type: str
          evaluate_target_health:
            description:
              - Let the record inherit the target's health (for an ALB, every target group with targets must
                have a healthy target). Defaults to true for failover records (as AWS asks) and false
                otherwise. CloudFront targets refuse true.
            type: bool
      failover:
        description:
          - Failover routing. Per name and type, exactly one V(PRIMARY) and at most one V(SECONDARY), with
            distinct set identifiers and no plain record beside them. Route 53 answers with the primary while
            it is healthy, else with the secondary; when both are unhealthy, with the primary.
        type: str
        choices: [PRIMARY, SECONDARY]
      set_identifier:
        description:
          - Tells the failover records of a name apart (1 to 128 characters). Defaults to
            C(<relative name>-primary) or C(-secondary). Only failover records have one (weighted, latency
            and geolocation routing are not managed here).
        type: str
      health_check:
        description:
          - The health check deciding a failover record's health - a name from O(health_checks) or a health
            check id.
          - A V(PRIMARY) record needs one, unless it is an alias with O(records[].alias.evaluate_target_health);
            without either, Route 53 always finds it healthy and never fails over, so it is refused.
        type: str
      adopt:
        description:
          - Take over an existing record set of this name, type and set identifier (and, in its name and
            type, other record sets in the way) that the module did not create. It is then overwritten and
            managed like the module's own.
        type: bool
        default: false
  purge_records:
    description:
      - Delete the record sets this stack's module created earlier whose name and type are no longer
        listed in O(records). Record sets the module did not create are never deleted. Has no effect while
        O(records) is unset.
    type: bool
    default: false
  wait:
    description:
      - Wait until the change batch is C(INSYNC) (applied on every Route 53 name server), polling
        C(GetChange). No wait when nothing changed, nor in check mode.
    type: bool
    default: true
  wait_timeout:
    description: The most seconds the run waits in all.
    type: int
    default: 300
notes:
  - "Reads: one C(ListHostedZonesByName), C(ListTagsForResources) for the zone, one paginated
    C(ListResourceRecordSets) of the whole zone, and, when O(health_checks) is set or O(state=absent), one
    paginated C(ListHealthChecks) with C(ListTagsForResources) batched 10 ids per call. C(GetHostedZone) only
    when O(zone.delegation_set_id) is given for an existing zone."
  - "Writes: C(CreateHostedZone) with a CallerReference derived from the stack and the zone, then
    C(ChangeTagsForResource) (Route 53 cannot tag on create); C(CreateHealthCheck), C(UpdateHealthCheck)
    (with C(HealthCheckVersion), so a concurrent change is refused) and C(ChangeTagsForResource); ONE
    C(ChangeResourceRecordSets) batch with the record changes and their ownership records (DELETE, then
    UPSERT of changed ones, then CREATE of new ones, which Route 53 refuses if someone created them
    meanwhile); C(GetChange) while waiting; C(DeleteHealthCheck) last; C(DeleteHostedZone) on O(state=absent)."
  - A CallerReference AWS still remembers from a deleted zone or health check is answered with the next one
    of a fixed sequence (C(<reference>-2) ... C(-5)), so the tokens stay deterministic.
  - "Emulator gaps (moto 5.2.5), each covered by Stubber tests in tests/unit/test_route53_dns_stubber.py:
    GetChange always answers INSYNC (a PENDING then INSYNC wait is stubbed); get_health_check_status is
    hard-coded healthy and failover is never evaluated (no test_dns_answer), so which record answers is not
    tested, only that each failover record points at the right health check; moto refuses a CREATE only when the
    very same change was made before (even of a record set deleted since), not a CREATE of an existing record set with other
    values, nor invalid combinations (InvalidChangeBatch, in both of Route 53's error forms, is stubbed); stale
    HealthCheckVersions are not refused (HealthCheckVersionMismatch is stubbed); CallerReferences are
    not enforced (HealthCheckAlreadyExists is stubbed); moto returns alias targets as written, while AWS adds
    C(dualstack.) to load balancer names (stubbed); moto's DELETE of a record set with a set identifier
    deletes every record set of that identifier in the zone, whatever its name."
seealso:
  - name: Route 53 health checks and DNS failover
    description: How health checks decide failover, and their timing.
    link: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover.html
  - name: Alias records
    description: Alias targets, their hosted zone ids, and evaluate target health.
    link: https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/resource-record-sets-choosing-alias-non-alias.html
  - module: cairn.platform.acm_certificates
  - module: cairn.platform.load_balancer
  - module: cairn.platform.cloudfront_distribution
"""

EXAMPLES = r"""
- name: The environment's public zone (primary stack, first task of the edge)
  cairn.platform.route53_dns:
    environment: prod
    stack: prod-us-east-1
    zone:
      name: prod.example.com
  register: dns_zone

- name: Failover between the primary and the DR load balancer, the EU name and the CDN
  cairn.platform.route53_dns:
    environment: prod
    stack: prod-us-east-1
    zone:
      name: prod.example.com
    health_checks:
      - name: prod-us-east-1-alb
        fqdn: "{{ primary_alb.load_balancer.dns_name }}"
        resource_path: /healthz
        request_interval: 10
        failure_threshold: 3
      - name: prod-us-west-2-alb
        fqdn: "{{ dr_alb.load_balancer.dns_name }}"
        resource_path: /healthz
        request_interval: 10
    records:
      - name: app
        type: A
        failover: PRIMARY
        set_identifier: prod-us-east-1
        health_check: prod-us-east-1-alb
        alias:
          dns_name: "{{ primary_alb.load_balancer.dns_name }}"
          hosted_zone_id: "{{ primary_alb.load_balancer.canonical_hosted_zone_id }}"
      - name: app
        type: A
        failover: SECONDARY
        set_identifier: prod-us-west-2
        health_check: prod-us-west-2-alb
        alias:
          dns_name: "{{ dr_alb.load_balancer.dns_name }}"
          hosted_zone_id: "{{ dr_alb.load_balancer.canonical_hosted_zone_id }}"
      - name: eu
        type: A
        alias:
          dns_name: "{{ eu_alb.load_balancer.dns_name }}"
          hosted_zone_id: "{{ eu_alb.load_balancer.canonical_hosted_zone_id }}"
      - name: assets
        type: A
        alias:
          dns_name: "{{ cdn.distribution.domain_name }}"
      - name: "@"
        type: TXT
        ttl: 3600
        values: ["v=spf1 -all"]
    purge_records: true

- name: Remove what the module created (the zone too, once nothing else is in it)
  cairn.platform.route53_dns:
    environment: prod
    stack: prod-us-east-1
    zone:
      name: prod.example.com
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
      resource_type: record
      resource: app.prod.example.com TXT
      fields: {ttl: {before: 300, after: 60}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
zone:
  description:
    - The hosted zone. C(id) and C(name_servers) are C((known after apply)) in check mode before creation.
    - On O(state=absent), C(deleted) says whether the zone was deleted, and C(kept_because) why it was kept.
    - Null on O(state=absent) when no zone of that name exists.
  returned: always
  type: dict
  contains:
    id:
      description: The zone's id, without C(/hostedzone/).
      type: str
    name:
      description: The zone's name, without the trailing dot.
      type: str
    name_servers:
      description: The zone's Route 53 name servers, to delegate the domain to.
      type: list
      elements: str
    owned:
      description: Whether the zone is this stack's (created or adopted by the module).
      type: bool
    deleted:
      description: On O(state=absent), whether the zone was deleted.
      type: bool
      returned: when O(state=absent)
    kept_because:
      description: Why the zone was kept on O(state=absent) (records the module did not create, or not its zone).
      type: str
      returned: when the zone was kept on O(state=absent)
  sample:
    id: Z0123456789ABCDEFGHIJ
    name: prod.example.com
    name_servers: [ns-1.awsdns-01.org, ns-2.awsdns-02.co.uk, ns-3.awsdns-03.com, ns-4.awsdns-04.net]
    owned: true
records:
  description:
    - The record sets at the names listed in O(records) after the run, the module's and others (C(owned)
      says which), with names fully qualified without a trailing dot. Empty when O(records) is unset.
  returned: always
  type: list
  elements: dict
  sample:
    - name: app.prod.example.com
      type: A
      set_identifier: prod-us-east-1
      failover: PRIMARY
      ttl: null
      values: null
      alias: {dns_name: web-1.us-east-1.elb.amazonaws.com, hosted_zone_id: Z35SXDOTRQ7X7K, evaluate_target_health: true}
      health_check_id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
      owned: true
health_checks:
  description: The listed health checks by name (C(id) is C((known after apply)) in check mode before creation).
  returned: always
  type: dict
  sample:
    prod-us-east-1-alb:
      id: 0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0
      fqdn: web-1.us-east-1.elb.amazonaws.com
      type: HTTPS
      port: 443
      resource_path: /healthz
      request_interval: 10
      failure_threshold: 3
waited_seconds:
  description: Seconds spent waiting for the change batch to reach C(INSYNC).
  returned: always
  type: float
"""

import hashlib
import ipaddress
import json
import re
from urllib.parse import quote, unquote

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "route53_dns"

HEALTH_CHECK_TYPES = ["HTTPS", "HTTP", "HTTPS_STR_MATCH", "HTTP_STR_MATCH", "TCP"]
RECORD_TYPES = ["A", "AAAA", "CAA", "CNAME", "DS", "HTTPS", "MX", "NAPTR", "NS", "PTR", "SPF", "SRV", "SSHFP", "SVCB",
                "TLSA", "TXT"]

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    zone=dict(
        type="dict",
        required=True,
        options=dict(
            name=dict(type="str", required=True),
            comment=dict(type="str"),
            adopt=dict(type="bool", default=False),
            delegation_set_id=dict(type="str"),
            id=dict(type="str"),
        ),
    ),
    health_checks=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            fqdn=dict(type="str", required=True),
            port=dict(type="int"),
            type=dict(type="str", default="HTTPS", choices=HEALTH_CHECK_TYPES),
            resource_path=dict(type="str"),
            search_string=dict(type="str"),
            request_interval=dict(type="int", default=30, choices=[10, 30]),
            failure_threshold=dict(type="int", default=3),
            enable_sni=dict(type="bool"),
            regions=dict(type="list", elements="str"),
            measure_latency=dict(type="bool", default=False),
            inverted=dict(type="bool", default=False),
            disabled=dict(type="bool", default=False),
        ),
    ),
    records=dict(
        type="list",
        elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            type=dict(type="str", required=True, choices=RECORD_TYPES),
            ttl=dict(type="int"),
            values=dict(type="list", elements="str"),
            alias=dict(
                type="dict",
                options=dict(
                    dns_name=dict(type="str", required=True),
                    hosted_zone_id=dict(type="str"),
                    evaluate_target_health=dict(type="bool"),
                ),
            ),
            failover=dict(type="str", choices=["PRIMARY", "SECONDARY"]),
            set_identifier=dict(type="str"),
            health_check=dict(type="str"),
            adopt=dict(type="bool", default=False),
        ),
        mutually_exclusive=[["alias", "values"], ["alias", "ttl"]],
    ),
    purge_records=dict(type="bool", default=False),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=300),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and normalisation (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
# Route 53's health checker regions (HealthCheckRegion in the API model); a health check names 3 or more.
CHECKER_REGIONS = ("ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "eu-west-1", "sa-east-1", "us-east-1", "us-west-1",
                   "us-west-2")
MIN_REGIONS = 3
REQUEST_INTERVALS = (10, 30)
FAILURE_THRESHOLD = (1, 10)
MAX_TTL = 2147483647
DEFAULT_TTL = 300
# The fixed hosted zone id of every CloudFront distribution (AliasTarget.HostedZoneId in the API reference).
CLOUDFRONT_ZONE_ID = "Z2FDTNDATAQYW2"
# The records that record which record sets this module created: one TXT record set per managed name, at
# _cairn-owner.<name>, whose strings name the owner (environment/stack), the type and the set identifier.
REGISTRY_LABEL = "_cairn-owner"
REGISTRY_TTL = 300
REGISTRY_HERITAGE = "cairn.platform/" + COMPONENT
MAX_TXT_STRING = 255
# The fields AWS cannot change after CreateHealthCheck: a change is a replacement (create, move the records, delete).
IMMUTABLE_HEALTH_CHECK_FIELDS = ("type", "request_interval", "measure_latency")
HTTP_TYPES = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH")
HTTPS_TYPES = ("HTTPS", "HTTPS_STR_MATCH")
STR_MATCH_TYPES = ("HTTP_STR_MATCH", "HTTPS_STR_MATCH")
DOMAIN_VALUE_TYPES = ("CNAME", "NS", "PTR")
TAG_BATCH = 10  # ChangeTagsForResource: at most 10 tags to add or keys to remove per call
TAG_READ_BATCH = 10  # ListTagsForResources: at most 10 resource ids per call
REFERENCE_ATTEMPTS = 5  # CallerReference suffixes tried when AWS remembers a reference of a deleted resource
_HEALTH_CHECK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_\-]{0,61}[a-z0-9_])?$")
_ZONE_ID = re.compile(r"^Z[A-Z0-9]{1,31}$")
_ESCAPE = re.compile(r"\\(\d{3})")


def digest(*parts):
    return hashlib.sha256("\x1f".join(str(part) for part in parts).encode("utf-8")).hexdigest()


def normalize_domain(value):
    """A domain name as compared: lower case, no trailing dot, Route 53's octal escapes (\\052 for *) decoded."""
    text = _ESCAPE.sub(lambda match: chr(int(match.group(1), 8)), str(value or ""))
    return text.strip().rstrip(".").lower()


def check_domain(field, name, allow_wildcard=True):
    """Refuse a name DNS or Route 53 would refuse; `name` is already normalised."""
    if not name or len(name) > 253:
        raise InputError("{0}: {1!r} is not a domain name (1 to 253 characters).".format(field, name))
    labels = name.split(".")
    for index, label in enumerate(labels):
        if label == "*" and index == 0 and allow_wildcard:
            continue
        if "*" in label:
            raise InputError("{0}: {1!r}: * is a wildcard only as the whole leftmost label (like *.example.com).".format(field, name))
        if not _LABEL.match(label):
            raise InputError(
                "{0}: {1!r} holds the label {2!r}; a label is 1 to 63 letters, digits, hyphens or underscores, not starting "
                "or ending with a hyphen.".format(field, name, label))


def zone_name(params):
    zone = params.get("zone") or {}
    name = normalize_domain(zone.get("name"))
    check_domain("zone.name", name, allow_wildcard=False)
    if "." not in name:
        raise InputError("zone.name: {0!r} is a top-level domain; give the environment's domain, like prod.example.com.".format(name))
    return name


def record_name(field, name, zone):
    """The fully qualified name of a record: relative to the zone, or fully qualified (a trailing dot says so)."""
    text = str(name or "").strip()
    if text in ("", "@"):
        return zone
    absolute = text.endswith(".")
    fqdn = normalize_domain(text)
    inside = fqdn == zone or fqdn.endswith("." + zone)
    if absolute and not inside:
        raise InputError("{0}: {1!r} is outside the zone {2}; a record's name must be the zone or a name inside it.".format(field, name, zone))
    if not inside:
        fqdn = "{0}.{1}".format(fqdn, zone)
    check_domain(field, fqdn)
    if fqdn.split(".")[0] == REGISTRY_LABEL:
        raise InputError("{0}: names starting with {1} hold the module's ownership records; choose another name.".format(field, REGISTRY_LABEL))
    if len(registry_name(fqdn)) > 253:
        raise InputError("{0}: {1!r} is too long for its ownership record {2}.<name> (at most {3} characters in the name).".format(
            field, fqdn, REGISTRY_LABEL, 253 - len(REGISTRY_LABEL) - 1))
    return fqdn


def relative_label(fqdn, zone):
    return "apex" if fqdn == zone else fqdn[: -len(zone) - 1]


def quote_txt(value):
    """A TXT/SPF value as Route 53 wants it: quoted strings of at most 255 characters (already quoted values are kept)."""
    text = str(value)
    if text.startswith('"'):
        return text
    # Split the text itself, then escape each piece: splitting the escaped text could cut a \" in two.
    chunks = [text[index:index + MAX_TXT_STRING] for index in range(0, len(text), MAX_TXT_STRING)] or [""]
    return " ".join('"{0}"'.format(chunk.replace("\\", "\\\\").replace('"', '\\"')) for chunk in chunks)


def normalize_value(field, rtype, value, check=True):
    """One value of a record set in the form it is compared in; `check` refuses malformed input."""
    text = " ".join(str(value).split()) if rtype not in ("TXT", "SPF") else str(value).strip()
    if is_unknown(text):
        return text
    try:
        if rtype == "A":
            return str(ipaddress.IPv4Address(text))
        if rtype == "AAAA":
            return str(ipaddress.IPv6Address(text))
    except ValueError:
        if check:
            raise InputError("{0}: {1!r} is not an IPv{2} address.".format(field, value, 4 if rtype == "A" else 6))
        return text
    if rtype in DOMAIN_VALUE_TYPES:
        name = normalize_domain(text)
        if check:
            check_domain(field, name)
        return name
    if rtype == "MX":
        parts = text.split(" ")
        if len(parts) != 2 or not parts[0].isdigit():
            if check:
                raise InputError("{0}: {1!r} is not an MX value; give '<priority> <mail server>', like '10 mail.example.com'.".format(field, value))
            return text
        return "{0} {1}".format(int(parts[0]), normalize_domain(parts[1]))
    if rtype == "SRV":
        parts = text.split(" ")
        if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]):
            if check:
                raise InputError("{0}: {1!r} is not an SRV value; give '<priority> <weight> <port> <target>'.".format(field, value))
            return text
        return "{0} {1} {2} {3}".format(int(parts[0]), int(parts[1]), int(parts[2]), normalize_domain(parts[3]))
    if rtype in ("TXT", "SPF"):
        return quote_txt(text)
    if rtype == "CAA":
        parts = text.split(" ", 2)
        if len(parts) != 3 or not parts[0].isdigit():
            if check:
                raise InputError("{0}: {1!r} is not a CAA value; give '<flags> <tag> \"<value>\"', like '0 issue \"amazon.com\"'.".format(field, value))
            return text
        return "{0} {1} {2}".format(int(parts[0]), parts[1].lower(), parts[2])
    return text


def is_cloudfront(dns_name):
    return not is_unknown(dns_name) and (dns_name == "cloudfront.net" or dns_name.endswith(".cloudfront.net"))


def alias_compare_name(dns_name):
    """Alias targets compare without the dualstack. prefix Route 53 and its console add to load balancer names."""
    name = normalize_domain(dns_name) if not is_unknown(dns_name) else dns_name
    return name[len("dualstack."):] if name.startswith("dualstack.") else name


def check_health_checks(items):
    """{name: health check spec} of the listed health checks, or None when the option is unset."""
    if items is None:
        return None
    checks = {}
    for index, item in enumerate(items):
        field = "health_checks[{0}]".format(index)
        name = str(item.get("name") or "").strip()
        if not name or len(name) > 255:
            raise InputError("{0}.name: give a name of 1 to 255 characters (it becomes the Name tag).".format(field))
        if name in checks:
            raise InputError("{0}.name: {1!r} is listed twice; every health check needs its own name.".format(field, name))
        field = "health_checks[{0}] ({1})".format(index, name)
        htype = item.get("type") or "HTTPS"
        if htype not in HEALTH_CHECK_TYPES:
            raise InputError("{0}.type: {1!r} is not one of {2}.".format(field, htype, ", ".join(HEALTH_CHECK_TYPES)))
        fqdn = item.get("fqdn")
        if not is_unknown(fqdn):
            fqdn = normalize_domain(fqdn)
            check_domain(field + ".fqdn", fqdn, allow_wildcard=False)
        interval = item.get("request_interval", 30)
        interval = 30 if interval is None else interval
        if interval not in REQUEST_INTERVALS:
            raise InputError("{0}.request_interval: Route 53 checks every 10 or 30 seconds only; got {1!r}.".format(field, interval))
        threshold = item.get("failure_threshold", 3)
        threshold = 3 if threshold is None else threshold
        if not FAILURE_THRESHOLD[0] <= threshold <= FAILURE_THRESHOLD[1]:
            raise InputError("{0}.failure_threshold: Route 53 accepts 1 to 10 consecutive checks; got {1!r}.".format(field, threshold))
        port = item.get("port")
        if port is None:
            if htype == "TCP":
                raise InputError("{0}.port: a TCP health check needs the port to connect to.".format(field))
            port = 443 if htype in HTTPS_TYPES else 80
        if not 1 <= port <= 65535:
            raise InputError("{0}.port: {1!r} is not a port (1 to 65535).".format(field, port))
        path = item.get("resource_path")
        if htype == "TCP" and path:
            raise InputError("{0}.resource_path: a TCP health check requests no path; remove it or use an HTTP(S) type.".format(field))
        if htype in HTTP_TYPES:
            path = path or "/"
            if not path.startswith("/") or len(path) > 255:
                raise InputError("{0}.resource_path: {1!r} must start with / and have at most 255 characters.".format(field, path))
        search = item.get("search_string")
        if htype in STR_MATCH_TYPES:
            if not search or len(search) > 255:
                raise InputError("{0}.search_string: {1} needs the string to find in the response body (1 to 255 characters).".format(field, htype))
        elif search:
            raise InputError("{0}.search_string: only the HTTP_STR_MATCH and HTTPS_STR_MATCH types search the body.".format(field))
        sni = item.get("enable_sni")
        if htype in HTTPS_TYPES:
            sni = True if sni is None else sni
        elif sni:
            raise InputError("{0}.enable_sni: SNI is part of TLS; only HTTPS and HTTPS_STR_MATCH health checks use it.".format(field))
        else:
            sni = None
        regions = item.get("regions")
        if regions is not None:
            unknown = sorted(set(regions) - set(CHECKER_REGIONS))
            if unknown:
                raise InputError("{0}.regions: {1} not among Route 53's checker regions ({2}).".format(
                    field, ", ".join(unknown), ", ".join(CHECKER_REGIONS)))
            if len(set(regions)) != len(regions):
                raise InputError("{0}.regions: a region is listed twice.".format(field))
            if len(regions) < MIN_REGIONS:
                raise InputError("{0}.regions: Route 53 needs at least {1} checker regions; got {2}.".format(field, MIN_REGIONS, len(regions)))
            regions = sorted(regions)
            if regions == sorted(CHECKER_REGIONS):
                regions = None  # all of them, what AWS uses when none are named
        checks[name] = {
            "name": name,
            "type": htype,
            "fqdn": fqdn,
            "port": port,
            "resource_path": path if htype in HTTP_TYPES else None,
            "search_string": search if htype in STR_MATCH_TYPES else None,
            "request_interval": interval,
            "failure_threshold": threshold,
            "enable_sni": sni,
            "regions": regions,
            "measure_latency": bool(item.get("measure_latency")),
            "inverted": bool(item.get("inverted")),
            "disabled": bool(item.get("disabled")),
        }
    return checks


def health_check_config(check):
    """The HealthCheckConfig of CreateHealthCheck for a health check spec."""
    config = {"Type": check["type"], "FullyQualifiedDomainName": check["fqdn"], "Port": check["port"],
              "RequestInterval": check["request_interval"], "FailureThreshold": check["failure_threshold"],
              "MeasureLatency": check["measure_latency"], "Inverted": check["inverted"], "Disabled": check["disabled"]}
    if check["resource_path"] is not None:
        config["ResourcePath"] = check["resource_path"]
    if check["search_string"] is not None:
        config["SearchString"] = check["search_string"]
    if check["enable_sni"] is not None:
        config["EnableSNI"] = check["enable_sni"]
    if check["regions"]:
        config["Regions"] = list(check["regions"])
    return config


def health_check_view(config):
    """A health check's settings as compared and planned (snake case, AWS's defaults filled in)."""
    htype = config.get("Type")
    regions = sorted(config.get("Regions") or []) or None
    if regions == sorted(CHECKER_REGIONS):
        regions = None
    return {
        "type": htype,
        "fqdn": normalize_domain(config.get("FullyQualifiedDomainName")) if not is_unknown(config.get("FullyQualifiedDomainName"))
        else config.get("FullyQualifiedDomainName"),
        "port": config.get("Port"),
        "resource_path": (config.get("ResourcePath") or "/") if htype in HTTP_TYPES else None,
        "search_string": config.get("SearchString") if htype in STR_MATCH_TYPES else None,
        "request_interval": config.get("RequestInterval", 30),
        "failure_threshold": config.get("FailureThreshold", 3),
        "enable_sni": bool(config.get("EnableSNI")) if htype in HTTPS_TYPES else None,
        "regions": regions,
        "measure_latency": bool(config.get("MeasureLatency")),
        "inverted": bool(config.get("Inverted")),
        "disabled": bool(config.get("Disabled")),
    }


def health_check_signature(name, view):
    """How a record's health check reads in the plan: its name and the settings that cannot change in place."""
    text = "{0} ({1} every {2} s".format(name, view["type"], view["request_interval"])
    if view["measure_latency"]:
        text += ", latency measured"
    return text + ")"


def record_key_label(key):
    name, rtype, set_identifier = key
    return "{0} {1}".format(name, rtype) + (" " + set_identifier if set_identifier else "")


def check_alias(field, alias, rtype, fqdn, zone, failover):
    dns_name = alias.get("dns_name")
    if not is_unknown(dns_name):
        dns_name = normalize_domain(dns_name)
        check_domain(field + ".dns_name", dns_name)
    zone_id = alias.get("hosted_zone_id")
    if zone_id is None:
        if is_cloudfront(dns_name):
            zone_id = CLOUDFRONT_ZONE_ID
        elif not is_unknown(dns_name) and (dns_name == zone or dns_name.endswith("." + zone)):
            zone_id = None  # a record of this zone: the zone's own id, filled in once known
        else:
            raise InputError(
                "{0}.hosted_zone_id: required for an alias to {1} (a load balancer's canonical_hosted_zone_id, {2} for "
                "CloudFront; only records of this zone and CloudFront need none).".format(field, dns_name, CLOUDFRONT_ZONE_ID))
    elif not is_unknown(zone_id):
        zone_id = zone_id.split("/")[-1].strip()
        if not _ZONE_ID.match(zone_id):
            raise InputError("{0}.hosted_zone_id: {1!r} is not a hosted zone id (Z followed by letters and digits).".format(field, zone_id))
    evaluate = alias.get("evaluate_target_health")
    if is_cloudfront(dns_name):
        if rtype not in ("A", "AAAA"):
            raise InputError("{0}: an alias to CloudFront is an A or AAAA record; got {1}.".format(field, rtype))
        if not is_unknown(zone_id) and zone_id != CLOUDFRONT_ZONE_ID:
            raise InputError("{0}.hosted_zone_id: every CloudFront distribution is in zone {1}; got {2}.".format(field, CLOUDFRONT_ZONE_ID, zone_id))
        if evaluate:
            raise InputError("{0}.evaluate_target_health: Route 53 cannot evaluate the health of a CloudFront distribution; "
                             "set it to false (CloudFront is served from every edge).".format(field))
        evaluate = False
    if evaluate is None:
        # AWS asks failover alias records to evaluate the target's health; plain aliases default to not.
        evaluate = bool(failover)
    if fqdn == zone and rtype == "CNAME":
        raise InputError("{0}: a CNAME cannot be at the zone apex ({1}), not even an alias; use an A/AAAA alias.".format(field, zone))
    return {"dns_name": dns_name, "hosted_zone_id": zone_id, "evaluate_target_health": bool(evaluate)}


def check_record(index, item, zone, health_checks, owner):
    field = "records[{0}]".format(index)
    rtype = item.get("type")
    if rtype not in RECORD_TYPES:
        raise InputError("{0}.type: {1!r} is not one of {2} (SOA belongs to the zone).".format(field, rtype, ", ".join(RECORD_TYPES)))
    fqdn = record_name(field + ".name", item.get("name"), zone)
    field = "records[{0}] ({1} {2})".format(index, fqdn, rtype)
    alias, values, ttl = item.get("alias"), item.get("values"), item.get("ttl")
    if alias and (values or ttl is not None):
        raise InputError("{0}: an alias record has no ttl or values (Route 53 answers with the target's); remove {1}.".format(
            field, " and ".join(key for key in ("ttl", "values") if item.get(key) not in (None, []))))
    if not alias and not values:
        raise InputError("{0}: give values (with a ttl) or an alias.".format(field))
    if rtype == "NS" and fqdn == zone:
        raise InputError("{0}: the apex NS record belongs to the zone (Route 53's name servers); it is not managed here.".format(field))
    if rtype == "CNAME" and fqdn == zone:
        raise InputError("{0}: a CNAME cannot be at the zone apex ({1}); use an alias A/AAAA record.".format(field, zone))
    failover = item.get("failover")
    set_identifier = item.get("set_identifier")
    if failover:
        set_identifier = set_identifier or "{0}-{1}".format(relative_label(fqdn, zone), failover.lower())
        if not 1 <= len(set_identifier) <= 128:
            raise InputError("{0}.set_identifier: 1 to 128 characters; got {1!r}.".format(field, set_identifier))
    elif set_identifier:
        raise InputError("{0}.set_identifier: only failover records have one here (weighted, latency and geo routing are not "
                         "managed by this module); add failover or remove set_identifier.".format(field))
    health_check = item.get("health_check")
    if health_check is not None:
        if not failover:
            raise InputError("{0}.health_check: a health check decides only between failover records here; add failover "
                             "(PRIMARY or SECONDARY) or remove health_check.".format(field))
        if not is_unknown(health_check) and not _HEALTH_CHECK_ID.match(health_check):
            if health_checks is None:
                raise InputError("{0}.health_check: {1!r} is a name, but health_checks is not given; list the health check "
                                 "in health_checks or give its id.".format(field, health_check))
            if health_check not in health_checks:
                raise InputError("{0}.health_check: {1!r} is neither a name in health_checks ({2}) nor a health check id.".format(
                    field, health_check, ", ".join(sorted(health_checks)) or "none listed"))
    record = {"name": fqdn, "type": rtype, "set_identifier": set_identifier, "failover": failover,
              "health_check": health_check, "adopt": bool(item.get("adopt")), "ttl": None, "values": None, "alias": None}
    if alias:
        record["alias"] = check_alias(field + ".alias", alias, rtype, fqdn, zone, failover)
    else:
        ttl = DEFAULT_TTL if ttl is None else ttl
        if not 0 <= ttl <= MAX_TTL:
            raise InputError("{0}.ttl: Route 53 accepts 0 to {1} seconds; got {2!r}.".format(field, MAX_TTL, ttl))
        normalized = sorted(set(normalize_value("{0}.values[{1}]".format(field, position), rtype, value)
                                for position, value in enumerate(values)))
        if rtype == "CNAME" and len(normalized) != 1:
            raise InputError("{0}.values: a CNAME has exactly one value; got {1}.".format(field, len(normalized)))
        record["ttl"], record["values"] = ttl, normalized
    if failover == "PRIMARY" and health_check is None and not (record["alias"] and record["alias"]["evaluate_target_health"]):
        # Without a health check (or the target's health) Route 53 always finds the primary healthy: it never fails over.
        raise InputError("{0}.health_check: a PRIMARY failover record needs a health check (or an alias with "
                         "evaluate_target_health); without one Route 53 always answers with it and never fails over.".format(field))
    entry = registry_entry(owner, rtype, set_identifier)
    if len(entry) > MAX_TXT_STRING:
        raise InputError("{0}: environment, stack and set_identifier together are too long for the ownership record "
                         "({1} characters; at most {2}).".format(field, len(entry), MAX_TXT_STRING))
    return record


def check_record_groups(records, zone):
    """Refuse combinations Route 53 would refuse: duplicates, failover pairs, CNAME beside other types."""
    seen, groups, types_by_name = {}, {}, {}
    for index, record in enumerate(records):
        key = (record["name"], record["type"], record["set_identifier"])
        if key in seen:
            raise InputError("records[{0}]: {1} is also records[{2}]; list each record set once.".format(index, record_key_label(key), seen[key]))
        seen[key] = index
        groups.setdefault((record["name"], record["type"]), []).append((index, record))
        types_by_name.setdefault(record["name"], set()).add(record["type"])
    for name, types in sorted(types_by_name.items()):
        if "CNAME" in types and len(types) > 1:
            raise InputError("records: {0} has a CNAME and {1} records; a CNAME cannot share its name with any other type.".format(
                name, ", ".join(sorted(types - {"CNAME"}))))
    for (name, rtype), members in sorted(groups.items()):
        failovers = [record["failover"] for _index, record in members if record["failover"]]
        label = "{0} {1}".format(name, rtype)
        if failovers and len(failovers) != len(members):
            raise InputError("records: {0} mixes failover and plain records; Route 53 allows no plain record set beside "
                             "failover ones of the same name and type.".format(label))
        if not failovers:
            continue
        if failovers.count("PRIMARY") != 1:
            raise InputError("records: the failover records of {0} need exactly one PRIMARY; got {1}.".format(label, failovers.count("PRIMARY")))
        if failovers.count("SECONDARY") > 1:
            raise InputError("records: the failover records of {0} take at most one SECONDARY; got {1}.".format(label, failovers.count("SECONDARY")))
        identifiers = [record["set_identifier"] for _index, record in members]
        if len(set(identifiers)) != len(identifiers):
            raise InputError("records: the failover records of {0} need distinct set identifiers; got {1}.".format(label, ", ".join(identifiers)))
        cloudfront = [record for _index, record in members if record["alias"] and is_cloudfront(record["alias"]["dns_name"])]
        if len(cloudfront) > 1:
            raise InputError("records: {0}: CloudFront cannot be both the PRIMARY and the SECONDARY (one alternate domain name "
                             "belongs to one distribution).".format(label))


def registry_name(fqdn):
    return "{0}.{1}".format(REGISTRY_LABEL, fqdn)


def registry_entry(owner, rtype, set_identifier):
    """One string of a name's ownership record: who created which record set there."""
    environment, stack = owner
    return "heritage={0},environment={1},stack={2},type={3},set={4}".format(
        REGISTRY_HERITAGE, quote(environment, safe=""), quote(stack, safe=""), rtype, quote(set_identifier or "", safe=""))


def parse_registry_value(value):
    """(environment, stack, type, set_identifier) of one ownership string, or None for any other TXT string."""
    text = value.strip()
    if text.startswith('"') and text.endswith('"'):
        text = text[1:-1]
    fields = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
    if fields.get("heritage") != REGISTRY_HERITAGE or "type" not in fields:
        return None
    return (unquote(fields.get("environment", "")), unquote(fields.get("stack", "")), fields["type"],
            unquote(fields.get("set", "")) or None)


def build_spec(params):
    """Every check that needs no API call, in the order a person reads the options."""
    zone = zone_name(params)
    zone_params = params.get("zone") or {}
    owner = (params["environment"], params["stack"])
    spec = {"state": params.get("state") or "present", "zone": {
        "name": zone,
        "comment": zone_params.get("comment"),
        "adopt": bool(zone_params.get("adopt")),
        "delegation_set_id": (zone_params.get("delegation_set_id") or "").split("/")[-1] or None,
        "id": (zone_params.get("id") or "").split("/")[-1] or None,
    }, "owner": owner, "wait": params.get("wait", True), "purge_records": bool(params.get("purge_records"))}
    comment = spec["zone"]["comment"]
    if comment is not None and len(comment) > 256:
        raise InputError("zone.comment: at most 256 characters; got {0}.".format(len(comment)))
    timeout = params.get("wait_timeout", 300)
    if timeout is None or timeout < 0:
        raise InputError("wait_timeout: give the seconds to wait, 0 or more; got {0!r}.".format(timeout))
    spec["wait_timeout"] = timeout
    if spec["state"] == "absent":
        spec["health_checks"], spec["records"] = None, None
        return spec
    spec["health_checks"] = check_health_checks(params.get("health_checks"))
    items = params.get("records")
    if items is None:
        spec["records"] = None
    else:
        records = [check_record(index, item, zone, spec["health_checks"], owner) for index, item in enumerate(items)]
        check_record_groups(records, zone)
        spec["records"] = records
    return spec


# ---------------------------------------------------------------------------------------------
# Reading what AWS returns, in the compared form
# ---------------------------------------------------------------------------------------------
def rrset_key(rrset):
    return (normalize_domain(rrset["Name"]), rrset["Type"], rrset.get("SetIdentifier") or None)


def rrset_values(rrset):
    rtype = rrset["Type"]
    return sorted(set(normalize_value("value", rtype, item["Value"], check=False) for item in rrset.get("ResourceRecords") or []))


def rrset_meaning(rrset):
    """What a record set means, for comparison: names without case or trailing dots, values sorted."""
    alias = rrset.get("AliasTarget")
    return (
        rrset.get("TTL") if not alias else None,
        tuple(rrset_values(rrset)) if not alias else None,
        (alias_compare_name(alias["DNSName"]), alias["HostedZoneId"].split("/")[-1], bool(alias.get("EvaluateTargetHealth")))
        if alias else None,
        rrset.get("Failover"),
        rrset.get("HealthCheckId"),
    )


def batch_refusal(exc):
    """(error code, reasons) of a change batch Route 53 refused, or None for any other failure.

    Route 53 answers in two forms: <ErrorResponse><Error><Code>InvalidChangeBatch</Code><Message>[reason, reason]</Message>
    (the model's `messages` left empty), and <InvalidChangeBatch><Messages><Message>reason</Message>..., which botocore
    parses without an error code, the reasons under `Messages`."""
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return None
    code = error_code(exc)
    messages = response.get("messages") or response.get("Messages") or []
    if isinstance(messages, dict):
        messages = messages.get("Message") or []
    if isinstance(messages, str):
        messages = [messages]
    messages = [message.strip() for message in messages if isinstance(message, str) and message.strip()]
    if code not in ("InvalidChangeBatch", "InvalidInput"):
        if code or "Messages" not in response:
            return None
        code = "InvalidChangeBatch"
    text = "; ".join(messages) if messages else ((response.get("Error") or {}).get("Message") or "").strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return code, text.rstrip(".")


def is_registry(rrset):
    return rrset["Type"] == "TXT" and normalize_domain(rrset["Name"]).split(".")[0] == REGISTRY_LABEL


class Route53Converger:
    """Reads the zone, its record sets and the stack's health checks, then converges them with one plan."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.r53 = cm.client("route53")
        self.check_mode = cm.check_mode
        self.zone_name = spec["zone"]["name"]
        self.clock = WaitClock(spec["wait_timeout"])
        self.stack_hash = digest(self.owner.environment, self.owner.stack, COMPONENT)[:10]
        self.zone = None  # {"id", "caller_reference", "comment", "tags", "owned", "recovered"}
        self.zone_id = None  # the id, or UNKNOWN for a zone to be created
        self.name_servers = UNKNOWN
        self.rrsets = {}  # key -> record set as AWS returned it (ownership records excluded)
        self.registry = {}  # managed name -> {"rrset", "entries": [(environment, stack, type, set)]}
        self.health_checks_read = False
        self.mine = []  # this stack's health checks: {"id", "name", "ref", "config", "view", "version", "tags", "tagged"}
        self.decisions = {}  # listed health check name -> {"keep": entry or None, "replaces": [entries]}
        self.stale = []  # health checks to delete once no record uses them
        self.hc_ids = {}  # listed name -> id (UNKNOWN until created)
        self.change_ids = []
        self.deleted_keys = set()
        self.kept_because = None
        self.deleted_zone = False
        self.final = {"deletions": set(), "records": {}}

    # ---- read ----------------------------------------------------------------------------
    def read(self, health_checks=False):
        self.read_zone()
        if self.zone is not None:
            self.read_records()
        if health_checks:
            self.read_health_checks()

    def read_zone(self):
        wanted = self.zone_name + "."
        zones, kwargs = [], {"DNSName": wanted, "MaxItems": "100"}
        with self.cm.doing("listing the hosted zones named " + self.zone_name):
            while True:
                page = self.r53.list_hosted_zones_by_name(**kwargs)
                zones.extend(zone for zone in page.get("HostedZones", []) if normalize_domain(zone["Name"]) == self.zone_name)
                if not page.get("IsTruncated") or normalize_domain(page.get("NextDNSName")) != self.zone_name:
                    break
                kwargs = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"], "MaxItems": "100"}
        public = [zone for zone in zones if not (zone.get("Config") or {}).get("PrivateZone")]
        if len(public) > 1:
            raise CairnError(
                "zone.name: {0} public hosted zones are named {1} ({2}); the module cannot tell which one the domain is "
                "delegated to. Delete the extra zone(s) (compare their name servers with the registrar's) and rerun.".format(
                    len(public), self.zone_name, ", ".join(sorted(zone["Id"].split("/")[-1] for zone in public))))
        if not public:
            return
        zone = public[0]
        zone_id = zone["Id"].split("/")[-1]
        tags = self.tags_of("hostedzone", [zone_id]).get(zone_id, {})
        reference = zone.get("CallerReference") or ""
        owned = self.owner.owns(tags)
        self.zone = {"id": zone_id, "caller_reference": reference, "comment": (zone.get("Config") or {}).get("Comment"),
                     "tags": tags, "owned": owned, "recovered": not owned and reference.startswith(self.zone_reference())}
        self.zone_id = zone_id

    def tags_of(self, resource_type, ids):
        """{id: tags} through ListTagsForResources, 10 ids per call."""
        tags = {}
        for start in range(0, len(ids), TAG_READ_BATCH):
            batch = ids[start:start + TAG_READ_BATCH]
            with self.cm.doing("reading the tags of {0} {1}".format(resource_type, ", ".join(batch))):
                response = self.r53.list_tags_for_resources(ResourceType=resource_type, ResourceIds=batch)
            for tag_set in response.get("ResourceTagSets", []):
                tags[tag_set["ResourceId"]] = boto3_tag_list_to_dict(tag_set.get("Tags"))
        return tags

    def read_records(self):
        with self.cm.doing("listing the records of zone " + self.zone_name):
            rrsets = paginate(self.r53, "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=self.zone["id"])
        for rrset in rrsets:
            key = rrset_key(rrset)
            if is_registry(rrset):
                entries = [parse_registry_value(item["Value"]) for item in rrset.get("ResourceRecords") or []]
                managed = key[0][len(REGISTRY_LABEL) + 1:]
                self.registry[managed] = {"rrset": rrset, "entries": [entry for entry in entries if entry],
                                          "others": [item["Value"] for item, entry in zip(rrset.get("ResourceRecords") or [], entries)
                                                     if entry is None]}
                continue
            self.rrsets[key] = rrset
            if key[0] == self.zone_name and key[1] == "NS":
                self.name_servers = [normalize_domain(item["Value"]) for item in rrset.get("ResourceRecords") or []]

    def read_health_checks(self):
        self.health_checks_read = True
        with self.cm.doing("listing the health checks"):
            checks = paginate(self.r53, "list_health_checks", "HealthChecks")
        tags = self.tags_of("healthcheck", [check["Id"] for check in checks]) if checks else {}
        listed = self.spec.get("health_checks") or {}
        prefix = "cairn-{0}-".format(self.stack_hash)
        for check in checks:
            check_tags = tags.get(check["Id"], {})
            reference = check.get("CallerReference") or ""
            tagged = self.owner.owns(check_tags)
            if not tagged and not reference.startswith(prefix):
                continue
            name = check_tags.get("Name") if tagged else None
            if name is None:
                # Created by a run interrupted before it tagged it: the reference names the stack and the health check.
                name = next((candidate for candidate in listed if reference.startswith(self.health_check_prefix(candidate))),
                            "(untagged {0})".format(check["Id"]))
            self.mine.append({"id": check["Id"], "name": name, "ref": reference, "config": check.get("HealthCheckConfig") or {},
                              "view": health_check_view(check.get("HealthCheckConfig") or {}),
                              "version": check.get("HealthCheckVersion"), "tags": check_tags, "tagged": tagged})

    # ---- idempotency tokens ----------------------------------------------------------------
    def zone_reference(self):
        return "cairn-{0}-{1}".format(self.stack_hash, digest(self.zone_name)[:16])

    def health_check_prefix(self, name):
        return "cairn-{0}-{1}-".format(self.stack_hash, digest(name)[:12])

    def health_check_reference(self, name, config, replaces):
        return self.health_check_prefix(name) + digest(json.dumps(config, sort_keys=True), ",".join(replaces))[:16]

    def create_with_references(self, base, create, already_exists_code, what):
        """Call create(reference) with base, then base-2 ...: AWS refuses a reference a deleted resource used."""
        for attempt in range(REFERENCE_ATTEMPTS):
            reference = base if attempt == 0 else "{0}-{1}".format(base, attempt + 1)
            with self.cm.doing("creating " + what):
                try:
                    return create(reference)
                except Exception as exc:
                    if error_code(exc) != already_exists_code:
                        raise
        raise CairnError("AWS refused to create {0}: the CallerReferences {1} to {1}-{2} are all taken by resources deleted "
                         "earlier. Rerun in a few days, when Route 53 has forgotten them.".format(what, base, REFERENCE_ATTEMPTS),
                         error_code=already_exists_code)

    # ---- decisions before any write --------------------------------------------------------
    def referenced_ids(self):
        return {rrset.get("HealthCheckId") for rrset in self.rrsets.values() if rrset.get("HealthCheckId")}

    def decide_health_checks(self):
        """Which of the stack's health checks each listed one keeps, which are replaced and which go."""
        listed = self.spec["health_checks"]
        if listed is None:
            return
        referenced = self.referenced_ids()
        for name, check in sorted(listed.items()):
            desired = health_check_view(health_check_config(check))
            candidates = [entry for entry in self.mine if entry["name"] == name]
            fitting = [entry for entry in candidates if all(entry["view"][field] == desired[field] for field in IMMUTABLE_HEALTH_CHECK_FIELDS)]
            fitting.sort(key=lambda entry: (entry["id"] not in referenced, not entry["tagged"], entry["id"]))
            keep = fitting[0] if fitting else None
            self.decisions[name] = {"keep": keep, "replaces": [entry for entry in candidates if entry is not keep], "desired": desired}
            self.stale.extend(entry for entry in candidates if entry is not keep)
        self.stale.extend(entry for entry in self.mine if entry["name"] not in listed)

    def health_check_label(self, check_id):
        """A record's health check as the plan shows it: name and fixed settings, or the id of one not ours."""
        if not check_id:
            return None
        for name, decision in self.decisions.items():
            if check_id == self.hc_ids.get(name) or (decision["keep"] is None and check_id == UNKNOWN + " " + name):
                return health_check_signature(name, decision["desired"])
        for entry in self.mine:
            if entry["id"] == check_id:
                label = health_check_signature(entry["name"], entry["view"])
                decision = self.decisions.get(entry["name"])
                if decision is not None and decision["keep"] is not entry:
                    label += " id " + check_id
                return label
        return check_id

    def owned_keys(self):
        return {(name, entry[2], entry[3]) for name, registry in self.registry.items() for entry in registry["entries"]
                if (entry[0], entry[1]) == self.spec["owner"]}

    def owner_of(self, key):
        for entry in (self.registry.get(key[0]) or {}).get("entries", []):
            if (entry[2], entry[3]) == (key[1], key[2]):
                return "{0}/{1}".format(entry[0], entry[1])
        return None

    def record_deletions(self):
        """{key: note} of existing record sets the run deletes, decided before any write."""
        deletions = {}
        owned = self.owned_keys()
        if self.spec["state"] == "absent":
            return {key: None for key in owned}
        records = self.spec["records"]
        if records is None:
            return deletions
        desired = {(record["name"], record["type"], record["set_identifier"]) for record in records}
        groups = {}
        for record in records:
            groups.setdefault((record["name"], record["type"]), []).append(record)
        for key in sorted(set(self.rrsets) | owned, key=lambda item: (item[0], item[1], item[2] or "")):
            if key in desired:
                continue
            group = groups.get((key[0], key[1]))
            if key in owned:
                if group is not None:
                    deletions[key] = "replaced by the listed {0} {1} record sets".format(key[0], key[1])
                elif self.spec["purge_records"]:
                    deletions[key] = "no longer listed (purge_records)"
            elif group is not None and any(record["adopt"] for record in group):
                deletions[key] = "not created by cairn.platform; replaced by the listed record sets (adopt)"
        return deletions

    def preflight(self):
        """Refuse, before any write, what would touch resources the module does not own or what AWS would refuse."""
        zone = self.zone
        if zone is not None and not zone["owned"] and not zone["recovered"] and self.spec["state"] == "present" and not self.spec["zone"]["adopt"]:
            stack = zone["tags"].get("cairn:stack")
            raise CairnError(
                "zone.adopt: the public hosted zone {0} ({1}) exists {2}; cairn.platform uses a zone it did not create only when "
                "told to. Set zone.adopt to true to adopt it (its records stay; only the ones listed are managed).".format(
                    self.zone_name, zone["id"],
                    "with the ownership tags of stack {0}".format(stack) if stack else "without the cairn.platform ownership tags"))
        delegation = self.spec["zone"]["delegation_set_id"]
        if zone is not None and delegation and self.spec["state"] == "present":
            with self.cm.doing("reading hosted zone " + zone["id"]):
                current = (self.r53.get_hosted_zone(Id=zone["id"]).get("DelegationSet") or {}).get("Id")
            current = (current or "").split("/")[-1] or None
            if current != delegation:
                raise CairnError("zone.delegation_set_id: zone {0} uses {1}; a zone's delegation set is fixed when it is created. "
                                 "Remove the option or give {1}.".format(self.zone_name, current or "no reusable delegation set"))
        self.deleted_keys = set(self.record_deletions())
        if self.spec["state"] == "present" and self.spec["records"] is not None:
            self.check_record_ownership()
        self.check_health_check_references()

    def check_record_ownership(self):
        owned = self.owned_keys()
        listed_names = {}
        listed_keys = {(record["name"], record["type"], record["set_identifier"]) for record in self.spec["records"]}
        for index, record in enumerate(self.spec["records"]):
            key = (record["name"], record["type"], record["set_identifier"])
            listed_names.setdefault(record["name"], set()).add(record["type"])
            group_adopt = any(other["adopt"] for other in self.spec["records"] if (other["name"], other["type"]) == key[:2])
            conflicting = [other for other in self.rrsets if other[:2] == key[:2] and other not in owned and other not in self.deleted_keys
                           and other not in listed_keys]
            if key in self.rrsets and key not in owned and not record["adopt"]:
                owner = self.owner_of(key)
                raise CairnError(
                    "records[{0}].adopt: {1} exists and {2}; the module never changes a record set it did not create. Set adopt "
                    "on the record to take it over, or remove it by hand.".format(
                        index, record_key_label(key), "was created by " + owner if owner else "was not created by cairn.platform"))
            if conflicting and not group_adopt:
                raise CairnError(
                    "records[{0}]: {1} {2} already has record sets cairn.platform did not create ({3}); Route 53 keeps one plain "
                    "record set or one failover pair per name and type. Set adopt on the record to replace them, or remove them "
                    "by hand.".format(index, key[0], key[1], ", ".join(record_key_label(other) for other in conflicting)))
        remaining = [key for key in self.rrsets if key not in self.deleted_keys]
        for name, types in sorted(listed_names.items()):
            present = {key[1] for key in remaining if key[0] == name and not (key[0] == self.zone_name and key[1] in ("NS", "SOA"))}
            together = present | types
            if "CNAME" in together and len(together) > 1:
                raise CairnError(
                    "records: {0} would hold a CNAME beside {1} records (some not listed here); a CNAME cannot share its name "
                    "with any other type. Remove the other record sets{2}.".format(
                        name, ", ".join(sorted(together - {"CNAME"})),
                        "" if self.spec["purge_records"] else " (purge_records removes the ones this module created)"))

    def check_health_check_references(self):
        """A health check about to be deleted must not stay in use by a record the run keeps."""
        if not self.stale and self.spec["state"] == "present":
            return
        going = {entry["id"]: entry for entry in (self.mine if self.spec["state"] == "absent" else self.stale)}
        rewritten = set()
        if self.spec["state"] == "present" and self.spec["records"] is not None:
            rewritten = {(record["name"], record["type"], record["set_identifier"]) for record in self.spec["records"]}
        for key, rrset in sorted(self.rrsets.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")):
            check_id = rrset.get("HealthCheckId")
            if check_id in going and key not in self.deleted_keys and key not in rewritten:
                entry = going[check_id]
                raise CairnError(
                    "health_checks: {0} ({1}) is to be deleted, but record {2} still uses it and this run does not change that "
                    "record. List the record (pointing at a listed health check), let purge_records remove it, or keep the "
                    "health check listed.".format(entry["name"], check_id, record_key_label(key)))

    # ---- present --------------------------------------------------------------------------
    def present(self):
        self.read(health_checks=self.spec["health_checks"] is not None)
        self.decide_health_checks()
        self.preflight()
        self.ensure_zone()
        self.ensure_health_checks()
        self.converge_records()
        self.wait_for_changes()
        self.prune_health_checks()
        return self.result()

    def ensure_zone(self):
        zone_tags = self.owner.desired_tags(name=self.zone_name)
        comment = self.spec["zone"]["comment"]
        known_id = self.spec["zone"]["id"]
        if self.zone is None and is_unknown(known_id):
            self.zone_id = UNKNOWN  # planned by the earlier task that returned this id (check mode only)
            return
        if self.zone is not None and known_id and not is_unknown(known_id) and known_id != self.zone_id:
            raise CairnError("zone.id: {0} is not the id of zone {1} ({2}); pass the id the zone task returned.".format(
                known_id, self.zone_name, self.zone_id))
        if self.zone is None:
            comment = comment if comment is not None else "Public zone of {0}, managed by cairn.platform".format(self.owner.environment)
            delegation = self.spec["zone"]["delegation_set_id"]
            desired = {"name": self.zone_name, "comment": comment, "delegation_set_id": delegation, "tags": zone_tags}
            self.zone_id = UNKNOWN
            if not self.plan.create("hosted_zone", self.zone_name, desired):
                return

            def create(reference):
                kwargs = {"Name": self.zone_name + ".", "CallerReference": reference,
                          "HostedZoneConfig": {"Comment": comment, "PrivateZone": False}}
                if delegation:
                    kwargs["DelegationSetId"] = delegation
                return self.r53.create_hosted_zone(**kwargs)

            response = self.create_with_references(self.zone_reference(), create, "HostedZoneAlreadyExists", "hosted zone " + self.zone_name)
            self.zone_id = response["HostedZone"]["Id"].split("/")[-1]
            self.name_servers = [normalize_domain(server) for server in (response.get("DelegationSet") or {}).get("NameServers", [])]
            self.change_ids.append(response["ChangeInfo"]["Id"])
            self.zone = {"id": self.zone_id, "caller_reference": response["HostedZone"].get("CallerReference"), "comment": comment,
                         "tags": {}, "owned": True, "recovered": False}
            self.change_tags("hostedzone", self.zone_id, zone_tags, [], "tagging hosted zone " + self.zone_name)
            self.zone["tags"] = zone_tags
            return
        if comment is not None and self.plan.update("hosted_zone", self.zone_name, {"comment": self.zone["comment"]}, {"comment": comment}):
            with self.cm.doing("updating the comment of hosted zone " + self.zone_name):
                self.r53.update_hosted_zone_comment(Id=self.zone_id, Comment=comment)
        zone_id = self.zone_id
        apply_tag_changes(
            self.cm, self.plan, self.owner, "hosted_zone", self.zone_name, self.zone["tags"], zone_tags,
            action="tagging hosted zone " + self.zone_name,
            add=lambda to_set: self.change_tags("hostedzone", zone_id, to_set, [], None),
            remove=lambda keys: self.change_tags("hostedzone", zone_id, {}, keys, None))
        self.zone["owned"] = True

    def change_tags(self, resource_type, resource_id, to_set, to_remove, action):
        """ChangeTagsForResource in calls of at most 10 tags added and 10 keys removed."""
        items, keys = dict_to_boto3_tag_list(to_set), sorted(to_remove)
        for start in range(0, max(len(items), len(keys)), TAG_BATCH):
            kwargs = {"ResourceType": resource_type, "ResourceId": resource_id}
            if items[start:start + TAG_BATCH]:
                kwargs["AddTags"] = items[start:start + TAG_BATCH]
            if keys[start:start + TAG_BATCH]:
                kwargs["RemoveTagKeys"] = keys[start:start + TAG_BATCH]
            if action:
                with self.cm.doing(action):
                    self.r53.change_tags_for_resource(**kwargs)
            else:
                self.r53.change_tags_for_resource(**kwargs)

    def ensure_health_checks(self):
        """Create, replace or update the listed health checks, before any record refers to them."""
        listed = self.spec["health_checks"]
        if listed is None:
            return
        for name, check in sorted(listed.items()):
            decision = self.decisions[name]
            tags = self.owner.desired_tags(name=name)
            keep = decision["keep"]
            if keep is None:
                self.create_health_check(name, check, decision, tags)
                continue
            self.hc_ids[name] = keep["id"]
            self.update_health_check(name, check, keep, decision["desired"])
            check_id = keep["id"]
            apply_tag_changes(
                self.cm, self.plan, self.owner, "health_check", name, keep["tags"] if keep["tagged"] else {}, tags,
                action="tagging health check {0} ({1})".format(name, check_id),
                add=lambda to_set, check_id=check_id: self.change_tags("healthcheck", check_id, to_set, [], None),
                remove=lambda keys, check_id=check_id: self.change_tags("healthcheck", check_id, {}, keys, None))

    def create_health_check(self, name, check, decision, tags):
        config = health_check_config(check)
        replaced = decision["replaces"]
        note = None
        if replaced:
            fields = [field for field in IMMUTABLE_HEALTH_CHECK_FIELDS
                      if any(entry["view"][field] != decision["desired"][field] for entry in replaced)]
            note = "replaces {0}: {1} cannot change in place; the records using it move to the new one in the same run".format(
                ", ".join(sorted(entry["id"] for entry in replaced)), " and ".join(fields) or "the settings")
        self.hc_ids[name] = UNKNOWN + " " + name
        if not self.plan.create("health_check", name, dict(decision["desired"], tags=tags), note=note):
            return
        base = self.health_check_reference(name, config, sorted(entry["id"] for entry in replaced))
        response = self.create_with_references(
            base, lambda reference: self.r53.create_health_check(CallerReference=reference, HealthCheckConfig=config),
            "HealthCheckAlreadyExists", "health check " + name)
        check_id = response["HealthCheck"]["Id"]
        self.hc_ids[name] = check_id
        self.change_tags("healthcheck", check_id, tags, [], "tagging health check {0} ({1})".format(name, check_id))

    def update_health_check(self, name, check, current, desired):
        mutable = [field for field in desired if field not in IMMUTABLE_HEALTH_CHECK_FIELDS]
        before = {field: current["view"][field] for field in mutable}
        after = {field: desired[field] for field in mutable}
        if not self.plan.update("health_check", name, before, after):
            return
        names = {"fqdn": "FullyQualifiedDomainName", "port": "Port", "resource_path": "ResourcePath", "search_string": "SearchString",
                 "failure_threshold": "FailureThreshold", "enable_sni": "EnableSNI", "inverted": "Inverted", "disabled": "Disabled",
                 "regions": "Regions"}
        kwargs = {"HealthCheckId": current["id"]}
        if current.get("version") is not None:
            kwargs["HealthCheckVersion"] = current["version"]
        for field in mutable:
            if before[field] == after[field]:
                continue
            if after[field] is None:
                if field == "regions":
                    kwargs.setdefault("ResetElements", []).append("Regions")
                continue
            kwargs[names[field]] = after[field]
        with self.cm.doing("updating health check {0} ({1})".format(name, current["id"])):
            try:
                self.r53.update_health_check(**kwargs)
            except Exception as exc:
                if error_code(exc) == "HealthCheckVersionMismatch":
                    raise CairnError("Health check {0} ({1}) changed while the module was converging it (someone else updated it "
                                     "since it was read); it was not changed. Rerun to converge from its new state.".format(
                                         name, current["id"]), error_code="HealthCheckVersionMismatch")
                raise

    # ---- records ---------------------------------------------------------------------------
    def desired_rrset(self, record):
        rrset = {"Name": record["name"] + ".", "Type": record["type"]}
        if record["set_identifier"]:
            rrset["SetIdentifier"] = record["set_identifier"]
            rrset["Failover"] = record["failover"]
        alias = record["alias"]
        if alias:
            zone_id = alias["hosted_zone_id"] or self.zone_id
            rrset["AliasTarget"] = {"HostedZoneId": zone_id, "DNSName": alias["dns_name"] if is_unknown(alias["dns_name"]) else alias["dns_name"] + ".",
                                    "EvaluateTargetHealth": alias["evaluate_target_health"]}
        else:
            rrset["TTL"] = record["ttl"]
            rrset["ResourceRecords"] = [{"Value": value} for value in record["values"]]
        check = record["health_check"]
        if check:
            rrset["HealthCheckId"] = self.hc_ids.get(check, check)
        return rrset

    def record_view(self, rrset, owner):
        """A record set as the plan and the result show it."""
        alias = rrset.get("AliasTarget")
        view = {"ttl": None, "values": None, "alias": None, "failover": rrset.get("Failover"),
                "health_check": self.health_check_label(rrset.get("HealthCheckId")), "owned_by": owner}
        if alias:
            zone_id = alias["HostedZoneId"].split("/")[-1] if not is_unknown(alias["HostedZoneId"]) else alias["HostedZoneId"]
            view["alias"] = {"dns_name": normalize_domain(alias["DNSName"]) if not is_unknown(alias["DNSName"]) else alias["DNSName"],
                             "hosted_zone_id": "(this zone)" if zone_id == self.zone_id else zone_id,
                             "evaluate_target_health": bool(alias.get("EvaluateTargetHealth"))}
        else:
            view["ttl"] = rrset.get("TTL")
            view["values"] = rrset_values(rrset)
        return view

    def converge_records(self):
        """Every record change, and the ownership records that go with them, in ONE ChangeResourceRecordSets batch."""
        deletes, upserts, creates = [], [], []
        ours = "{0}/{1}".format(*self.spec["owner"])
        owned = self.owned_keys()
        registry_add, registry_remove = set(), set()
        deletions = self.record_deletions()
        for key in sorted(deletions, key=lambda item: (item[0], item[1], item[2] or "")):
            rrset = self.rrsets.get(key)
            note = deletions[key]
            if rrset is None:
                note = "already gone; forgotten"
            self.plan.delete("record", record_key_label(key), self.record_view(rrset, self.owner_of(key)) if rrset else {}, note=note)
            if rrset is not None:
                deletes.append({"Action": "DELETE", "ResourceRecordSet": rrset})
            if key in owned:
                registry_remove.add(key)
        for record in self.spec["records"] or []:
            key = (record["name"], record["type"], record["set_identifier"])
            desired = self.desired_rrset(record)
            after = self.record_view(desired, ours)
            current = self.rrsets.get(key)
            if current is None:
                self.plan.create("record", record_key_label(key), after)
                creates.append({"Action": "CREATE", "ResourceRecordSet": desired})
            else:
                changed = rrset_meaning(current) != rrset_meaning(desired) or key not in owned
                if changed:
                    before = self.record_view(current, self.owner_of(key))
                    note = None if key in owned else "adopted: not created by cairn.platform, now managed"
                    if before == after:
                        # Differs only in what the plan does not show (the health check moves to a duplicate with the same settings).
                        before = dict(before, health_check="{0} ({1})".format(before["health_check"], current.get("HealthCheckId")))
                    self.plan.update("record", record_key_label(key), before, after, note=note)
                    upserts.append({"Action": "UPSERT", "ResourceRecordSet": desired})
            if key not in owned:
                registry_add.add(key)
        registry_changes = self.registry_changes(registry_add, registry_remove)
        for action, rrset in registry_changes:
            {"DELETE": deletes, "UPSERT": upserts, "CREATE": creates}[action].append({"Action": action, "ResourceRecordSet": rrset})
        batch = deletes + upserts + creates
        self.final = {"deletions": set(deletions), "records": {(r["name"], r["type"], r["set_identifier"]): self.desired_rrset(r)
                                                               for r in self.spec["records"] or []}}
        if not batch or self.check_mode:
            return
        comment = "cairn.platform {0} ({1})".format(COMPONENT, self.owner.stack)
        with self.cm.doing("changing the records of zone " + self.zone_name):
            try:
                response = self.r53.change_resource_record_sets(HostedZoneId=self.zone_id, ChangeBatch={"Comment": comment, "Changes": batch})
            except Exception as exc:
                refusal = batch_refusal(exc)
                if refusal:
                    raise self.batch_refused(*refusal)
                raise
        self.change_ids.append(response["ChangeInfo"]["Id"])

    def batch_refused(self, code, reasons):
        return CairnError(
            "Route 53 refused the change batch of zone {0} ({1}): {2}. Nothing in the batch was applied (a batch is all or "
            "nothing); health checks created before it stay and are used by the next run.".format(
                self.zone_name, code, reasons or "no reason given"),
            error_code=code, operation="ChangeResourceRecordSets")

    def registry_changes(self, add, remove):
        """(action, rrset) of the ownership records: one TXT record set per managed name, shared by every owner."""
        changes = []
        names = sorted({key[0] for key in add | remove})
        environment, stack = self.spec["owner"]
        for name in names:
            current = self.registry.get(name)
            entries = list(current["entries"]) if current else []
            entries = [entry for entry in entries if (name,) + entry[2:] not in remove or entry[:2] != (environment, stack)]
            for key in sorted(add, key=lambda item: (item[0], item[1], item[2] or "")):
                if key[0] == name and (environment, stack, key[1], key[2]) not in entries:
                    entries.append((environment, stack, key[1], key[2]))
            values = sorted('"{0}"'.format(registry_entry(entry[:2], entry[2], entry[3])) for entry in entries)
            values += list(current["others"]) if current else []
            rrset = {"Name": registry_name(name) + ".", "Type": "TXT", "TTL": REGISTRY_TTL,
                     "ResourceRecords": [{"Value": value} for value in values]}
            if current is None:
                if values:
                    changes.append(("CREATE", rrset))
            elif not values:
                changes.append(("DELETE", current["rrset"]))
            elif sorted(item["Value"] for item in current["rrset"].get("ResourceRecords") or []) != sorted(values) \
                    or current["rrset"].get("TTL") != REGISTRY_TTL:
                changes.append(("UPSERT", rrset))
        return changes

    def wait_for_changes(self):
        if not self.spec["wait"] or self.check_mode or not self.change_ids:
            return
        change_id = self.change_ids[-1]

        def in_sync():
            with self.cm.doing("reading the status of change " + change_id):
                return self.r53.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"

        self.clock.poll(in_sync, "change {0} of zone {1} to reach INSYNC (on every Route 53 name server)".format(change_id, self.zone_name))

    def prune_health_checks(self):
        """Delete replaced and unlisted health checks, after the records stopped using them."""
        for entry in sorted(self.stale, key=lambda item: (item["name"], item["id"])):
            decision = self.decisions.get(entry["name"])
            note = "replaced by the new health check" if decision and decision["keep"] is None else (
                "duplicate of {0}".format(decision["keep"]["id"]) if decision else "no longer listed")
            self.delete_health_check(entry, note)

    def delete_health_check(self, entry, note=None):
        if not self.plan.delete("health_check", entry["name"], dict(entry["view"], id=entry["id"]), note=note):
            return
        with self.cm.doing("deleting health check {0} ({1})".format(entry["name"], entry["id"])):
            try:
                self.r53.delete_health_check(HealthCheckId=entry["id"])
            except Exception as exc:
                if error_code(exc) == "NoSuchHealthCheck":
                    return
                if error_code(exc) == "HealthCheckInUse":
                    raise CairnError("Health check {0} ({1}) is still used by a record set (perhaps one changed by hand meanwhile); "
                                     "it was not deleted. The next run deletes it once no record uses it.".format(entry["name"], entry["id"]),
                                     error_code="HealthCheckInUse")
                raise

    # ---- absent ---------------------------------------------------------------------------
    def absent(self):
        self.read(health_checks=True)
        self.stale = list(self.mine)
        self.preflight()
        if self.zone is not None:
            self.converge_records()
            self.wait_for_changes()
        for entry in sorted(self.mine, key=lambda item: (item["name"], item["id"])):
            self.delete_health_check(entry)
        if self.zone is not None:
            self.delete_zone()
        return self.result()

    def delete_zone(self):
        zone = self.zone
        if not zone["owned"] and not zone["recovered"]:
            self.kept_because = ("Zone {0} ({1}) was kept: it was not created by cairn.platform for stack {2} (no ownership tags), "
                                 "so the module never deletes it.".format(self.zone_name, zone["id"], self.owner.stack))
            self.cm.module.warn(self.kept_because)
            return
        remaining = sorted(record_key_label(key) for key in self.rrsets
                           if key not in self.final["deletions"] and not (key[0] == self.zone_name and key[1] in ("NS", "SOA")))
        environment, stack = self.spec["owner"]
        remaining += sorted(registry_name(name) + " TXT" for name, registry in self.registry.items()
                            if any(entry[:2] != (environment, stack) for entry in registry["entries"]) or registry["others"])
        if remaining:
            self.kept_because = (
                "Zone {0} ({1}) was kept: it still holds {2} record set(s) cairn.platform did not create here: {3}{4}. Delete "
                "them (or the module that wrote them) and rerun to delete the zone.".format(
                    self.zone_name, zone["id"], len(remaining), ", ".join(remaining[:5]), ", ..." if len(remaining) > 5 else ""))
            self.cm.module.warn(self.kept_because)
            return
        if self.plan.delete("hosted_zone", self.zone_name, {"id": zone["id"], "comment": zone["comment"]}):
            with self.cm.doing("deleting hosted zone " + self.zone_name):
                self.r53.delete_hosted_zone(Id=zone["id"])
            self.deleted_zone = True

    # ---- result ---------------------------------------------------------------------------
    def result(self):
        absent = self.spec["state"] == "absent"
        zone = None
        if self.zone is not None or self.zone_id is not None:
            zone = {"id": self.zone_id, "name": self.zone_name, "name_servers": self.name_servers,
                    "owned": bool(self.zone and (self.zone["owned"] or self.zone["recovered"])) or is_unknown(self.zone_id)}
            if absent:
                zone["deleted"] = self.deleted_zone
            if self.kept_because:
                zone["kept_because"] = self.kept_because
        return {"zone": zone, "records": [] if absent else self.records_result(), "health_checks": {} if absent else self.health_checks_result(),
                "waited_seconds": round(self.clock.waited, 1)}

    def records_result(self):
        if self.spec["records"] is None:
            return []
        names = {record["name"] for record in self.spec["records"]}
        final = self.final
        rrsets = {key: rrset for key, rrset in self.rrsets.items() if key[0] in names and key not in final["deletions"]}
        rrsets.update(final["records"])
        owned = self.owned_keys() | set(final["records"])
        result = []
        for key in sorted(rrsets, key=lambda item: (item[0], item[1], item[2] or "")):
            rrset = rrsets[key]
            alias = rrset.get("AliasTarget")
            result.append({
                "name": key[0], "type": key[1], "set_identifier": key[2], "failover": rrset.get("Failover"),
                "ttl": None if alias else rrset.get("TTL"), "values": None if alias else rrset_values(rrset),
                "alias": {"dns_name": normalize_domain(alias["DNSName"]) if not is_unknown(alias["DNSName"]) else alias["DNSName"],
                          "hosted_zone_id": alias["HostedZoneId"].split("/")[-1] if not is_unknown(alias["HostedZoneId"]) else UNKNOWN,
                          "evaluate_target_health": bool(alias.get("EvaluateTargetHealth"))} if alias else None,
                "health_check_id": UNKNOWN if is_unknown(rrset.get("HealthCheckId")) else rrset.get("HealthCheckId"),
                "owned": key in owned,
            })
        return result

    def health_checks_result(self):
        listed = self.spec["health_checks"]
        if listed is None:
            return {}
        result = {}
        for name, check in sorted(listed.items()):
            check_id = self.hc_ids.get(name, UNKNOWN)
            result[name] = {"id": UNKNOWN if is_unknown(check_id) else check_id, "fqdn": check["fqdn"], "type": check["type"],
                            "port": check["port"], "resource_path": check["resource_path"],
                            "request_interval": check["request_interval"], "failure_threshold": check["failure_threshold"]}
        return result


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params)
        converger = Route53Converger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
