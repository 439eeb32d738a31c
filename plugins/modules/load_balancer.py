#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: load_balancer
short_description: Converge one Application Load Balancer of a region stack with its listeners, rules, target groups and WAF
version_added: 0.1.0
description:
  - Creates, updates or deletes one Application Load Balancer (ALB) and everything it owns, with a plan of every change.
  - An HTTPS listener on port 443 with an ACM certificate (checked to be C(ISSUED) before it is attached) and a TLS
    security policy from the list AWS offers, refusing by default policies that still accept TLS 1.0 or 1.1.
  - An HTTP listener on port 80 that answers C(301) to the same URL over HTTPS (O(http_redirect)).
  - Target groups (IP targets by default, for EKS pods bound by TargetGroupBindings) with health checks,
    deregistration delay and slow start.
  - Path and host rules on the HTTPS listener, checked before any call for duplicates and for rules that can never
    match because a rule evaluated earlier takes every request they would; a request no rule matches gets a fixed
    response (404 by default).
  - Load balancer attributes (access and connection logs to S3, invalid header dropping, desync mitigation, HTTP/2,
    deletion protection, idle timeout), the association with a regional AWS WAF web ACL, and the ingress rules on the
    targets' security group that let the ALB reach its targets.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the load balancer to these options.
      - V(absent) deletes its listeners (and their rules), the load balancer, then (once AWS reports it gone) its target
        groups and the security group rules the module created. Refused while deletion protection is on.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The load balancer's name, 1 to 32 letters, digits and C(-), not starting or ending with C(-) and not starting
        with C(internal-) (AWS's rules).
    type: str
    required: true
  scheme:
    description:
      - V(internet-facing) for an ALB with public addresses, V(internal) for one reachable from the VPC only.
      - AWS cannot change the scheme of an existing load balancer; a change is refused before any write.
    type: str
    choices: [internet-facing, internal]
    default: internet-facing
  subnet_ids:
    description:
      - At least two distinct subnets, in different Availability Zones (public subnets for V(internet-facing)).
      - Required when O(state=present).
    type: list
    elements: str
  security_group_ids:
    description:
      - Up to five security groups of the load balancer. Unset leaves the groups alone (AWS gives a new load balancer
        the VPC's default group).
    type: list
    elements: str
  ip_address_type:
    description: V(ipv4), or V(dualstack) for IPv4 and IPv6 (the subnets need IPv6 blocks).
    type: str
    choices: [ipv4, dualstack]
    default: ipv4
  vpc_id:
    description:
      - The VPC of the target groups (the load balancer's subnets must be in it). Required with O(target_groups).
    type: str
  certificate_arn:
    description:
      - The default certificate of the HTTPS listener, an ACM certificate of the load balancer's region (or an IAM
        server certificate). An ACM certificate must be C(ISSUED) before it is attached; required when O(state=present).
    type: str
  additional_certificate_arns:
    description:
      - More certificates for the HTTPS listener, chosen by SNI (up to 25). Certificates attached that are not listed
        are removed from the listener.
    type: list
    elements: str
    default: []
  ssl_policy:
    description:
      - The TLS security policy of the HTTPS listener; one of the policies AWS lists for Application Load Balancers
        (C(DescribeSSLPolicies)), that is the C(ELBSecurityPolicy-TLS13-*) family, the FIPS and post-quantum (C(PQ)) ones,
        the C(ELBSecurityPolicy-FS-*) forward-secrecy ones and the older C(ELBSecurityPolicy-TLS-*) and
        C(ELBSecurityPolicy-2016-08).
      - Policies that accept TLS 1.0 or 1.1 are refused unless O(allow_legacy_tls=true).
      - The default accepts TLS 1.2 and 1.3 only (AWS's own default for the API, C(ELBSecurityPolicy-2016-08), accepts
        TLS 1.0).
    type: str
    default: ELBSecurityPolicy-TLS13-1-2-2021-06
  allow_legacy_tls:
    description: Accept an O(ssl_policy) that lets clients connect with TLS 1.0 or 1.1.
    type: bool
    default: false
  http_redirect:
    description:
      - Keep a listener on port 80 that answers C(301) to C(https://#{host}:443/#{path}?#{query}).
      - V(false) deletes the port 80 listener.
    type: bool
    default: true
  target_groups:
    description:
      - The target groups of the load balancer. Groups the module created for it that are no longer listed are deleted
        after no rule uses them.
      - AWS fixes a group's port, protocol, target type and VPC at creation; a change of one of them is refused before
        any write. Give the group a new name instead; the module creates the new group, moves the rules to it, then
        deletes the old one.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: The group's name, 1 to 32 letters, digits and C(-), not starting or ending with C(-).
        type: str
        required: true
      port:
        description: The port the targets listen on (1 to 65535).
        type: int
        required: true
      protocol:
        description: The protocol the load balancer speaks to the targets.
        type: str
        choices: [HTTP, HTTPS]
        default: HTTP
      target_type:
        description: V(ip) for pods or any IP address in the VPC, V(instance) for EC2 instances.
        type: str
        choices: [ip, instance]
        default: ip
      health_check:
        description: The health check; unset fields (or all of them, when this is unset) take the defaults below.
        type: dict
        suboptions:
          path:
            description: The path requested, starting with C(/), up to 1024 characters.
            type: str
            default: /
          port:
            description: V(traffic-port) (the group's port) or a port number.
            type: str
            default: traffic-port
          protocol:
            description: The protocol of the check. Defaults to the group's protocol.
            type: str
            choices: [HTTP, HTTPS]
          interval_seconds:
            description: Seconds between checks, 5 to 300; more than O(target_groups[].health_check.timeout_seconds).
            type: int
            default: 30
          timeout_seconds:
            description: Seconds without an answer that fail a check, 2 to 120.
            type: int
            default: 5
          healthy_threshold:
            description: Consecutive successes that make a target healthy, 2 to 10.
            type: int
            default: 5
          unhealthy_threshold:
            description: Consecutive failures that make a target unhealthy, 2 to 10.
            type: int
            default: 2
          matcher:
            description:
              - The HTTP codes of a healthy answer, 200 to 499, such as V(200), V(200,204) or V(200-399).
            type: str
            default: "200"
      deregistration_delay:
        description: Seconds a deregistering target keeps its open requests (0 to 3600).
        type: int
        default: 300
      slow_start:
        description: Seconds a new target gets a growing share of requests, 30 to 900, or 0 for none. Unset leaves it alone.
        type: int
  rules:
    description:
      - The rules of the HTTPS listener, each forwarding to one of O(target_groups). The listener evaluates them from
        the lowest priority number up; the first that matches wins.
      - A rule needs O(rules[].path_patterns), O(rules[].host_headers) or both (both must match). A rule that can
        never match, because a rule with a lower priority number matches every request it would (for example
        C(/api/*) at 10 and C(/api/v1/*) at 20, with the same host condition), is refused before any call with both
        rules named.
      - Rules are matched to the listener's rules by priority; rules of the listener with other priorities are deleted.
    type: list
    elements: dict
    default: []
    suboptions:
      priority:
        description: 1 to 50000, unique.
        type: int
        required: true
      path_patterns:
        description:
          - Up to 5 path patterns (case sensitive, up to 128 characters of letters, digits and
            C(_ - . $ / ~ " ' @ + &) and C(:), with C(*) for any characters and C(?) for exactly one).
        type: list
        elements: str
      host_headers:
        description:
          - Host names (case insensitive, up to 128 characters of letters, digits, C(-) and C(.), with C(*) and C(?)
            wildcards, with at least one dot). A rule holds at most 5 values of path patterns and host names together.
        type: list
        elements: str
      target_group:
        description: The name of a group of O(target_groups).
        type: str
        required: true
  default_action:
    description: The fixed answer of the HTTPS listener to a request no rule matches.
    type: dict
    default: {}
    suboptions:
      status_code:
        description: A 2XX, 4XX or 5XX code.
        type: str
        default: "404"
      content_type:
        description: The content type of the body.
        type: str
        choices: [text/plain, text/css, text/html, application/javascript, application/json]
        default: text/plain
      message_body:
        description: The body, up to 1024 characters.
        type: str
        default: Not Found
  attributes:
    description:
      - Load balancer attributes. Only these are compared and written; AWS has more, which are left alone.
    type: dict
    default: {}
    suboptions:
      access_logs:
        description:
          - Access logs to an S3 bucket (whose policy must let Elastic Load Balancing write). Unset turns them off.
        type: dict
        suboptions:
          bucket:
            description: The bucket's name.
            type: str
            required: true
          prefix:
            description: The key prefix, not starting with C(/) and without C(AWSLogs).
            type: str
            default: ""
      connection_logs:
        description: Connection logs (client TLS details) to an S3 bucket. Unset turns them off.
        type: dict
        suboptions:
          bucket:
            description: The bucket's name.
            type: str
            required: true
          prefix:
            description: The key prefix, not starting with C(/) and without C(AWSLogs).
            type: str
            default: ""
      drop_invalid_header_fields:
        description: Drop HTTP headers whose names are not valid instead of passing them to the targets.
        type: bool
        default: true
      desync_mitigation_mode:
        description: How requests that could cause HTTP desync are handled.
        type: str
        choices: [monitor, defensive, strictest]
        default: strictest
      http2:
        description: Accept HTTP/2 from clients.
        type: bool
        default: true
      deletion_protection:
        description: Make AWS (and this module) refuse to delete the load balancer.
        type: bool
        default: false
      idle_timeout:
        description: Seconds a connection may stay idle, 1 to 4000.
        type: int
        default: 60
  web_acl_arn:
    description:
      - The ARN of the regional AWS WAF (WAFv2) web ACL that protects the load balancer; it must be of the load
        balancer's region (checked before any call).
      - Unset leaves the association alone; an empty string removes it.
    type: str
  target_security_group_id:
    description:
      - The security group of the targets (for EKS pods, the cluster security group). The module keeps one ingress
        rule on it per load balancer security group and target port (and numbered health-check port), tagged with
        the ownership tags, so the ALB reaches the pods behind TargetGroupBindings.
      - Rules it created and no longer needs (also on a group no longer named, or all of them when this is unset) are
        revoked. Rules it did not create are never touched; one that already allows a port is used as it is.
    type: str
  wait:
    description: After creating the load balancer, wait until AWS reports it C(active).
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds all waits of one run may take together. O(state=absent) always waits (within it) for the load balancer
        to be gone before deleting its target groups.
    type: int
    default: 600
notes:
  - "Reads: one C(DescribeLoadBalancers) by name; one paginated C(DescribeTargetGroups) of the region (the groups attached
    to the load balancer, those named in O(target_groups) and those no load balancer uses, which may be groups it created
    that are no longer listed; by C(LoadBalancerArn) alone AWS would miss a group no rule uses yet, and by C(Names) it
    fails when one is missing); C(DescribeTags) for the load balancer and those groups (20 ARNs a call); when the load
    balancer exists C(DescribeLoadBalancerAttributes), C(DescribeListeners), C(DescribeRules) per listener,
    C(DescribeListenerCertificates) of the HTTPS listener, C(DescribeTargetGroupAttributes) per listed group and one
    C(GetWebACLForResource) (to compare with O(web_acl_arn), or for the result when it is unset);
    C(DescribeSecurityGroupRules) by the ownership tags and by the group of O(target_security_group_id); ACM
    C(DescribeCertificate) only for certificates about to be attached. A rerun with the same input makes no mutating call."
  - "Writes: the load balancer, target groups, listeners and rules are born with the ownership tags (C(Tags) on create)
    plus C(cairn:load-balancer) naming the load balancer, and security group rules likewise (C(TagSpecifications)).
    ELBv2 has no client tokens; its creates are idempotent by name on AWS, and a retried C(CreateRule) that finds its
    priority taken by the same rule is accepted. Ownership is judged by the tags read back: a load balancer or target
    group of the same name without them is refused, never taken over. Listeners and rules belong to the load balancer:
    the module owns every one of them."
  - "Order: load balancer, attributes, target groups, listeners, rules (create and modify, then delete), unused target
    groups, WAF association, security group rules (authorize, then revoke), so traffic always has a path."
  - "Check mode makes no mutating call and plans the same changes as a real run; ids and ARNs of what it would create
    read C((known after apply)). A O(certificate_arn), O(web_acl_arn), subnet, VPC or security group id that an
    earlier task only planned is planned with. A certificate that is not C(ISSUED) yet fails a real run before any
    write and is a warning in check mode."
  - "Emulator gaps (moto 5.2.5), each covered: unknown SSL policy names and un-issued certificates are accepted (the
    module checks the policy against its table and the certificate with ACM, Stubber tests give AWS's
    C(UnsupportedCertificate)); deletion protection is not enforced (the module enforces it, tested against the
    emulator and with Stubber); C(routing.http.desync_mitigation_mode) accepts any value and access and connection log
    buckets are never checked (values are limited by the module's choices; AWS checks the bucket policy);
    C(DescribeLoadBalancerAttributes) returns only the attributes once written, AWS returns all of them (missing ones
    are compared with AWS's defaults, and a Stubber test uses AWS's full answer); C(DescribeTargetGroups) by
    C(LoadBalancerArn) fails with C(TargetGroupNotFound) for a load balancer without groups (not used);
    C(DescribeListeners) lists the SNI certificates with the default one (the module reads C(DescribeListenerCertificates));
    C(ModifyListener) with a new default certificate drops the SNI certificates, which AWS keeps (locally a rerun adds
    them back);
    an HTTP listener reports an C(SslPolicy) (ignored); a second C(CreateLoadBalancer) of the same name creates a
    second load balancer and a second C(CreateTargetGroup) fails with C(DuplicateTargetGroupName), where AWS returns
    the existing one (the module reads first and never creates twice); duplicate security group rules are accepted;
    the load balancer is C(active) at the first describe and gone at once when deleted.
    C(GetWebACLForResource) answers an empty result without an association, as AWS does, and
    C(DescribeSecurityGroupRules) reads tags back and honours tag filters."
  - "The targets' group is usually the EKS cluster security group, which EKS creates; if it is a group that
    M(cairn.platform.security_groups) manages, that module removes rules it did not write: manage the rule there instead."
seealso:
  - name: Security policies for your Application Load Balancer
    description: The TLS policies, their protocols and ciphers.
    link: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html
  - name: Listener rules
    description: Conditions, priorities and actions of ALB rules.
    link: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html
  - name: Load balancer attributes
    description: Access logs, connection logs, desync mitigation, deletion protection and the other attributes.
    link: https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#load-balancer-attributes
"""

EXAMPLES = r"""
- name: The region stack's ALB (HTTPS with TLS 1.2+, HTTP redirect, path rules, logs, WAF)
  cairn.platform.load_balancer:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    name: prod-us-east-1-alb
    vpc_id: "{{ cairn_networking.vpc.id }}"
    subnet_ids: "{{ cairn_networking.public_subnet_ids }}"
    security_group_ids: ["{{ cairn_security.security_groups.alb.id }}"]
    certificate_arn: "{{ acm.certificates.alb.arn }}"
    target_groups:
      - name: prod-us-east-1-web
        port: 8080
        health_check: {path: /healthz, interval_seconds: 15, healthy_threshold: 3, matcher: "200-399"}
        deregistration_delay: 30
      - name: prod-us-east-1-api
        port: 8080
        health_check: {path: /healthz}
        deregistration_delay: 30
    rules:
      - {priority: 10, host_headers: [api.example.com], target_group: prod-us-east-1-api}
      - {priority: 20, path_patterns: ["/api/*"], target_group: prod-us-east-1-api}
      - {priority: 100, path_patterns: ["/*"], target_group: prod-us-east-1-web}
    attributes:
      access_logs: {bucket: cairn-prod-logs, prefix: alb/prod-us-east-1}
      connection_logs: {bucket: cairn-prod-logs, prefix: alb-connections/prod-us-east-1}
      deletion_protection: true
    web_acl_arn: "{{ cairn_security.waf_web_acl_arn }}"
    target_security_group_id: "{{ cairn_compute.cluster.cluster_security_group_id }}"
  register: alb

- name: Remove it (turn deletion protection off first)
  cairn.platform.load_balancer:
    environment: prod
    stack: prod-us-east-1
    name: prod-us-east-1-alb
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
      resource_type: listener
      resource: HTTPS:443
      fields: {ssl_policy: {before: ELBSecurityPolicy-2016-08, after: ELBSecurityPolicy-TLS13-1-2-2021-06}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
load_balancer:
  description: The load balancer (C(known after apply) ids in check mode before creation).
  returned: when state=present
  type: dict
  contains:
    arn: {description: The ARN., type: str, returned: always}
    arn_suffix: {description: "The ARN's C(app/<name>/<id>) part, as CloudWatch metrics name it.", type: str, returned: always}
    name: {description: The name., type: str, returned: always}
    dns_name: {description: The DNS name (target of alias records)., type: str, returned: always}
    canonical_hosted_zone_id: {description: The Route 53 zone id of the DNS name (for alias records)., type: str, returned: always}
    scheme: {description: internet-facing or internal., type: str, returned: always}
    security_group_ids: {description: The security groups., type: list, elements: str, returned: always}
    subnet_ids: {description: The subnets., type: list, elements: str, returned: always}
    vpc_id: {description: The VPC., type: str, returned: always}
    ip_address_type: {description: ipv4 or dualstack., type: str, returned: always}
  sample:
    arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/prod-us-east-1-alb/50dc6c495c0c9188"
    arn_suffix: app/prod-us-east-1-alb/50dc6c495c0c9188
    name: prod-us-east-1-alb
    dns_name: prod-us-east-1-alb-1234567890.us-east-1.elb.amazonaws.com
    canonical_hosted_zone_id: Z35SXDOTRQ7X7K
    scheme: internet-facing
    security_group_ids: [sg-0123456789abcdef0]
    subnet_ids: [subnet-0123456789abcdef0, subnet-0fedcba9876543210]
    vpc_id: vpc-0123456789abcdef0
    ip_address_type: ipv4
listeners:
  description: The listeners; C(http) is null without O(http_redirect).
  returned: when state=present
  type: dict
  sample:
    https: {arn: "arn:aws:elasticloadbalancing:...:listener/app/prod-us-east-1-alb/50dc.../f2f7...", port: 443,
            ssl_policy: ELBSecurityPolicy-TLS13-1-2-2021-06, certificate_arn: "arn:aws:acm:...", additional_certificate_arns: []}
    http: {arn: "arn:aws:elasticloadbalancing:...:listener/app/prod-us-east-1-alb/50dc.../a1b2...", port: 80}
target_groups:
  description: The target groups by name.
  returned: when state=present
  type: dict
  sample:
    prod-us-east-1-web: {arn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/prod-us-east-1-web/73e2d6bc24d8a067",
                         arn_suffix: targetgroup/prod-us-east-1-web/73e2d6bc24d8a067, port: 8080, protocol: HTTP,
                         target_type: ip, health_check_path: /healthz}
rules:
  description: The rules of the HTTPS listener by priority.
  returned: when state=present
  type: list
  elements: dict
  sample:
    - {priority: 20, arn: "arn:aws:elasticloadbalancing:...:listener-rule/app/...", path_patterns: ["/api/*"], host_headers: [],
       target_group: prod-us-east-1-api, target_group_arn: "arn:aws:elasticloadbalancing:...:targetgroup/prod-us-east-1-api/..."}
web_acl_arn:
  description: The web ACL protecting the load balancer after the run (null for none; as found when O(web_acl_arn) is unset).
  returned: when state=present
  type: str
attributes:
  description: The managed attributes as they now are.
  returned: when state=present
  type: dict
  sample:
    access_logs: {bucket: cairn-prod-logs, prefix: alb/prod-us-east-1}
    connection_logs: null
    drop_invalid_header_fields: true
    desync_mitigation_mode: strictest
    http2: true
    deletion_protection: true
    idle_timeout: 60
security_group_rules:
  description: The ingress rules on O(target_security_group_id) that let the load balancer reach its targets.
  returned: when state=present
  type: list
  elements: dict
  sample:
    - {id: sgr-0123456789abcdef0, group_id: sg-0aaa..., source_group_id: sg-0bbb..., port: 8080, managed: true}
waited_seconds:
  description: Seconds spent waiting for the load balancer.
  returned: always
  type: float
"""

import re
from functools import lru_cache

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    STACK_TAG,
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
    tag_specifications,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "load_balancer"

_LOG_OPTIONS = dict(bucket=dict(type="str", required=True), prefix=dict(type="str", default=""))

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str", required=True),
    scheme=dict(type="str", default="internet-facing", choices=["internet-facing", "internal"]),
    subnet_ids=dict(type="list", elements="str"),
    security_group_ids=dict(type="list", elements="str"),
    ip_address_type=dict(type="str", default="ipv4", choices=["ipv4", "dualstack"]),
    vpc_id=dict(type="str"),
    certificate_arn=dict(type="str"),
    additional_certificate_arns=dict(type="list", elements="str", default=[]),
    ssl_policy=dict(type="str", default="ELBSecurityPolicy-TLS13-1-2-2021-06"),
    allow_legacy_tls=dict(type="bool", default=False),
    http_redirect=dict(type="bool", default=True),
    target_groups=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            name=dict(type="str", required=True),
            port=dict(type="int", required=True),
            protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
            target_type=dict(type="str", default="ip", choices=["ip", "instance"]),
            # No default={}: Ansible fills a default dict in place, so the second group without a health_check would get
            # the first one's filled-in dict, protocol=None included, and fail the choices check.
            health_check=dict(
                type="dict",
                options=dict(
                    path=dict(type="str", default="/"),
                    port=dict(type="str", default="traffic-port"),
                    protocol=dict(type="str", choices=["HTTP", "HTTPS"]),
                    interval_seconds=dict(type="int", default=30),
                    timeout_seconds=dict(type="int", default=5),
                    healthy_threshold=dict(type="int", default=5),
                    unhealthy_threshold=dict(type="int", default=2),
                    matcher=dict(type="str", default="200"),
                ),
            ),
            deregistration_delay=dict(type="int", default=300),
            slow_start=dict(type="int"),
        ),
    ),
    rules=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            priority=dict(type="int", required=True),
            path_patterns=dict(type="list", elements="str"),
            host_headers=dict(type="list", elements="str"),
            target_group=dict(type="str", required=True),
        ),
    ),
    default_action=dict(
        type="dict",
        default={},
        options=dict(
            status_code=dict(type="str", default="404"),
            content_type=dict(type="str", default="text/plain",
                              choices=["text/plain", "text/css", "text/html", "application/javascript", "application/json"]),
            message_body=dict(type="str", default="Not Found"),
        ),
    ),
    attributes=dict(
        type="dict",
        default={},
        options=dict(
            access_logs=dict(type="dict", options=_LOG_OPTIONS),
            connection_logs=dict(type="dict", options=_LOG_OPTIONS),
            drop_invalid_header_fields=dict(type="bool", default=True),
            desync_mitigation_mode=dict(type="str", default="strictest", choices=["monitor", "defensive", "strictest"]),
            http2=dict(type="bool", default=True),
            deletion_protection=dict(type="bool", default=False),
            idle_timeout=dict(type="int", default=60),
        ),
    ),
    web_acl_arn=dict(type="str"),
    target_security_group_id=dict(type="str"),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=600),
)

REQUIRED_IF = [("state", "present", ["subnet_ids", "certificate_arn"])]

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the desired configuration (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
LB_TAG = "cairn:load-balancer"
HTTPS_PORT = 443
HTTP_PORT = 80
HTTPS_KEY = "HTTPS:443"
HTTP_KEY = "HTTP:80"

# The security policies AWS lists for Application Load Balancers (DescribeSSLPolicies), with the TLS versions each
# accepts, from the "Security policies for your Application Load Balancer" tables (TLS, FIPS, FS, post-quantum and
# RFC 9151 policies). A static table because the emulator accepts any name.
_TLS13 = ("TLSv1.3",)
_TLS12_13 = ("TLSv1.2", "TLSv1.3")
_TLS11_13 = ("TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS10_13 = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS12 = ("TLSv1.2",)
_TLS11_12 = ("TLSv1.1", "TLSv1.2")
_TLS10_12 = ("TLSv1", "TLSv1.1", "TLSv1.2")
SSL_POLICIES = {
    # TLS security policies
    "ELBSecurityPolicy-TLS13-1-3-2021-06": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-2021-06": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Res-2021-06": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-2021-06": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-2021-06": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-1-2021-06": _TLS11_13,
    "ELBSecurityPolicy-TLS13-1-0-2021-06": _TLS10_13,
    "ELBSecurityPolicy-TLS-1-2-Ext-2018-06": _TLS12,
    "ELBSecurityPolicy-TLS-1-2-2017-01": _TLS12,
    "ELBSecurityPolicy-TLS-1-1-2017-01": _TLS11_12,
    "ELBSecurityPolicy-2016-08": _TLS10_12,
    # Post-quantum (hybrid ML-KEM key exchange) policies
    "ELBSecurityPolicy-TLS13-1-3-PQ-2025-09": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-0-PQ-2025-09": _TLS10_13,
    # FIPS policies
    "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-FIPS-2023-04": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-2023-04": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-2023-04": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-2023-04": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-2023-04": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-1-FIPS-2023-04": _TLS11_13,
    "ELBSecurityPolicy-TLS13-1-0-FIPS-2023-04": _TLS10_13,
    # FIPS post-quantum policies
    "ELBSecurityPolicy-TLS13-1-3-FIPS-PQ-2025-09": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-FIPS-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Res-FIPS-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext0-FIPS-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext1-FIPS-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext2-FIPS-PQ-2025-09": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-0-FIPS-PQ-2025-09": _TLS10_13,
    # RFC 9151 (CNSA 1.0) FIPS policies
    "ELBSecurityPolicy-TLS13-1-3-RFC9151-FIPS-2023-07": _TLS13,
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-FIPS-2023-07": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-Ext0-RFC9151-FIPS-2023-07": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP1-FIPS-2023-07": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP2-FIPS-2023-07": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP3-FIPS-2023-07": _TLS12_13,
    "ELBSecurityPolicy-TLS13-1-2-RFC9151-INTEROP4-FIPS-2023-07": _TLS12_13,
    # Forward secrecy policies
    "ELBSecurityPolicy-FS-1-2-Res-2020-10": _TLS12,
    "ELBSecurityPolicy-FS-1-2-Res-2019-08": _TLS12,
    "ELBSecurityPolicy-FS-1-2-2019-08": _TLS12,
    "ELBSecurityPolicy-FS-1-1-2019-08": _TLS11_12,
    "ELBSecurityPolicy-FS-2018-06": _TLS10_12,
}
LEGACY_PROTOCOLS = ("TLSv1", "TLSv1.1")


def is_legacy_policy(name):
    return any(protocol in LEGACY_PROTOCOLS for protocol in SSL_POLICIES[name])


MODERN_POLICIES = tuple(name for name in SSL_POLICIES if not is_legacy_policy(name))
LEGACY_POLICIES = tuple(name for name in SSL_POLICIES if is_legacy_policy(name))

# AWS limits (Application Load Balancer quotas and API reference).
MAX_NAME = 32
MAX_SECURITY_GROUPS = 5
MAX_CERTIFICATES = 25
MAX_TARGET_GROUPS = 100
MAX_RULES = 100
MAX_RULE_VALUES = 5  # condition values (match evaluations) per rule
MAX_RULE_WILDCARDS = 5
MIN_PRIORITY = 1
MAX_PRIORITY = 50000
HEALTH_CHECK_RANGES = {
    "interval_seconds": (5, 300),
    "timeout_seconds": (2, 120),
    "healthy_threshold": (2, 10),
    "unhealthy_threshold": (2, 10),
}
MAX_HEALTH_CHECK_PATH = 1024
DEREGISTRATION_RANGE = (0, 3600)
SLOW_START_RANGE = (30, 900)
IDLE_TIMEOUT_RANGE = (1, 4000)
MAX_MESSAGE_BODY = 1024
# The attributes the module manages, with AWS's values for a new load balancer (moto reports a key only once written).
ATTRIBUTE_DEFAULTS = {
    "access_logs.s3.enabled": "false",
    "connection_logs.s3.enabled": "false",
    "routing.http.drop_invalid_header_fields.enabled": "false",
    "routing.http.desync_mitigation_mode": "defensive",
    "routing.http2.enabled": "true",
    "deletion_protection.enabled": "false",
    "idle_timeout.timeout_seconds": "60",
}
TG_ATTRIBUTE_DEFAULTS = {"deregistration_delay.timeout_seconds": "300", "slow_start.duration_seconds": "0"}
HEALTH_CHECK_DEFAULTS = {key: option.get("default") for key, option in
                         ARGUMENT_SPEC["target_groups"]["options"]["health_check"]["options"].items()}
DEFAULT_ACTION_DEFAULTS = {key: option.get("default") for key, option in ARGUMENT_SPEC["default_action"]["options"].items()}
ATTRIBUTES_OPTIONS = ARGUMENT_SPEC["attributes"]["options"]

_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9\-]{0,30}[A-Za-z0-9])?$")
_SUBNET = re.compile(r"^subnet-[0-9a-f]{8,17}$")
_SECURITY_GROUP = re.compile(r"^sg-[0-9a-f]{8,17}$")
_VPC = re.compile(r"^vpc-[0-9a-f]{8,17}$")
_ACM_ARN = re.compile(r"^arn:(aws[a-z\-]*):acm:([a-z0-9\-]+):(\d{12}):certificate/[A-Za-z0-9\-]+$")
_IAM_CERT_ARN = re.compile(r"^arn:(aws[a-z\-]*):iam::(\d{12}):server-certificate/\S+$")
_WEB_ACL_ARN = re.compile(r"^arn:(aws[a-z\-]*):wafv2:([a-z0-9\-]*):(\d{12}):(global|regional)/webacl/[\w\-]+/[a-f0-9\-]+$")
_PATH_PATTERN = re.compile(r"^[A-Za-z0-9_\-.$/~\"'@:+&*?]{1,128}$")
_HOST_HEADER = re.compile(r"^[A-Za-z0-9\-.*?]{1,128}$")
_MATCHER_PART = re.compile(r"^(\d{3})(?:-(\d{3}))?$")
_STATUS_CODE = re.compile(r"^[245]\d\d$")
_BUCKET = re.compile(r"^(?!xn--)(?!.*\.\.)[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]$")


def _check_name(field, value, what):
    if not isinstance(value, str) or not _NAME.match(value):
        raise InputError("{0}: {1!r} is not a valid {2} name (1 to {3} letters, digits and -, not starting or ending with -).".format(
            field, value, what, MAX_NAME))


def check_lb_name(value):
    _check_name("name", value, "load balancer")
    if value.lower().startswith("internal-"):
        raise InputError("name: {0!r} starts with 'internal-', which AWS reserves for the DNS names of internal load balancers.".format(value))
    return value


def _check_ids(field, values, pattern, what, minimum=0, maximum=None):
    values = list(values or [])
    for value in values:
        if not is_unknown(value) and not pattern.match(str(value)):
            raise InputError("{0}: {1!r} is not a {2} id.".format(field, value, what))
    known = [value for value in values if not is_unknown(value)]
    duplicates = sorted({value for value in known if known.count(value) > 1})
    if duplicates:
        raise InputError("{0}: {1} is listed twice; list each {2} once.".format(field, ", ".join(duplicates), what))
    if len(values) < minimum:
        where = " in different Availability Zones" if what == "subnet" else ""
        raise InputError("{0}: an Application Load Balancer needs at least {1} {2}{3}{4}; got {5}.".format(
            field, minimum, what, "s" if minimum > 1 else "", where, len(values)))
    if maximum is not None and len(values) > maximum:
        raise InputError("{0}: at most {1} {2}s; got {3}.".format(field, maximum, what, len(values)))
    return sorted(values, key=str)


def check_certificate_arn(field, arn, region):
    if is_unknown(arn):
        return arn
    match = _ACM_ARN.match(arn or "")
    if match:
        if region and match.group(2) != region:
            raise InputError("{0}: the certificate {1} is in {2}, the load balancer in {3}; an ALB uses ACM certificates of its own "
                             "region (request or import one there).".format(field, arn, match.group(2), region))
        return arn
    if _IAM_CERT_ARN.match(arn or ""):
        return arn
    raise InputError("{0}: {1!r} is not the ARN of an ACM certificate (arn:aws:acm:<region>:<account>:certificate/<id>) or an IAM "
                     "server certificate.".format(field, arn))


def is_acm_arn(arn):
    return bool(_ACM_ARN.match(arn or ""))


def check_ssl_policy(name, allow_legacy):
    if name not in SSL_POLICIES:
        raise InputError(
            "ssl_policy: {0!r} is not a security policy AWS offers for Application Load Balancers; use one of {1} (or, with "
            "allow_legacy_tls: true, {2}).".format(name, ", ".join(MODERN_POLICIES), ", ".join(LEGACY_POLICIES)))
    if is_legacy_policy(name) and not allow_legacy:
        legacy = " and ".join(p.replace("TLSv1", "TLS 1.0") if p == "TLSv1" else p.replace("TLSv", "TLS ")
                              for p in SSL_POLICIES[name] if p in LEGACY_PROTOCOLS)
        raise InputError(
            "ssl_policy: {0} lets clients connect with {1}, which the platform refuses (TLS 1.2 or newer only); use one of {2}, "
            "or set allow_legacy_tls: true for clients that cannot do TLS 1.2.".format(name, legacy, ", ".join(MODERN_POLICIES)))
    return name


def _in_range(field, value, bounds, what=""):
    low, high = bounds
    if value is None or not low <= value <= high:
        raise InputError("{0}: AWS accepts {1} to {2}{3}; got {4}.".format(field, low, high, what, value))
    return value


def check_matcher(field, value):
    value = str(value).strip()
    parts = value.split(",")
    for part in parts:
        match = _MATCHER_PART.match(part.strip())
        codes = [int(code) for code in match.groups() if code] if match else []
        if not match or any(not 200 <= code <= 499 for code in codes) or (len(codes) == 2 and codes[0] >= codes[1]):
            raise InputError("{0}: {1!r} is not a list of HTTP codes from 200 to 499 (such as 200, 200,204 or 200-399).".format(field, value))
    return ",".join(part.strip() for part in parts)


def check_health_check(field, health_check, protocol):
    settings = dict(HEALTH_CHECK_DEFAULTS)
    settings.update({key: value for key, value in (health_check or {}).items() if value is not None})
    settings["protocol"] = settings.get("protocol") or protocol
    path = settings["path"]
    if not isinstance(path, str) or not path.startswith("/") or len(path) > MAX_HEALTH_CHECK_PATH:
        raise InputError("{0}.path: {1!r} must start with / and have at most {2} characters.".format(field, path, MAX_HEALTH_CHECK_PATH))
    port = str(settings["port"])
    if port != "traffic-port" and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise InputError("{0}.port: {1!r} must be traffic-port (the group's port) or a port from 1 to 65535.".format(field, port))
    settings["port"] = port
    for key, bounds in HEALTH_CHECK_RANGES.items():
        _in_range("{0}.{1}".format(field, key), settings[key], bounds, " seconds" if key.endswith("seconds") else "")
    if settings["timeout_seconds"] >= settings["interval_seconds"]:
        raise InputError("{0}.timeout_seconds: must be less than interval_seconds ({1}); got {2}.".format(
            field, settings["interval_seconds"], settings["timeout_seconds"]))
    settings["matcher"] = check_matcher(field + ".matcher", settings["matcher"])
    return settings


def check_target_groups(groups, vpc_id):
    checked, names = [], set()
    for index, group in enumerate(groups or []):
        field = "target_groups[{0}]".format(index)
        name = group.get("name")
        _check_name(field + ".name", name, "target group")
        if name in names:
            raise InputError("{0}.name: {1} is listed twice; every target group needs its own name.".format(field, name))
        names.add(name)
        _in_range(field + ".port", group.get("port"), (1, 65535))
        protocol = group.get("protocol") or "HTTP"
        delay = group.get("deregistration_delay")
        delay = 300 if delay is None else delay
        _in_range(field + ".deregistration_delay", delay, DEREGISTRATION_RANGE, " seconds")
        slow_start = group.get("slow_start")
        if slow_start is not None and slow_start != 0:
            _in_range(field + ".slow_start", slow_start, SLOW_START_RANGE, " seconds (or 0 for none)")
        checked.append({
            "name": name, "port": group["port"], "protocol": protocol, "target_type": group.get("target_type") or "ip",
            "vpc_id": vpc_id, "health_check": check_health_check(field + ".health_check", group.get("health_check"), protocol),
            "deregistration_delay": delay, "slow_start": slow_start,
        })
    if len(checked) > MAX_TARGET_GROUPS:
        raise InputError("target_groups: at most {0} target groups per load balancer; got {1}.".format(MAX_TARGET_GROUPS, len(checked)))
    if checked and not vpc_id:
        raise InputError("vpc_id: required with target_groups (a target group lives in one VPC, the load balancer's).")
    return checked


def glob_covers(general, specific):
    """True when every string the ALB wildcard pattern `specific` matches is also matched by `general` (`*` any, `?` one).

    Sound, not complete: a wildcard of `specific` is only matched by a wildcard of `general` at least as broad, so a
    True answer is a proof, and a False answer leaves the rules alone."""
    @lru_cache(maxsize=None)
    def match(i, j):
        if i == len(general):
            return j == len(specific)
        if general[i] == "*":
            return match(i + 1, j) or (j < len(specific) and match(i, j + 1))
        if j == len(specific):
            return False
        if general[i] == "?":
            return specific[j] != "*" and match(i + 1, j + 1)
        return specific[j] == general[i] and specific[j] not in "*?" and match(i + 1, j + 1)
    return match(0, 0)


def condition_covers(general, specific, fold_case=False):
    """True when a condition (None = any value) accepts every value `specific` accepts."""
    if general is None:
        return True
    if specific is None:
        return False
    if fold_case:
        general, specific = [value.lower() for value in general], [value.lower() for value in specific]
    return all(any(glob_covers(g, s) for g in general) for s in specific)


def rule_text(rule):
    parts = []
    if rule["path_patterns"]:
        parts.append("path_patterns " + ", ".join(rule["path_patterns"]))
    if rule["host_headers"]:
        parts.append("host_headers " + ", ".join(rule["host_headers"]))
    return "; ".join(parts)


def check_overlaps(rules):
    """Refuse a rule that can never match: a rule with a lower priority number matches every request it would."""
    ordered = sorted(rules, key=lambda rule: rule["priority"])
    for later_index, later in enumerate(ordered):
        for earlier in ordered[:later_index]:
            hosts_covered = condition_covers(earlier["host_headers"] or None, later["host_headers"] or None, fold_case=True)
            paths_covered = condition_covers(earlier["path_patterns"] or None, later["path_patterns"] or None)
            if hosts_covered and paths_covered:
                raise InputError(
                    "rules: the rule with priority {0} ({1}) can never match: every request it matches is already taken by the "
                    "rule with priority {2} ({3}), which the listener evaluates first (lowest number first). Give the rule of "
                    "priority {0} a number below {2}, or narrow the rule of priority {2}.".format(
                        later["priority"], rule_text(later), earlier["priority"], rule_text(earlier)))


def _check_values(field, values, pattern, what, fold_case=False):
    checked = []
    for value in values or []:
        if not isinstance(value, str) or not pattern.match(value):
            raise InputError("{0}: {1!r} is not {2}.".format(field, value, what))
        key = value.lower() if fold_case else value
        if key in [item.lower() if fold_case else item for item in checked]:
            raise InputError("{0}: {1!r} is listed twice.".format(field, value))
        checked.append(value)
    return checked


def check_rules(rules, group_names):
    checked, priorities = [], {}
    for index, rule in enumerate(rules or []):
        field = "rules[{0}]".format(index)
        priority = rule.get("priority")
        if priority is None or not MIN_PRIORITY <= priority <= MAX_PRIORITY:
            raise InputError("{0}.priority: AWS accepts {1} to {2}; got {3}.".format(field, MIN_PRIORITY, MAX_PRIORITY, priority))
        if priority in priorities:
            raise InputError("{0}.priority: {1} is also the priority of {2}; each rule needs its own.".format(field, priority, priorities[priority]))
        priorities[priority] = field
        paths = _check_values(
            field + ".path_patterns", rule.get("path_patterns"), _PATH_PATTERN,
            "an ALB path pattern (up to 128 characters of letters, digits, _ - . $ / ~ \" ' @ : + & and the wildcards * and ?)")
        hosts = _check_values(
            field + ".host_headers", rule.get("host_headers"), _HOST_HEADER,
            "an ALB host condition (up to 128 characters of letters, digits, - and . with the wildcards * and ?)", fold_case=True)
        for host in hosts:
            if "." not in host or not re.match(r"^[A-Za-z*?]+$", host.rsplit(".", 1)[1] or "x1"):
                raise InputError("{0}.host_headers: {1!r} needs a dot and only letters (or wildcards) after its last dot.".format(field, host))
        if not paths and not hosts:
            raise InputError("{0}: a rule needs path_patterns, host_headers or both.".format(field))
        if len(paths) + len(hosts) > MAX_RULE_VALUES:
            raise InputError("{0}: a rule holds at most {1} path patterns and host names together; got {2}.".format(
                field, MAX_RULE_VALUES, len(paths) + len(hosts)))
        wildcards = sum(value.count("*") + value.count("?") for value in paths + hosts)
        if wildcards > MAX_RULE_WILDCARDS:
            raise InputError("{0}: a rule holds at most {1} wildcards (* and ?) in its conditions; got {2}.".format(
                field, MAX_RULE_WILDCARDS, wildcards))
        target = rule.get("target_group")
        if target not in group_names:
            raise InputError("{0}.target_group: {1!r} is not one of target_groups ({2}).".format(
                field, target, ", ".join(sorted(group_names)) or "none are given"))
        checked.append({"priority": priority, "path_patterns": paths, "host_headers": hosts, "target_group": target})
    if len(checked) > MAX_RULES:
        raise InputError("rules: a listener holds at most {0} rules; got {1}.".format(MAX_RULES, len(checked)))
    check_overlaps(checked)
    return sorted(checked, key=lambda rule: rule["priority"])


def check_default_action(action):
    settings = dict(DEFAULT_ACTION_DEFAULTS)
    settings.update({key: value for key, value in (action or {}).items() if value is not None})
    settings["status_code"] = str(settings["status_code"])
    if not _STATUS_CODE.match(settings["status_code"]):
        raise InputError("default_action.status_code: {0!r} must be a 2XX, 4XX or 5XX code.".format(settings["status_code"]))
    if len(settings["message_body"]) > MAX_MESSAGE_BODY:
        raise InputError("default_action.message_body: at most {0} characters; got {1}.".format(MAX_MESSAGE_BODY, len(settings["message_body"])))
    return settings


def _check_log(field, log):
    if not log:
        return None
    bucket, prefix = log.get("bucket"), log.get("prefix") or ""
    if not is_unknown(bucket) and not (isinstance(bucket, str) and _BUCKET.match(bucket)):
        raise InputError("{0}.bucket: {1!r} is not an S3 bucket name (3 to 63 lowercase letters, digits, . and -).".format(field, bucket))
    if not is_unknown(prefix):
        if prefix.startswith("/") or "AWSLogs" in prefix or len(prefix) > 1024:
            raise InputError("{0}.prefix: {1!r} may not start with / nor contain AWSLogs (Elastic Load Balancing adds "
                             "AWSLogs/<account>/ itself).".format(field, prefix))
    return {"bucket": bucket, "prefix": prefix}


def check_attributes(attributes):
    """(the attributes as the user reads them, the same as ELBv2 attribute keys and values)."""
    attributes = dict(attributes or {})
    for key, option in ATTRIBUTES_OPTIONS.items():
        if attributes.get(key) is None and "default" in option:
            attributes[key] = option["default"]
    view = {
        "access_logs": _check_log("attributes.access_logs", attributes.get("access_logs")),
        "connection_logs": _check_log("attributes.connection_logs", attributes.get("connection_logs")),
        "drop_invalid_header_fields": bool(attributes["drop_invalid_header_fields"]),
        "desync_mitigation_mode": attributes["desync_mitigation_mode"],
        "http2": bool(attributes["http2"]),
        "deletion_protection": bool(attributes["deletion_protection"]),
        "idle_timeout": _in_range("attributes.idle_timeout", attributes["idle_timeout"], IDLE_TIMEOUT_RANGE, " seconds"),
    }
    if view["desync_mitigation_mode"] not in ATTRIBUTES_OPTIONS["desync_mitigation_mode"]["choices"]:
        raise InputError("attributes.desync_mitigation_mode: {0!r} is not one of monitor, defensive, strictest.".format(view["desync_mitigation_mode"]))
    keys = {}
    for log in ("access_logs", "connection_logs"):
        if view[log]:
            keys.update({log + ".s3.enabled": "true", log + ".s3.bucket": view[log]["bucket"], log + ".s3.prefix": view[log]["prefix"]})
        else:
            keys[log + ".s3.enabled"] = "false"
    keys.update({
        "routing.http.drop_invalid_header_fields.enabled": _bool(view["drop_invalid_header_fields"]),
        "routing.http.desync_mitigation_mode": view["desync_mitigation_mode"],
        "routing.http2.enabled": _bool(view["http2"]),
        "deletion_protection.enabled": _bool(view["deletion_protection"]),
        "idle_timeout.timeout_seconds": str(view["idle_timeout"]),
    })
    return view, keys


def _bool(value):
    return "true" if value else "false"


def check_web_acl_arn(arn, region):
    if arn is None or arn == "" or is_unknown(arn):
        return arn
    match = _WEB_ACL_ARN.match(arn)
    if not match:
        raise InputError("web_acl_arn: {0!r} is not the ARN of a WAFv2 web ACL (arn:aws:wafv2:<region>:<account>:regional/webacl/"
                         "<name>/<id>).".format(arn))
    if match.group(4) != "regional":
        raise InputError("web_acl_arn: {0} is a CLOUDFRONT web ACL; a load balancer is protected by a REGIONAL one of its own "
                         "region (waf with scope REGIONAL).".format(arn))
    if region and match.group(2) != region:
        raise InputError("web_acl_arn: the web ACL {0} is in {1}, the load balancer in {2}; a regional web ACL protects resources of "
                         "its own region only.".format(arn, match.group(2), region))
    return arn


def build_spec(params, region=None):
    """All checks that need no API call, in the order a person reads the options; the normalised desired state."""
    spec = {"state": params.get("state") or "present", "name": check_lb_name(params.get("name"))}
    wait_timeout = params.get("wait_timeout")
    spec["wait"] = params.get("wait", True) is not False
    spec["wait_timeout"] = 600 if wait_timeout is None else wait_timeout
    if spec["wait_timeout"] < 1:
        raise InputError("wait_timeout: must be at least 1 second; got {0}.".format(spec["wait_timeout"]))
    target_sg = params.get("target_security_group_id")
    if target_sg and not is_unknown(target_sg) and not _SECURITY_GROUP.match(target_sg):
        raise InputError("target_security_group_id: {0!r} is not a security group id.".format(target_sg))
    spec["target_security_group_id"] = target_sg or None
    if spec["state"] == "absent":
        return spec
    spec["scheme"] = params.get("scheme") or "internet-facing"
    spec["ip_address_type"] = params.get("ip_address_type") or "ipv4"
    if not params.get("subnet_ids"):
        raise InputError("subnet_ids: required with state=present (at least two subnets in different Availability Zones).")
    spec["subnet_ids"] = _check_ids("subnet_ids", params.get("subnet_ids"), _SUBNET, "subnet", minimum=2)
    groups = params.get("security_group_ids")
    spec["security_group_ids"] = None if groups is None else _check_ids(
        "security_group_ids", groups, _SECURITY_GROUP, "security group", minimum=1, maximum=MAX_SECURITY_GROUPS)
    vpc_id = params.get("vpc_id")
    if vpc_id and not is_unknown(vpc_id) and not _VPC.match(vpc_id):
        raise InputError("vpc_id: {0!r} is not a VPC id.".format(vpc_id))
    spec["vpc_id"] = vpc_id or None
    if not params.get("certificate_arn"):
        raise InputError("certificate_arn: required with state=present (the HTTPS listener's default certificate).")
    spec["certificate_arn"] = check_certificate_arn("certificate_arn", params["certificate_arn"], region)
    additional = []
    for index, arn in enumerate(params.get("additional_certificate_arns") or []):
        field = "additional_certificate_arns[{0}]".format(index)
        check_certificate_arn(field, arn, region)
        if arn in additional or arn == spec["certificate_arn"]:
            raise InputError("{0}: {1} is listed twice (or is the default certificate_arn).".format(field, arn))
        additional.append(arn)
    if len(additional) > MAX_CERTIFICATES:
        raise InputError("additional_certificate_arns: at most {0} certificates besides the default; got {1}.".format(MAX_CERTIFICATES, len(additional)))
    spec["additional_certificate_arns"] = sorted(additional)
    spec["ssl_policy"] = check_ssl_policy(params.get("ssl_policy") or ARGUMENT_SPEC["ssl_policy"]["default"],
                                          bool(params.get("allow_legacy_tls")))
    spec["http_redirect"] = params.get("http_redirect", True) is not False
    spec["target_groups"] = check_target_groups(params.get("target_groups"), spec["vpc_id"])
    spec["rules"] = check_rules(params.get("rules"), {group["name"] for group in spec["target_groups"]})
    spec["default_action"] = check_default_action(params.get("default_action"))
    spec["attributes_view"], spec["attributes"] = check_attributes(params.get("attributes"))
    spec["web_acl_arn"] = check_web_acl_arn(params.get("web_acl_arn"), region)
    return spec


# ---- API shapes ------------------------------------------------------------------------------
def fixed_response(action):
    return {"Type": "fixed-response", "FixedResponseConfig": {
        "StatusCode": action["status_code"], "ContentType": action["content_type"], "MessageBody": action["message_body"]}}


REDIRECT_ACTION = {"Type": "redirect", "RedirectConfig": {
    "Protocol": "HTTPS", "Port": str(HTTPS_PORT), "Host": "#{host}", "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}


def redirect_view():
    return {"redirect": "HTTPS:443 #{host}/#{path}?#{query}", "status_code": "HTTP_301"}


def action_view(actions, names):
    """A listener's or rule's actions in the plan's words: fixed response, redirect, or the target group by name."""
    views = []
    for action in sorted(actions or [], key=lambda item: item.get("Order", 0)):
        kind = action.get("Type")
        if kind == "fixed-response":
            config = action.get("FixedResponseConfig") or {}
            views.append({"fixed_response": {"status_code": config.get("StatusCode"), "content_type": config.get("ContentType"),
                                             "message_body": config.get("MessageBody") or ""}})
        elif kind == "redirect":
            config = action.get("RedirectConfig") or {}
            views.append({"redirect": "{0}:{1} {2}{3}?{4}".format(config.get("Protocol"), config.get("Port"), config.get("Host"),
                                                                  config.get("Path"), config.get("Query")),
                          "status_code": config.get("StatusCode")})
        elif kind == "forward":
            arns = [action["TargetGroupArn"]] if action.get("TargetGroupArn") else [
                group.get("TargetGroupArn") for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []]
            views.append({"forward": [names.get(arn, arn) for arn in arns]})
        else:
            views.append({kind: "(not managed by cairn.platform)"})
    return views


def conditions_of(rule):
    """(path patterns, host headers) of a rule as AWS returns it; other condition types reported as such."""
    paths, hosts, other = [], [], []
    for condition in rule.get("Conditions") or []:
        field = condition.get("Field")
        if field == "path-pattern":
            paths.extend((condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or [])
        elif field == "host-header":
            hosts.extend((condition.get("HostHeaderConfig") or {}).get("Values") or condition.get("Values") or [])
        else:
            other.append(field)
    return paths, hosts, other


def rule_conditions(rule):
    conditions = []
    if rule["path_patterns"]:
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": list(rule["path_patterns"])}})
    if rule["host_headers"]:
        conditions.append({"Field": "host-header", "HostHeaderConfig": {"Values": list(rule["host_headers"])}})
    return conditions


def arn_suffix(arn, marker):
    """The part of an ARN from `marker` on (targetgroup/<name>/<id>, as CloudWatch's TargetGroup dimension names it)."""
    if not arn or is_unknown(arn):
        return UNKNOWN
    return marker + arn.split(":" + marker, 1)[1] if (":" + marker) in arn else arn


def health_check_view(group):
    """A target group's health check as the module's options read it."""
    return {
        "path": group.get("HealthCheckPath"), "port": str(group.get("HealthCheckPort")), "protocol": group.get("HealthCheckProtocol"),
        "interval_seconds": group.get("HealthCheckIntervalSeconds"), "timeout_seconds": group.get("HealthCheckTimeoutSeconds"),
        "healthy_threshold": group.get("HealthyThresholdCount"), "unhealthy_threshold": group.get("UnhealthyThresholdCount"),
        "matcher": (group.get("Matcher") or {}).get("HttpCode"),
    }


def health_check_params(settings):
    return {
        "HealthCheckProtocol": settings["protocol"], "HealthCheckPort": settings["port"], "HealthCheckEnabled": True,
        "HealthCheckPath": settings["path"], "HealthCheckIntervalSeconds": settings["interval_seconds"],
        "HealthCheckTimeoutSeconds": settings["timeout_seconds"], "HealthyThresholdCount": settings["healthy_threshold"],
        "UnhealthyThresholdCount": settings["unhealthy_threshold"], "Matcher": {"HttpCode": settings["matcher"]},
    }


def tg_attribute_keys(group):
    keys = {"deregistration_delay.timeout_seconds": str(group["deregistration_delay"])}
    if group["slow_start"] is not None:
        keys["slow_start.duration_seconds"] = str(group["slow_start"])
    return keys


def target_ports(spec):
    """The ports the load balancer opens to its targets: each group's port and numbered health-check port."""
    ports = set()
    for group in spec["target_groups"]:
        ports.add(group["port"])
        if group["health_check"]["port"] != "traffic-port":
            ports.add(int(group["health_check"]["port"]))
    return sorted(ports)


def sg_rule_label(group_id, source_id, port):
    return "{0} tcp/{1} from {2}".format(group_id, port, source_id)


def _chunks(items, size):
    return [items[index:index + size] for index in range(0, len(items), size)]


class LoadBalancerConverger:
    """Reads the load balancer with everything it owns, then converges it aspect by aspect."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.name = spec["name"]
        self.owner = cm.ownership()
        self.check_mode = cm.check_mode
        self.elb = cm.client("elbv2")
        self.clock = WaitClock(spec["wait_timeout"])
        self.lb = None
        self.lb_tags = {}
        self.created = False
        self.groups = {}  # name -> {"group": TargetGroup, "tags": {}, "attributes": {}}
        self.attributes = {}
        self.listeners = {}  # "HTTPS:443" -> Listener
        self.rules = {}  # listener key -> [Rule] (without the default rule)
        self.certificates = []  # the HTTPS listener's certificates: [{CertificateArn, IsDefault}]
        self.web_acl_arn = None
        self.target_rules = []  # SecurityGroupRules of the target group (ingress)
        self.owned_rules = []  # SecurityGroupRules tagged as ours, anywhere

    # ---- read ----------------------------------------------------------------------------
    def read(self, scan_all_groups=False):
        with self.cm.doing("reading load balancer " + self.name):
            try:
                found = self.elb.describe_load_balancers(Names=[self.name])["LoadBalancers"]
            except Exception as exc:
                if error_code(exc) != "LoadBalancerNotFound":
                    raise
                found = []
        self.lb = found[0] if found else None
        if self.lb is not None and self.lb.get("Type") != "application":
            raise CairnError("name: {0} is a {1} load balancer; this module manages Application Load Balancers only. Choose another "
                             "name.".format(self.name, self.lb.get("Type")))
        lb_arn = self.lb["LoadBalancerArn"] if self.lb else None
        with self.cm.doing("listing the target groups"):
            all_groups = paginate(self.elb, "describe_target_groups", "TargetGroups", PaginationConfig={"PageSize": 400})
        wanted = {group["name"] for group in self.spec.get("target_groups", [])}
        # Also the groups no load balancer uses: one this module created and no rule uses yet (or any more) is found by its
        # tags only, and is deleted once it is no longer listed.
        candidates = [group for group in all_groups
                      if scan_all_groups or group["TargetGroupName"] in wanted or not group.get("LoadBalancerArns")
                      or (lb_arn and lb_arn in group["LoadBalancerArns"])]
        tags = self.read_tags(([lb_arn] if lb_arn else []) + [group["TargetGroupArn"] for group in candidates])
        if self.lb:
            self.lb_tags = tags.get(lb_arn, {})
        for group in candidates:
            self.groups[group["TargetGroupName"]] = {"group": group, "tags": tags.get(group["TargetGroupArn"], {})}
        if self.lb is not None and self.owned_lb():
            self.read_lb_details()

    def read_tags(self, arns):
        tags = {}
        for chunk in _chunks(arns, 20):
            with self.cm.doing("reading the tags of the load balancer and its target groups"):
                for description in self.elb.describe_tags(ResourceArns=chunk)["TagDescriptions"]:
                    tags[description["ResourceArn"]] = boto3_tag_list_to_dict(description.get("Tags"))
        return tags

    def read_lb_details(self):
        arn = self.lb["LoadBalancerArn"]
        with self.cm.doing("reading the attributes of load balancer " + self.name):
            self.attributes = {item["Key"]: item["Value"] for item in
                               self.elb.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}
        with self.cm.doing("reading the listeners of load balancer " + self.name):
            listeners = paginate(self.elb, "describe_listeners", "Listeners", LoadBalancerArn=arn)
        for listener in listeners:
            key = "{0}:{1}".format(listener["Protocol"], listener["Port"])
            if listener["Port"] == HTTPS_PORT:
                key = HTTPS_KEY if listener["Protocol"] == "HTTPS" else key
            self.listeners[key] = listener
            with self.cm.doing("reading the rules of listener " + key):
                rules = paginate(self.elb, "describe_rules", "Rules", ListenerArn=listener["ListenerArn"])
            self.rules[key] = [rule for rule in rules if not rule.get("IsDefault")]
        https = self.listener_on(HTTPS_PORT)
        if https is not None and https["Protocol"] == "HTTPS":
            with self.cm.doing("reading the certificates of the HTTPS listener"):
                self.certificates = paginate(self.elb, "describe_listener_certificates", "Certificates", ListenerArn=https["ListenerArn"])

    def read_group_attributes(self, entry):
        if "attributes" not in entry:
            with self.cm.doing("reading the attributes of target group " + entry["group"]["TargetGroupName"]):
                entry["attributes"] = {item["Key"]: item["Value"] for item in self.elb.describe_target_group_attributes(
                    TargetGroupArn=entry["group"]["TargetGroupArn"])["Attributes"]}
        return entry["attributes"]

    def read_web_acl(self):
        if self.lb is None:
            return None
        with self.cm.doing("reading the web ACL of load balancer " + self.name):
            try:
                web_acl = self.cm.client("wafv2").get_web_acl_for_resource(ResourceArn=self.lb["LoadBalancerArn"]).get("WebACL")
            except Exception as exc:
                if error_code(exc) == "WAFNonexistentItemException":
                    return None
                raise
        return (web_acl or {}).get("ARN")

    def read_security_group_rules(self):
        ec2 = self.cm.client("ec2")
        with self.cm.doing("reading the security group rules of load balancer " + self.name):
            tagged = paginate(ec2, "describe_security_group_rules", "SecurityGroupRules", Filters=[
                {"Name": "tag:" + LB_TAG, "Values": [self.name]}, {"Name": "tag:" + STACK_TAG, "Values": [self.owner.stack]}])
        self.owned_rules = [rule for rule in tagged if self.owned_rule(rule)]
        target = self.spec.get("target_security_group_id")
        if target and not is_unknown(target):
            with self.cm.doing("reading the rules of security group " + target):
                rules = paginate(ec2, "describe_security_group_rules", "SecurityGroupRules", Filters=[{"Name": "group-id", "Values": [target]}])
            self.target_rules = [rule for rule in rules if not rule.get("IsEgress")]

    # ---- ownership -------------------------------------------------------------------------
    def owned_lb(self):
        return self.owner.owns(self.lb_tags)

    def owned_group(self, entry):
        return self.owner.owns(entry["tags"]) and entry["tags"].get(LB_TAG) == self.name

    def owned_rule(self, rule):
        tags = boto3_tag_list_to_dict(rule.get("Tags"))
        return self.owner.owns(tags) and tags.get(LB_TAG) == self.name

    def desired_tags(self, name):
        return self.owner.desired_tags(name=name, extra={LB_TAG: self.name})

    def listener_on(self, port):
        for listener in self.listeners.values():
            if listener["Port"] == port:
                return listener
        return None

    def group_arns(self):
        """{name: ARN} of the target groups as they are (or will be) after their convergence."""
        return {name: entry["group"]["TargetGroupArn"] for name, entry in self.groups.items()}

    def group_names(self):
        return {entry["group"]["TargetGroupArn"]: name for name, entry in self.groups.items()}

    # ---- preflight -------------------------------------------------------------------------
    def preflight(self):
        """Every refusal that needs the current state, before the first write."""
        spec = self.spec
        if self.lb is not None:
            if not self.owned_lb():
                raise CairnError("name: load balancer {0} exists without the ownership tags of stack {1}; cairn.platform never takes over "
                                 "a load balancer it does not own. Choose another name, or tag it by hand to adopt it.".format(
                                     self.name, self.owner.stack))
            if self.lb.get("Scheme") != spec["scheme"]:
                raise CairnError("scheme: load balancer {0} is {1}; AWS cannot change the scheme of a load balancer. Remove it "
                                 "(state=absent) and create it again, or choose another name.".format(self.name, self.lb.get("Scheme")))
            if spec["vpc_id"] and not is_unknown(spec["vpc_id"]) and self.lb.get("VpcId") != spec["vpc_id"]:
                raise CairnError("vpc_id: load balancer {0} is in {1}, not {2}; a load balancer cannot move to another VPC. Remove it "
                                 "(state=absent) first, or choose another name.".format(self.name, self.lb.get("VpcId"), spec["vpc_id"]))
        for index, group in enumerate(spec["target_groups"]):
            entry = self.groups.get(group["name"])
            if entry is None:
                continue
            field = "target_groups[{0}]".format(index)
            if not self.owned_group(entry):
                raise CairnError("{0}.name: target group {1} exists without the ownership tags of load balancer {2} of stack {3}; "
                                 "cairn.platform never takes over a target group it does not own. Choose another name.".format(
                                     field, group["name"], self.name, self.owner.stack))
            current = entry["group"]
            for key, aws_key in (("port", "Port"), ("protocol", "Protocol"), ("target_type", "TargetType"), ("vpc_id", "VpcId")):
                if is_unknown(group[key]) or current.get(aws_key) == group[key]:
                    continue
                raise CairnError(
                    "{0}.{1}: target group {2} has {1} {3}; AWS fixes a target group's port, protocol, target type and VPC when it "
                    "is created, so it cannot become {4}. Give the group a new name (for example {2}-v2) and point the rules at it: "
                    "the module then creates the new group, moves the rules to it and deletes the old one.".format(
                        field, key, group["name"], current.get(aws_key), group[key]))
        self.check_certificates()

    def certificates_to_attach(self):
        """The certificates this run attaches to the HTTPS listener (new, or replacing the current ones)."""
        current = {item["CertificateArn"] for item in self.certificates}
        wanted = [self.spec["certificate_arn"]] + list(self.spec["additional_certificate_arns"])
        return [arn for arn in wanted if arn not in current]

    def check_certificates(self):
        """AWS attaches only ISSUED ACM certificates (UnsupportedCertificate otherwise); the emulator attaches any: check first."""
        for arn in self.certificates_to_attach():
            if is_unknown(arn) or not is_acm_arn(arn):
                continue
            field = "certificate_arn" if arn == self.spec["certificate_arn"] else "additional_certificate_arns"
            with self.cm.doing("reading certificate " + arn):
                try:
                    certificate = self.cm.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
                except Exception as exc:
                    if error_code(exc) == "ResourceNotFoundException":
                        raise CairnError("{0}: certificate {1} does not exist in ACM ({2}); request or import it first "
                                         "(acm_certificates).".format(field, arn, self.cm.connection.region))
                    raise
            status = certificate.get("Status")
            if status == "ISSUED":
                continue
            message = ("{0}: certificate {1} ({2}) is {3}, not ISSUED; AWS attaches only issued certificates to a listener "
                       "(UnsupportedCertificate).".format(field, arn, certificate.get("DomainName"), status))
            if status == "PENDING_VALIDATION":
                message += " Finish its DNS validation (acm_certificates writes the records and waits) and rerun."
            else:
                message += " Request a new certificate and point {0} at it.".format(field)
            if not self.check_mode:
                raise CairnError(message, certificate_status=status)
            self.cm.module.warn(message)

    # ---- present --------------------------------------------------------------------------
    def present(self):
        self.read()
        if self.spec["web_acl_arn"] is not None:
            self.web_acl_arn = self.read_web_acl()
        self.read_security_group_rules()
        self.preflight()
        self.converge_load_balancer()
        self.converge_attributes()
        self.converge_target_groups()
        https = self.converge_https_listener()
        http = self.converge_http_listener()
        self.delete_other_listeners()
        rules = self.converge_rules(https)
        self.prune_rules_of_http_listener()
        self.prune_target_groups()
        self.converge_web_acl()
        sg_rules = self.converge_security_group_rules()
        return self.result(https, http, rules, sg_rules)

    def lb_view(self):
        spec = self.spec
        return {"scheme": spec["scheme"], "subnet_ids": spec["subnet_ids"], "security_group_ids": spec["security_group_ids"],
                "ip_address_type": spec["ip_address_type"]}

    def converge_load_balancer(self):
        spec = self.spec
        tags = self.desired_tags(self.name)
        if self.lb is None:
            desired = dict(self.lb_view(), tags=tags, attributes=self.attribute_changes(dict(ATTRIBUTE_DEFAULTS))[1])
            if not self.plan.create("load_balancer", self.name, desired):
                return
            kwargs = {"Name": self.name, "Subnets": spec["subnet_ids"], "Scheme": spec["scheme"], "Type": "application",
                      "IpAddressType": spec["ip_address_type"], "Tags": dict_to_boto3_tag_list(tags)}
            if spec["security_group_ids"] is not None:
                kwargs["SecurityGroups"] = spec["security_group_ids"]
            with self.cm.doing("creating load balancer " + self.name):
                self.lb = self.elb.create_load_balancer(**kwargs)["LoadBalancers"][0]
            self.lb_tags = tags
            self.created = True
            if spec["wait"]:
                with self.cm.doing("waiting for load balancer {0} to be active".format(self.name)):
                    self.clock.waiter(self.elb, "load_balancer_available", "load balancer {0} to be active".format(self.name),
                                      delay=10, LoadBalancerArns=[self.lb["LoadBalancerArn"]])
            return
        arn = self.lb["LoadBalancerArn"]
        current_subnets = sorted(zone["SubnetId"] for zone in self.lb.get("AvailabilityZones") or [])
        if self.plan.update("load_balancer", self.name, {"subnet_ids": current_subnets}, {"subnet_ids": spec["subnet_ids"]}):
            with self.cm.doing("setting the subnets of load balancer " + self.name):
                self.lb["AvailabilityZones"] = self.elb.set_subnets(LoadBalancerArn=arn, Subnets=spec["subnet_ids"])["AvailabilityZones"]
        if spec["security_group_ids"] is not None:
            current = sorted(self.lb.get("SecurityGroups") or [])
            if self.plan.update("load_balancer", self.name, {"security_group_ids": current}, {"security_group_ids": spec["security_group_ids"]}):
                with self.cm.doing("setting the security groups of load balancer " + self.name):
                    self.lb["SecurityGroups"] = self.elb.set_security_groups(
                        LoadBalancerArn=arn, SecurityGroups=spec["security_group_ids"])["SecurityGroupIds"]
        if self.plan.update("load_balancer", self.name, {"ip_address_type": self.lb.get("IpAddressType")},
                            {"ip_address_type": spec["ip_address_type"]}):
            with self.cm.doing("setting the IP address type of load balancer " + self.name):
                self.lb["IpAddressType"] = self.elb.set_ip_address_type(
                    LoadBalancerArn=arn, IpAddressType=spec["ip_address_type"])["IpAddressType"]
        self.reconcile_tags("load_balancer", self.name, arn, self.lb_tags, tags)

    def reconcile_tags(self, resource_type, label, arn, current, desired):
        apply_tag_changes(
            self.cm, self.plan, self.owner, resource_type, label, current, desired,
            action="tagging {0} {1}".format(resource_type.replace("_", " "), label),
            add=lambda to_set: self.elb.add_tags(ResourceArns=[arn], Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: self.elb.remove_tags(ResourceArns=[arn], TagKeys=to_remove))

    def attribute_changes(self, current):
        """({key: value} to write, the same as the plan shows it): only the managed keys that differ."""
        desired = self.spec["attributes"]
        current = dict(ATTRIBUTE_DEFAULTS, **current)
        changed = {key: value for key, value in desired.items() if current.get(key) != value}
        # A log's bucket and prefix are written with its switch, so AWS checks them together.
        for log in ("access_logs", "connection_logs"):
            if any(key.startswith(log + ".") for key in changed):
                changed.update({key: value for key, value in desired.items() if key.startswith(log + ".")})
        return changed, {key: changed[key] for key in sorted(changed)}

    def converge_attributes(self):
        if self.created or self.lb is None:
            # A new load balancer starts with AWS's defaults: its create planned the attributes that differ.
            changed = self.attribute_changes(dict(ATTRIBUTE_DEFAULTS))[0]
            write = bool(changed) and self.lb is not None and not self.check_mode
        else:
            changed, _view = self.attribute_changes(self.attributes)
            current = dict(ATTRIBUTE_DEFAULTS, **self.attributes)
            write = self.plan.update("load_balancer_attributes", self.name, {key: current.get(key) for key in sorted(changed)},
                                     {key: changed[key] for key in sorted(changed)})
        if write:
            self.write_attributes(changed)

    def write_attributes(self, changed):
        with self.cm.doing("setting the attributes of load balancer " + self.name):
            try:
                self.elb.modify_load_balancer_attributes(
                    LoadBalancerArn=self.lb["LoadBalancerArn"],
                    Attributes=[{"Key": key, "Value": value} for key, value in sorted(changed.items())])
            except Exception as exc:
                if error_code(exc) in ("InvalidConfigurationRequest", "AccessDenied") and any("logs" in key for key in changed):
                    raise CairnError(
                        "attributes: AWS refused the log settings of load balancer {0}: {1}. The bucket must exist in the load "
                        "balancer's region and its policy must let Elastic Load Balancing write to the prefix (s3_buckets sets "
                        "this for the logs bucket).".format(self.name, exc), error_code=error_code(exc))
                raise

    def group_view(self, group):
        return {"port": group["port"], "protocol": group["protocol"], "target_type": group["target_type"], "vpc_id": group["vpc_id"],
                "health_check": group["health_check"], "deregistration_delay": group["deregistration_delay"],
                "slow_start": group["slow_start"]}

    def converge_target_groups(self):
        for group in self.spec["target_groups"]:
            name = group["name"]
            entry = self.groups.get(name)
            tags = self.desired_tags(name)
            if entry is None:
                self.create_target_group(group, tags)
                continue
            arn = entry["group"]["TargetGroupArn"]
            before = health_check_view(entry["group"])
            if self.plan.update("target_group", name, {"health_check": before}, {"health_check": group["health_check"]}):
                with self.cm.doing("changing the health check of target group " + name):
                    entry["group"] = self.elb.modify_target_group(TargetGroupArn=arn, **health_check_params(group["health_check"]))["TargetGroups"][0]
            current = dict(TG_ATTRIBUTE_DEFAULTS, **self.read_group_attributes(entry))
            desired = tg_attribute_keys(group)
            changed = {key: value for key, value in desired.items() if current.get(key) != value}
            if self.plan.update("target_group_attributes", name, {key: current.get(key) for key in sorted(changed)}, changed):
                self.write_group_attributes(name, arn, changed)
            self.reconcile_tags("target_group", name, arn, entry["tags"], tags)

    def create_target_group(self, group, tags):
        name = group["name"]
        self.groups[name] = {"group": {"TargetGroupArn": UNKNOWN, "TargetGroupName": name, "Port": group["port"],
                                       "Protocol": group["protocol"], "TargetType": group["target_type"],
                                       "HealthCheckPath": group["health_check"]["path"]},
                             "tags": tags, "created": True}
        if not self.plan.create("target_group", name, dict(self.group_view(group), tags=tags)):
            return
        with self.cm.doing("creating target group " + name):
            created = self.elb.create_target_group(
                Name=name, Protocol=group["protocol"], Port=group["port"], VpcId=group["vpc_id"], TargetType=group["target_type"],
                Tags=dict_to_boto3_tag_list(tags), **health_check_params(group["health_check"]))["TargetGroups"][0]
        self.groups[name]["group"] = created
        changed = {key: value for key, value in tg_attribute_keys(group).items() if TG_ATTRIBUTE_DEFAULTS.get(key) != value}
        if changed:
            self.write_group_attributes(name, created["TargetGroupArn"], changed)

    def write_group_attributes(self, name, arn, changed):
        with self.cm.doing("setting the attributes of target group " + name):
            self.elb.modify_target_group_attributes(
                TargetGroupArn=arn, Attributes=[{"Key": key, "Value": value} for key, value in sorted(changed.items())])

    # ---- listeners -------------------------------------------------------------------------
    def https_view(self):
        spec = self.spec
        return {"protocol": "HTTPS", "ssl_policy": spec["ssl_policy"], "certificate_arn": spec["certificate_arn"],
                "default_action": action_view([fixed_response(spec["default_action"])], {})}

    def current_https_view(self, listener):
        default = [item["CertificateArn"] for item in self.certificates if item.get("IsDefault")]
        if not default:
            default = [item["CertificateArn"] for item in (listener.get("Certificates") or [])[:1]]
        return {"protocol": listener["Protocol"], "ssl_policy": listener.get("SslPolicy") if listener["Protocol"] == "HTTPS" else None,
                "certificate_arn": default[0] if default else None,
                "default_action": action_view(listener.get("DefaultActions"), self.group_names())}

    def converge_https_listener(self):
        spec = self.spec
        listener = self.listener_on(HTTPS_PORT)
        desired = self.https_view()
        if listener is None:
            self.listeners[HTTPS_KEY] = {"ListenerArn": UNKNOWN, "Port": HTTPS_PORT, "Protocol": "HTTPS"}
            if not self.plan.create("listener", HTTPS_KEY, dict(desired, additional_certificate_arns=spec["additional_certificate_arns"])):
                return self.listeners[HTTPS_KEY]
            with self.cm.doing("creating the HTTPS listener of load balancer " + self.name):
                listener = self.write_listener(self.elb.create_listener, LoadBalancerArn=self.lb["LoadBalancerArn"], Protocol="HTTPS",
                                               Port=HTTPS_PORT, SslPolicy=spec["ssl_policy"],
                                               Certificates=[{"CertificateArn": spec["certificate_arn"]}],
                                               DefaultActions=[fixed_response(spec["default_action"])],
                                               Tags=dict_to_boto3_tag_list(self.desired_tags(self.name + " " + HTTPS_KEY)))
            self.listeners[HTTPS_KEY] = listener
            self.certificates = [{"CertificateArn": spec["certificate_arn"], "IsDefault": True}]
            self.converge_listener_certificates(listener, planned=True)
            return listener
        current = self.current_https_view(listener)
        if self.plan.update("listener", HTTPS_KEY, current, desired):
            kwargs = {"ListenerArn": listener["ListenerArn"]}
            if current["protocol"] != "HTTPS":
                kwargs["Protocol"] = "HTTPS"
            if current["ssl_policy"] != desired["ssl_policy"] or "Protocol" in kwargs:
                kwargs["SslPolicy"] = spec["ssl_policy"]
            if current["certificate_arn"] != desired["certificate_arn"] or "Protocol" in kwargs:
                kwargs["Certificates"] = [{"CertificateArn": spec["certificate_arn"]}]
            if current["default_action"] != desired["default_action"]:
                kwargs["DefaultActions"] = [fixed_response(spec["default_action"])]
            with self.cm.doing("changing the HTTPS listener of load balancer " + self.name):
                listener = self.write_listener(self.elb.modify_listener, **kwargs)
            self.listeners[HTTPS_KEY] = listener
            if "Certificates" in kwargs:
                self.certificates = [item for item in self.certificates if not item.get("IsDefault")
                                     and item["CertificateArn"] != spec["certificate_arn"]] + [
                    {"CertificateArn": spec["certificate_arn"], "IsDefault": True}]
        self.converge_listener_certificates(listener)
        return listener

    def write_listener(self, call, **kwargs):
        try:
            return call(**kwargs)["Listeners"][0]
        except Exception as exc:
            if error_code(exc) in ("UnsupportedCertificate", "CertificateNotFound"):
                raise CairnError(
                    "certificate_arn: AWS refused certificate {0} for the HTTPS listener of {1} ({2}): only ISSUED ACM certificates "
                    "(or IAM server certificates) of the load balancer's region can be attached.".format(
                        self.spec["certificate_arn"], self.name, error_code(exc)), error_code=error_code(exc))
            raise

    def converge_listener_certificates(self, listener, planned=False):
        """The SNI certificate list; on a new listener its create already planned them."""
        spec = self.spec
        current = sorted(item["CertificateArn"] for item in self.certificates if not item.get("IsDefault"))
        wanted = spec["additional_certificate_arns"]
        if current == wanted:
            return
        write = (not self.check_mode) if planned else self.plan.update(
            "listener_certificates", HTTPS_KEY, {"additional_certificate_arns": current}, {"additional_certificate_arns": wanted})
        if not write:
            return
        to_add = [arn for arn in wanted if arn not in current]
        to_remove = [arn for arn in current if arn not in wanted]
        with self.cm.doing("changing the certificate list of the HTTPS listener"):
            if to_add:
                self.elb.add_listener_certificates(ListenerArn=listener["ListenerArn"], Certificates=[{"CertificateArn": arn} for arn in to_add])
            if to_remove:
                self.elb.remove_listener_certificates(ListenerArn=listener["ListenerArn"],
                                                      Certificates=[{"CertificateArn": arn} for arn in to_remove])

    def converge_http_listener(self):
        listener = self.listener_on(HTTP_PORT)
        if not self.spec["http_redirect"]:
            if listener is not None:
                self.delete_listener("{0}:{1}".format(listener["Protocol"], HTTP_PORT), listener)
            return None
        desired = {"protocol": "HTTP", "default_action": [redirect_view()]}
        if listener is None:
            self.listeners[HTTP_KEY] = {"ListenerArn": UNKNOWN, "Port": HTTP_PORT, "Protocol": "HTTP"}
            if not self.plan.create("listener", HTTP_KEY, desired):
                return self.listeners[HTTP_KEY]
            with self.cm.doing("creating the HTTP listener of load balancer " + self.name):
                listener = self.elb.create_listener(LoadBalancerArn=self.lb["LoadBalancerArn"], Protocol="HTTP", Port=HTTP_PORT,
                                                    DefaultActions=[REDIRECT_ACTION],
                                                    Tags=dict_to_boto3_tag_list(self.desired_tags(self.name + " " + HTTP_KEY)))["Listeners"][0]
            self.listeners[HTTP_KEY] = listener
            return listener
        current = {"protocol": listener["Protocol"], "default_action": action_view(listener.get("DefaultActions"), self.group_names())}
        if self.plan.update("listener", HTTP_KEY, current, desired):
            kwargs = {"ListenerArn": listener["ListenerArn"], "DefaultActions": [REDIRECT_ACTION]}
            if listener["Protocol"] != "HTTP":
                kwargs["Protocol"] = "HTTP"
            with self.cm.doing("changing the HTTP listener of load balancer " + self.name):
                listener = self.elb.modify_listener(**kwargs)["Listeners"][0]
            self.listeners[HTTP_KEY] = listener
        return listener

    def delete_listener(self, key, listener):
        if self.plan.delete("listener", key, {"protocol": listener["Protocol"], "port": listener["Port"]},
                            note="its rules go with it" if self.rules.get(key) else None):
            with self.cm.doing("deleting listener {0} of load balancer {1}".format(key, self.name)):
                self.elb.delete_listener(ListenerArn=listener["ListenerArn"])
        for candidate, value in list(self.listeners.items()):
            if value is listener:
                del self.listeners[candidate]
        self.rules.pop(key, None)

    def delete_other_listeners(self):
        for key, listener in sorted(self.listeners.items()):
            if listener["Port"] not in (HTTP_PORT, HTTPS_PORT):
                self.delete_listener(key, listener)

    # ---- rules -----------------------------------------------------------------------------
    def rule_view(self, rule):
        return {"path_patterns": rule["path_patterns"], "host_headers": rule["host_headers"], "forward": [rule["target_group"]]}

    def current_rule_view(self, rule):
        paths, hosts, other = conditions_of(rule)
        view = {"path_patterns": paths, "host_headers": hosts}
        if other:
            view["other_conditions"] = other
        actions = action_view(rule.get("Actions"), self.group_names())
        view["forward"] = actions[0]["forward"] if len(actions) == 1 and "forward" in actions[0] else actions
        return view

    def converge_rules(self, listener):
        arns = self.group_arns()
        current = {int(rule["Priority"]): rule for rule in self.rules.get(HTTPS_KEY, [])}
        results = []
        for rule in self.spec["rules"]:
            priority = rule["priority"]
            label = "{0} priority {1}".format(HTTPS_KEY, priority)
            actions = [{"Type": "forward", "TargetGroupArn": arns[rule["target_group"]]}]
            existing = current.pop(priority, None)
            arn = existing["RuleArn"] if existing else UNKNOWN
            if existing is None:
                if self.plan.create("listener_rule", label, self.rule_view(rule)):
                    arn = self.create_rule(listener, rule, actions, label)
            elif self.plan.update("listener_rule", label, self.current_rule_view(existing), self.rule_view(rule)):
                with self.cm.doing("changing rule " + label):
                    self.elb.modify_rule(RuleArn=existing["RuleArn"], Conditions=rule_conditions(rule), Actions=actions)
            results.append({"priority": priority, "arn": arn, "path_patterns": rule["path_patterns"], "host_headers": rule["host_headers"],
                            "target_group": rule["target_group"], "target_group_arn": arns[rule["target_group"]]})
        for priority, existing in sorted(current.items()):
            label = "{0} priority {1}".format(HTTPS_KEY, priority)
            if self.plan.delete("listener_rule", label, self.current_rule_view(existing)):
                with self.cm.doing("deleting rule " + label):
                    self.elb.delete_rule(RuleArn=existing["RuleArn"])
        return results

    def create_rule(self, listener, rule, actions, label):
        tags = dict_to_boto3_tag_list(self.desired_tags("{0} {1}".format(self.name, label)))
        with self.cm.doing("creating rule " + label):
            try:
                return self.elb.create_rule(ListenerArn=listener["ListenerArn"], Priority=rule["priority"], Conditions=rule_conditions(rule),
                                            Actions=actions, Tags=tags)["Rules"][0]["RuleArn"]
            except Exception as exc:
                if error_code(exc) != "PriorityInUse":
                    raise
                # A retried create whose first attempt went through: accept the rule if it is the one asked for.
                for existing in paginate(self.elb, "describe_rules", "Rules", ListenerArn=listener["ListenerArn"]):
                    if existing.get("Priority") == str(rule["priority"]) and self.current_rule_view(existing) == self.rule_view(rule):
                        return existing["RuleArn"]
                raise

    def prune_rules_of_http_listener(self):
        """Rules on port 80 would answer before the redirect: the listener is the module's, so they go."""
        for rule in self.rules.get(HTTP_KEY, []):
            label = "{0} priority {1}".format(HTTP_KEY, rule["Priority"])
            if self.plan.delete("listener_rule", label, self.current_rule_view(rule)):
                with self.cm.doing("deleting rule " + label):
                    self.elb.delete_rule(RuleArn=rule["RuleArn"])

    def prune_target_groups(self):
        wanted = {group["name"] for group in self.spec["target_groups"]}
        for name, entry in sorted(self.groups.items()):
            if name in wanted or not self.owned_group(entry):
                continue
            self.delete_target_group(name, entry)
            del self.groups[name]

    def delete_target_group(self, name, entry):
        group = entry["group"]
        if not self.plan.delete("target_group", name, {"port": group.get("Port"), "protocol": group.get("Protocol")}):
            return
        with self.cm.doing("deleting target group " + name):
            try:
                self.elb.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
            except Exception as exc:
                if error_code(exc) == "ResourceInUse":
                    raise CairnError("AWS refused to delete target group {0}: another load balancer's listener or rule still forwards to "
                                     "it. Remove that rule, then rerun.".format(name), error_code="ResourceInUse")
                raise

    # ---- WAF -------------------------------------------------------------------------------
    def converge_web_acl(self):
        desired = self.spec["web_acl_arn"]
        if desired is None:
            return
        current = self.web_acl_arn
        lb_arn = self.lb["LoadBalancerArn"] if self.lb else UNKNOWN
        if desired == "":
            if current and self.plan.delete("web_acl_association", self.name, {"web_acl_arn": current}):
                with self.cm.doing("removing the web ACL of load balancer " + self.name):
                    self.cm.client("wafv2").disassociate_web_acl(ResourceArn=lb_arn)
            self.web_acl_arn = None
            return
        if current == desired:
            return
        if current is None:
            write = self.plan.create("web_acl_association", self.name, {"web_acl_arn": desired})
        else:
            write = self.plan.update("web_acl_association", self.name, {"web_acl_arn": current}, {"web_acl_arn": desired})
        self.web_acl_arn = desired
        if not write:
            return
        with self.cm.doing("associating web ACL {0} with load balancer {1}".format(desired, self.name)):
            try:
                self.cm.client("wafv2").associate_web_acl(WebACLArn=desired, ResourceArn=lb_arn)
            except Exception as exc:
                if error_code(exc) == "WAFUnavailableEntityException":
                    raise CairnError("AWS WAF cannot associate web ACL {0} with load balancer {1} yet (WAFUnavailableEntityException: "
                                     "the load balancer is still provisioning); rerun with wait: true or in a minute.".format(desired, self.name),
                                     error_code="WAFUnavailableEntityException")
                raise

    # ---- security group rules --------------------------------------------------------------
    def source_groups(self):
        if self.spec.get("security_group_ids") is not None:
            return self.spec["security_group_ids"]
        if self.lb is not None:
            return sorted(self.lb.get("SecurityGroups") or [])
        return [UNKNOWN]

    def covering_rule(self, source, port):
        """A rule of the target group, ours or not, that already lets `source` reach `port` over TCP."""
        for rule in self.target_rules:
            if (rule.get("ReferencedGroupInfo") or {}).get("GroupId") != source:
                continue
            if rule.get("IpProtocol") == "-1" or (rule.get("IpProtocol") == "tcp" and rule.get("FromPort", 0) <= port <= rule.get("ToPort", -1)):
                return rule
        return None

    def converge_security_group_rules(self):
        target = self.spec.get("target_security_group_id")
        desired = []
        if target:
            desired = [(source, port) for source in self.source_groups() for port in target_ports(self.spec)]
        owned = {}
        for rule in self.owned_rules:
            source = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if (rule["GroupId"] == target and rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == rule.get("ToPort")
                    and not rule.get("IsEgress")):
                owned.setdefault((source, rule["FromPort"]), rule)
        results, keep = [], set()
        ec2 = self.cm.client("ec2")
        for source, port in desired:
            label = sg_rule_label(target, source, port)
            rule = owned.get((source, port))
            if rule is not None:
                keep.add(rule["SecurityGroupRuleId"])
                self.reconcile_rule_tags(ec2, rule, label)
                results.append({"id": rule["SecurityGroupRuleId"], "group_id": target, "source_group_id": source, "port": port, "managed": True})
                continue
            existing = None if is_unknown(source) else self.covering_rule(source, port)
            if existing is not None:
                results.append({"id": existing["SecurityGroupRuleId"], "group_id": target, "source_group_id": source, "port": port,
                                "managed": False})
                continue
            rule_id = UNKNOWN
            tags = self.desired_tags("{0} to targets tcp/{1}".format(self.name, port))
            if self.plan.create("security_group_rule", label, {"group_id": target, "source_group_id": source, "protocol": "tcp",
                                                               "port": port, "tags": tags}):
                rule_id = self.authorize(ec2, target, source, port, tags)
            results.append({"id": rule_id, "group_id": target, "source_group_id": source, "port": port, "managed": True})
        self.revoke_rules(ec2, [rule for rule in self.owned_rules if rule["SecurityGroupRuleId"] not in keep])
        return results

    def authorize(self, ec2, target, source, port, tags):
        permission = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [
            {"GroupId": source, "Description": "cairn.platform load_balancer {0}: ALB to targets".format(self.name)[:255]}]}
        with self.cm.doing("allowing load balancer {0} to reach tcp/{1} on {2}".format(self.name, port, target)):
            try:
                answer = ec2.authorize_security_group_ingress(GroupId=target, IpPermissions=[permission],
                                                              TagSpecifications=tag_specifications("security-group-rule", tags))
            except Exception as exc:
                if error_code(exc) != "InvalidPermission.Duplicate":
                    raise
                return None  # made by someone else since the read (or a retried call): it lets the traffic through
        rules = answer.get("SecurityGroupRules") or []
        return rules[0]["SecurityGroupRuleId"] if rules else None

    def reconcile_rule_tags(self, ec2, rule, label):
        port = rule.get("FromPort")
        current = boto3_tag_list_to_dict(rule.get("Tags"))
        apply_tag_changes(
            self.cm, self.plan, self.owner, "security_group_rule", label, current,
            self.desired_tags("{0} to targets tcp/{1}".format(self.name, port)),
            action="tagging security group rule " + rule["SecurityGroupRuleId"],
            add=lambda to_set: ec2.create_tags(Resources=[rule["SecurityGroupRuleId"]], Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda to_remove: ec2.delete_tags(Resources=[rule["SecurityGroupRuleId"]], Tags=[{"Key": key} for key in to_remove]))

    def revoke_rules(self, ec2, rules):
        by_group = {}
        for rule in rules:
            source = (rule.get("ReferencedGroupInfo") or {}).get("GroupId") or rule.get("CidrIpv4") or rule.get("CidrIpv6")
            label = sg_rule_label(rule["GroupId"], source, rule.get("FromPort"))
            if self.plan.delete("security_group_rule", label, {"id": rule["SecurityGroupRuleId"]}):
                by_group.setdefault((rule["GroupId"], bool(rule.get("IsEgress"))), []).append(rule["SecurityGroupRuleId"])
        for (group_id, egress), ids in sorted(by_group.items()):
            with self.cm.doing("revoking the rules of load balancer {0} on {1}".format(self.name, group_id)):
                call = ec2.revoke_security_group_egress if egress else ec2.revoke_security_group_ingress
                call(GroupId=group_id, SecurityGroupRuleIds=sorted(ids))

    # ---- result ----------------------------------------------------------------------------
    def result(self, https, http, rules, sg_rules):
        lb = self.lb or {}
        arn = lb.get("LoadBalancerArn", UNKNOWN)
        groups = {}
        for group in self.spec["target_groups"]:
            current = self.groups[group["name"]]["group"]
            group_arn = current.get("TargetGroupArn", UNKNOWN)
            groups[group["name"]] = {"arn": group_arn, "arn_suffix": arn_suffix(group_arn, "targetgroup/") if not is_unknown(group_arn)
                                     else UNKNOWN, "port": group["port"], "protocol": group["protocol"],
                                     "target_type": group["target_type"], "health_check_path": group["health_check"]["path"]}
        return {
            "load_balancer": {
                "arn": arn, "arn_suffix": UNKNOWN if is_unknown(arn) else arn.split(":loadbalancer/", 1)[-1], "name": self.name,
                "dns_name": lb.get("DNSName", UNKNOWN), "canonical_hosted_zone_id": lb.get("CanonicalHostedZoneId", UNKNOWN),
                "scheme": self.spec["scheme"],
                "security_group_ids": sorted(lb["SecurityGroups"]) if lb.get("SecurityGroups") is not None else self.source_groups(),
                "subnet_ids": sorted(zone["SubnetId"] for zone in lb["AvailabilityZones"]) if lb.get("AvailabilityZones") else self.spec["subnet_ids"],
                "vpc_id": lb.get("VpcId") or self.spec["vpc_id"] or UNKNOWN,
                "ip_address_type": lb.get("IpAddressType", self.spec["ip_address_type"]),
            },
            "listeners": {
                "https": {"arn": https.get("ListenerArn", UNKNOWN), "port": HTTPS_PORT, "ssl_policy": self.spec["ssl_policy"],
                          "certificate_arn": self.spec["certificate_arn"],
                          "additional_certificate_arns": self.spec["additional_certificate_arns"]},
                "http": None if http is None else {"arn": http.get("ListenerArn", UNKNOWN), "port": HTTP_PORT},
            },
            "target_groups": groups,
            "rules": rules,
            "web_acl_arn": self.web_acl_arn if self.spec["web_acl_arn"] is not None else self.read_web_acl_once(),
            "attributes": self.spec["attributes_view"],
            "security_group_rules": sg_rules,
            "waited_seconds": round(self.clock.waited, 1),
        }

    def read_web_acl_once(self):
        """The association as found, when the module leaves it alone (one read, none for a load balancer it has yet to create)."""
        if self.lb is None or self.created:
            return None
        return self.read_web_acl()

    # ---- absent ---------------------------------------------------------------------------
    def absent(self):
        self.read(scan_all_groups=True)
        self.read_security_group_rules()
        if self.lb is not None:
            if not self.owned_lb():
                raise CairnError("name: load balancer {0} exists without the ownership tags of stack {1}; cairn.platform never deletes a "
                                 "load balancer it does not own.".format(self.name, self.owner.stack))
            if self.attributes.get("deletion_protection.enabled") == "true":
                raise CairnError(
                    "Load balancer {0} has deletion protection on; nothing was deleted. Set attributes.deletion_protection: false "
                    "and run with state=present first, then remove it.".format(self.name), error_code="OperationNotPermitted")
            self.delete_load_balancer()
        for name, entry in sorted(self.groups.items()):
            if self.owned_group(entry):
                self.delete_target_group(name, entry)
        self.revoke_rules(self.cm.client("ec2"), self.owned_rules)
        return {"waited_seconds": round(self.clock.waited, 1)}

    def delete_load_balancer(self):
        for key, listener in sorted(self.listeners.items()):
            for rule in self.rules.get(key, []):
                self.plan.delete("listener_rule", "{0} priority {1}".format(key, rule["Priority"]), self.current_rule_view(rule),
                                 note="deleted with its listener")
            self.delete_listener(key, listener)
        arn = self.lb["LoadBalancerArn"]
        if not self.plan.delete("load_balancer", self.name, {"arn": arn, "dns_name": self.lb.get("DNSName")}):
            return
        with self.cm.doing("deleting load balancer " + self.name):
            try:
                self.elb.delete_load_balancer(LoadBalancerArn=arn)
            except Exception as exc:
                if error_code(exc) == "OperationNotPermitted":
                    raise CairnError("AWS refused to delete load balancer {0}: deletion protection is on. Set "
                                     "attributes.deletion_protection: false and run with state=present first.".format(self.name),
                                     error_code="OperationNotPermitted")
                raise
        if any(self.owned_group(entry) for entry in self.groups.values()):
            # A target group still in use by the deleting load balancer cannot go (ResourceInUse): wait until it is gone.
            with self.cm.doing("waiting for load balancer {0} to be deleted".format(self.name)):
                self.clock.waiter(self.elb, "load_balancers_deleted", "load balancer {0} to be deleted".format(self.name),
                                  delay=10, LoadBalancerArns=[arn])


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC, required_if=REQUIRED_IF)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        converger = LoadBalancerConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
