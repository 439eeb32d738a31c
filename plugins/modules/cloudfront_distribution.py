#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cloudfront_distribution
short_description: Converge a CloudFront distribution in front of an S3 bucket, with its Origin Access Control and bucket policy statement
version_added: 0.1.0
description:
  - Creates, updates or deletes one CloudFront distribution that serves a private S3 bucket (the
    environment's maps and imagery), with a plan of every change, field by field.
  - The bucket is reached through an Origin Access Control (SigV4, every request signed, origin type S3)
    that the module creates and keeps, named after the distribution. The bucket stays private; the module
    converges one statement of the bucket's policy that lets C(cloudfront.amazonaws.com) read objects for
    this distribution only (condition C(AWS:SourceArn) is the distribution's ARN) and leaves every other
    statement as it is.
  - Viewers use HTTPS with an ACM certificate of us-east-1 and TLS 1.2 or newer; the distribution can be
    protected by a CLOUDFRONT-scope AWS WAF web ACL.
  - Caching and response headers use CloudFront's managed cache and response headers policies, by name.
  - Access logs use CloudFront standard logging (v2), delivered by CloudWatch Logs to an S3 bucket that keeps
    ACLs off (C(BucketOwnerEnforced)), which the legacy standard logging cannot write to.
  - Updates read the distribution's whole configuration with its ETag and send it back with only the
    managed fields changed (C(IfMatch)); settings made elsewhere are kept.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the distribution, its Origin Access Control, the bucket policy statement and
        the log delivery to these options.
      - V(absent) removes them. The distribution is disabled first and deleted once CloudFront has deployed
        that (a deletion CloudFront refuses otherwise), then the Origin Access Control, then the bucket policy
        statement. A run interrupted in between (or whose O(wait_timeout) ran out) is finished by the next one.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - The distribution's logical name, 1 to 40 letters, digits and C(-), starting with a letter or digit.
      - The distribution carries it as its C(Name) tag (with the ownership tags), and its
        C(CallerReference) is derived from O(stack) and the name, so a create that is retried after an
        interruption never makes a second distribution.
    type: str
    required: true
  comment:
    description:
      - The distribution's comment, up to 128 characters. Defaults to
        C(CloudFront distribution <name> of <stack> (cairn.platform)).
    type: str
  aliases:
    description:
      - The alternate domain names (CNAMEs) viewers use, for example V(assets.example.com); a leading
        C(*.) makes a wildcard. Lowercase host names, at most 100.
      - Needs O(certificate_arn), whose names must cover them (CloudFront checks that).
      - A name that another distribution serves is refused before any write.
    type: list
    elements: str
    default: []
  certificate_arn:
    description:
      - ARN of the ACM certificate viewers see (SNI). CloudFront only uses certificates of us-east-1; an ARN of
        another region is refused before any call.
      - Unset means CloudFront's own C(*.cloudfront.net) certificate, which allows no O(aliases) and with which
        CloudFront accepts TLSv1 whatever O(minimum_protocol_version) says.
    type: str
  minimum_protocol_version:
    description:
      - The oldest TLS version and cipher set viewers may use with O(certificate_arn). One of V(TLSv1.2_2018),
        V(TLSv1.2_2019), V(TLSv1.2_2021), V(TLSv1.2_2025) or V(TLSv1.3_2025); the policies that allow TLS
        1.0 or 1.1 (V(TLSv1), V(TLSv1_2016), V(TLSv1.1_2016), V(SSLv3)) are refused.
    type: str
    default: TLSv1.2_2021
  web_acl_arn:
    description:
      - ARN of a CLOUDFRONT-scope WAFv2 web ACL (C(arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>)),
        as M(cairn.platform.waf) with O(cairn.platform.waf#module:scope=CLOUDFRONT) returns it. A regional web
        ACL and a WAF Classic id are refused before any call. Unset means no web ACL.
    type: str
  origin:
    description:
      - The S3 bucket the distribution serves. CloudFront reaches it at its regional domain name
        C(<bucket>.s3.<region>.amazonaws.com), signed by the Origin Access Control.
    type: dict
    required: true
    suboptions:
      bucket_name:
        description: The bucket's name.
        type: str
        required: true
      bucket_region:
        description: The bucket's region.
        type: str
        required: true
  origin_access_control:
    description:
      - The Origin Access Control the module creates and keeps (SigV4, always sign, origin type S3).
    type: dict
    default: {}
    suboptions:
      name:
        description:
          - Its name, up to 64 characters, unique in the account. Defaults to O(name).
          - One of that name that the module did not create (its description does not say so) is refused.
        type: str
  viewer_protocol_policy:
    description:
      - V(redirect-to-https) answers plain HTTP with a redirect; V(https-only) refuses it. Plain HTTP
        (C(allow-all)) is not offered.
    type: str
    choices: [redirect-to-https, https-only]
    default: redirect-to-https
  cache_policy:
    description:
      - The managed cache policy of the default cache behavior, by name.
    type: str
    choices: [CachingOptimized, CachingOptimizedForUncompressedObjects, CachingDisabled, Elemental-MediaPackage, Amplify,
              UseOriginCacheControlHeaders]
    default: CachingOptimized
  response_headers_policy:
    description:
      - A managed response headers policy of the default cache behavior, by name, for example
        V(SecurityHeadersPolicy) (HSTS, X-Content-Type-Options, X-Frame-Options, Referrer-Policy,
        X-XSS-Protection). Unset means none.
    type: str
    choices: [SecurityHeadersPolicy, SimpleCORS, CORS-With-Preflight, CORS-and-SecurityHeadersPolicy,
              CORS-with-preflight-and-SecurityHeadersPolicy]
  compress:
    description: Compress objects (gzip, brotli) for viewers that accept it.
    type: bool
    default: true
  http_version:
    description: The highest HTTP version viewers may use.
    type: str
    choices: [http1.1, http2, http3, http2and3]
    default: http2and3
  ipv6:
    description: Answer viewers over IPv6 too (an AAAA alias record can then point at the distribution).
    type: bool
    default: true
  price_class:
    description:
      - Which edge locations serve. V(PriceClass_100) is North America, Europe and Israel; V(PriceClass_200)
        adds most of Asia, the Middle East and Africa; V(PriceClass_All) is everywhere.
    type: str
    choices: [PriceClass_100, PriceClass_200, PriceClass_All]
    default: PriceClass_100
  default_root_object:
    description:
      - The object served for a request of C(/), for example V(index.html), without a leading C(/). Unset means
        none.
    type: str
  logging:
    description:
      - Access logs by CloudFront standard logging (v2) to an S3 bucket. The module keeps a CloudWatch Logs
        delivery source C(<name>-access-logs) for the distribution (in us-east-1, as CloudFront requires), a
        delivery destination C(<name>-access-logs-s3) for the bucket and the delivery between them.
      - The bucket's policy must let C(delivery.logs.amazonaws.com) put objects (see the notes); ACLs may stay
        off.
      - Unset means no access logs (a delivery the module made before is removed).
    type: dict
    suboptions:
      bucket:
        description: The name of the bucket the logs go to. Not the origin bucket (its objects are served).
        type: str
        required: true
      prefix:
        description:
          - Key prefix of the log objects, without a leading C(/). Defaults to C(cloudfront/<name>/). CloudFront
            adds C(AWSLogs/<account>/CloudFront/) after it.
        type: str
      output_format:
        description: The format of the log records (V(w3c) is the format of the legacy standard logs).
        type: str
        choices: [w3c, json, plain, parquet]
        default: w3c
  enabled:
    description: Whether the distribution answers viewers. A disabled one is kept, with all its settings.
    type: bool
    default: true
  wait:
    description:
      - After a create or update, wait until CloudFront reports the distribution C(Deployed). Off by default,
        because a deployment to every edge takes minutes; the distribution serves its previous configuration
        (or, when new, answers on its domain name) meanwhile.
      - O(state=absent) always waits for the disabled distribution to deploy before deleting it, within
        O(wait_timeout).
    type: bool
    default: false
  wait_timeout:
    description: Seconds all waits of one run may take together.
    type: int
    default: 1800
notes:
  - "Reads: one C(ListDistributions), then C(ListTagsForResource) only for the distributions whose comment,
    aliases or origin match (ownership is judged by the tags read back, never by the listing), one
    C(GetDistributionConfig) for the module's own distribution, one C(ListOriginAccessControls), one
    C(GetBucketPolicy) and C(GetBucketEncryption) of the origin bucket, and C(GetDeliverySource),
    C(GetDeliveryDestination) and C(DescribeDeliveries) for the logs. A rerun with the same input makes no
    mutating call and reports no change."
  - "Writes: C(CreateOriginAccessControl)/C(UpdateOriginAccessControl), C(CreateDistributionWithTags) (born
    with the ownership tags and C(Name)), C(UpdateDistribution) with C(IfMatch) set to the ETag just read
    (when CloudFront answers C(PreconditionFailed) because someone changed the distribution meanwhile, the
    module reads it again once and retries, and otherwise fails with a sentence), C(TagResource)/C(UntagResource),
    C(PutBucketPolicy) (or C(DeleteBucketPolicy) when the statement was the last), C(PutDeliverySource),
    C(PutDeliveryDestination), C(CreateDelivery) and their deletes."
  - "Ownership: the distribution is the module's when it carries the ownership tags and C(Name) O(name); an
    untagged distribution with the same comment or origin is left alone, and one serving one of O(aliases)
    is refused. Origin Access Controls carry no tags in CloudFront; the module judges its own by name and by
    its description (C(... (stack <stack>), managed by cairn.platform)). The log delivery objects carry the
    ownership tags."
  - "The bucket policy statement has the Sid C(CloudFrontOAC<Name>) (O(name) in PascalCase, letters and
    digits only, as RV(bucket_policy_statement_sid) returns it). M(cairn.platform.s3_buckets) removes
    statements it did not write; list the Sid (or C(CloudFrontOAC*)) in the bucket's
    O(cairn.platform.s3_buckets#module:buckets[].keep_policy_statements) so it keeps this one."
  - "A bucket encrypted with SSE-KMS serves CloudFront only when the key policy lets
    C(cloudfront.amazonaws.com) use C(kms:Decrypt) for this distribution; the module warns when the origin
    bucket uses SSE-KMS and does not change key policies."
  - "Standard logging (v2) to S3 needs, in the logs bucket's policy, a statement allowing
    C(delivery.logs.amazonaws.com) C(s3:PutObject) on the prefix, conditioned on C(aws:SourceAccount) (the
    account) and C(aws:SourceArn) C(arn:aws:logs:us-east-1:<account>:*). When it is missing, CloudWatch Logs
    adds it itself on the first delivery, and M(cairn.platform.s3_buckets) would remove it again; put it in
    that bucket's O(cairn.platform.s3_buckets#module:buckets[].extra_policy_statements). The legacy standard
    logging (the distribution's C(Logging) field) is not managed; it needs ACLs on the bucket."
  - "In check mode ids, ARNs, the domain name and the ETag of what would be created are C((known after apply)).
    The plan shows the Origin Access Control by name and the distribution by name inside the bucket policy
    statement, so a check run and the real run report the same changes. Inputs that an earlier task only
    planned (C((known after apply)) certificate or web ACL ARNs) are planned with."
  - "Tested against the local emulator (moto) with a start-up patch (emulator/cloudfront_fidelity.py): moto
    drops an origin's C(OriginAccessControlId) and C(S3OriginConfig), which the patch keeps. Still different
    from CloudFront, and covered by botocore Stubber tests: moto neither changes the ETag on an update nor
    checks C(IfMatch) (no C(PreconditionFailed)); it deletes an enabled distribution (CloudFront answers
    C(DistributionNotDisabled)); its distributions are C(Deployed) at the first read and never go back to
    C(InProgress) after an update; it has no cache or response headers policies (the managed policies are
    used by their published ids without a call); it does not check that a certificate, web ACL or Origin
    Access Control exists, nor that an Origin Access Control is unused before deleting it; and its
    DescribeDeliveries and DescribeDeliverySources ignore their filters and a re-put delivery destination
    loses its tags in GetDeliveryDestination (the module filters itself and falls back to
    C(ListTagsForResource)). No log is ever delivered by the emulator."
seealso:
  - name: Restricting access to an Amazon S3 origin
    description: Origin Access Control and the bucket policy statement it needs.
    link: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-restricting-access-to-s3.html
  - name: Configure standard logging (v2)
    description: Access logs delivered through CloudWatch Logs.
    link: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/standard-logging.html
  - name: Use managed cache policies
    description: The managed cache policies and their ids.
    link: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-managed-cache-policies.html
  - name: Supported protocols and ciphers between viewers and CloudFront
    description: What each minimum protocol version allows.
    link: https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/secure-connections-supported-viewer-protocols-ciphers.html
"""

EXAMPLES = r"""
- name: CloudFront for the assets bucket (TLS 1.2+, WAF, security headers, access logs)
  cairn.platform.cloudfront_distribution:
    environment: prod
    stack: prod-us-east-1
    region: us-east-1
    name: cairn-prod-assets
    comment: Assets of cairn prod (cairn.platform)
    aliases: [assets.example.com]
    certificate_arn: "{{ acm.certificates.cdn.arn }}"
    minimum_protocol_version: TLSv1.2_2021
    web_acl_arn: "{{ cdn_waf.web_acl.arn }}"
    origin:
      bucket_name: cairn-prod-123456789012-us-east-1-assets
      bucket_region: us-east-1
    response_headers_policy: SecurityHeadersPolicy
    price_class: PriceClass_100
    logging:
      bucket: cairn-prod-123456789012-us-east-1-logs
      prefix: cloudfront/cairn-prod-assets/
  register: cdn

- name: The data role keeps the Origin Access Control statement in the assets bucket's policy
  cairn.platform.s3_buckets:
    environment: prod
    stack: prod-us-east-1
    buckets:
      - name: cairn-prod-123456789012-us-east-1-assets
        keep_policy_statements: ["CloudFrontOAC*"]

- name: Remove it (disabled, deployed, deleted; then the Origin Access Control and the statement)
  cairn.platform.cloudfront_distribution:
    environment: prod
    stack: prod-us-east-1
    name: cairn-prod-assets
    origin:
      bucket_name: cairn-prod-123456789012-us-east-1-assets
      bucket_region: us-east-1
    state: absent
    wait_timeout: 2400
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens; a distribution update lists each field.
  returned: always
  type: list
  elements: dict
  sample:
    - action: update
      resource_type: cloudfront_distribution
      resource: cairn-prod-assets
      fields:
        price_class: {before: PriceClass_100, after: PriceClass_200}
        viewer_certificate.minimum_protocol_version: {before: TLSv1.2_2019, after: TLSv1.2_2021}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
distribution:
  description:
    - The distribution (C(known after apply) id, ARN, domain name and ETag in check mode before it exists).
    - Null after O(state=absent).
  returned: always
  type: dict
  contains:
    id: {description: The distribution id., type: str, returned: always}
    arn: {description: Its ARN., type: str, returned: always}
    domain_name: {description: "Its domain name, C(<id>.cloudfront.net), for alias records.", type: str, returned: always}
    hosted_zone_id: {description: "The Route 53 hosted zone id of every CloudFront alias target, C(Z2FDTNDATAQYW2).", type: str, returned: always}
    status: {description: "C(InProgress) while a change deploys, then C(Deployed).", type: str, returned: always}
    aliases: {description: Its alternate domain names., type: list, elements: str, returned: always}
    etag: {description: The ETag of its configuration after the run., type: str, returned: always}
  sample:
    id: E2QWRUHAPOMQZL
    arn: "arn:aws:cloudfront::123456789012:distribution/E2QWRUHAPOMQZL"
    domain_name: d111111abcdef8.cloudfront.net
    hosted_zone_id: Z2FDTNDATAQYW2
    status: InProgress
    aliases: [assets.example.com]
    etag: E2QWRUHAPOMQZM
origin_access_control:
  description: The Origin Access Control (C(known after apply) id in check mode before it exists); null after O(state=absent).
  returned: always
  type: dict
  sample: {id: E1QL6VLQ6WI3IK, name: cairn-prod-assets}
bucket_policy_statement_sid:
  description: The Sid of the statement the module keeps in the origin bucket's policy.
  returned: always
  type: str
  sample: CloudFrontOACCairnProdAssets
logging:
  description: The log delivery, or null without O(logging) (and after O(state=absent)).
  returned: always
  type: dict
  sample:
    delivery_source_name: cairn-prod-assets-access-logs
    delivery_destination_name: cairn-prod-assets-access-logs-s3
    delivery_destination_arn: "arn:aws:logs:us-east-1:123456789012:delivery-destination:cairn-prod-assets-access-logs-s3"
    delivery_id: 23dxZTvoKdKFzfJ6
    destination_resource_arn: "arn:aws:s3:::cairn-prod-123456789012-us-east-1-logs/cloudfront/cairn-prod-assets"
    output_format: w3c
waited_seconds:
  description: Seconds spent waiting for CloudFront to deploy.
  returned: always
  type: float
"""

import copy
import json
import re

from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError, error_code
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.policy import normalize_policy, policies_equal
from ansible_collections.cairn.platform.plugins.module_utils.s3 import check_bucket_name
from ansible_collections.cairn.platform.plugins.module_utils.tags import apply_tag_changes, boto3_tag_list_to_dict, dict_to_boto3_tag_list
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

COMPONENT = "cloudfront"
RESOURCE_TYPE = "cloudfront_distribution"

# The managed policies' ids, as the CloudFront developer guide publishes them ("Use managed cache policies",
# "Use managed response headers policies"). The local emulator has no cache or response headers policies,
# so the ids are used without a lookup.
CACHE_POLICIES = {
    "CachingOptimized": "658327ea-f89d-4fab-a63d-7e88639e58f6",
    "CachingOptimizedForUncompressedObjects": "b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
    "CachingDisabled": "4135ea2d-6df8-44a3-9df3-4b5a84be39ad",
    "Elemental-MediaPackage": "08627262-05a9-4f76-9ded-b50ca2e3a84f",
    "Amplify": "2e54312d-136d-493c-8eb9-b001f22f67d2",
    "UseOriginCacheControlHeaders": "83da9c7e-98b4-4e11-a168-04f0df8e2c65",
}
RESPONSE_HEADERS_POLICIES = {
    "SecurityHeadersPolicy": "67f7725c-6f97-4210-82d7-5512b31e9d03",
    "SimpleCORS": "60669652-455b-4ae9-85a4-c4c02393f86c",
    "CORS-With-Preflight": "5cc3b908-e619-4b99-88e5-2cf7f45965bd",
    "CORS-and-SecurityHeadersPolicy": "e61eb60c-9c35-4d20-a928-2b84e02af89c",
    "CORS-with-preflight-and-SecurityHeadersPolicy": "eaab4381-ed33-4a86-88ca-d9558dc6cd63",
}
# Viewer security policies that keep TLS 1.2 as the floor; the older ones let TLS 1.0/1.1 (or SSLv3) in.
TLS_POLICIES = ("TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025")
OUTDATED_TLS_POLICIES = ("SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016")
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
HTTP_VERSIONS = ("http1.1", "http2", "http3", "http2and3")
VIEWER_PROTOCOL_POLICIES = ("redirect-to-https", "https-only")
OUTPUT_FORMATS = ("w3c", "json", "plain", "parquet")
# Every CloudFront alias target lives in this hosted zone (Route 53 AliasTarget.HostedZoneId).
HOSTED_ZONE_ID = "Z2FDTNDATAQYW2"
MAX_ALIASES = 100  # the default quota of alternate domain names per distribution
MAX_COMMENT = 128
MAX_NAME = 40  # the log delivery names add up to 15 characters; CloudWatch Logs allows 60
MAX_OAC_NAME = 64
CLOUDFRONT_PRINCIPAL = "cloudfront.amazonaws.com"
LOG_TYPE = "ACCESS_LOGS"
LOGS_REGION = "us-east-1"  # CloudFront's delivery sources exist in us-east-1 only
OAC_SETTINGS = {"signing_protocol": "sigv4", "signing_behavior": "always", "origin_type": "s3"}
MANAGED_BY = "managed by cairn.platform"
ALLOWED_METHODS = ["GET", "HEAD"]
# Cache behavior settings that CloudFront refuses next to a cache policy (the legacy cache settings).
LEGACY_CACHE_FIELDS = ("ForwardedValues", "MinTTL", "DefaultTTL", "MaxTTL")

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    name=dict(type="str", required=True),
    comment=dict(type="str"),
    aliases=dict(type="list", elements="str", default=[]),
    certificate_arn=dict(type="str"),
    minimum_protocol_version=dict(type="str", default="TLSv1.2_2021"),
    web_acl_arn=dict(type="str"),
    origin=dict(
        type="dict",
        required=True,
        options=dict(bucket_name=dict(type="str", required=True), bucket_region=dict(type="str", required=True)),
    ),
    origin_access_control=dict(type="dict", default={}, options=dict(name=dict(type="str"))),
    viewer_protocol_policy=dict(type="str", default="redirect-to-https", choices=list(VIEWER_PROTOCOL_POLICIES)),
    cache_policy=dict(type="str", default="CachingOptimized", choices=list(CACHE_POLICIES)),
    response_headers_policy=dict(type="str", choices=list(RESPONSE_HEADERS_POLICIES)),
    compress=dict(type="bool", default=True),
    http_version=dict(type="str", default="http2and3", choices=list(HTTP_VERSIONS)),
    ipv6=dict(type="bool", default=True),
    price_class=dict(type="str", default="PriceClass_100", choices=list(PRICE_CLASSES)),
    default_root_object=dict(type="str"),
    logging=dict(
        type="dict",
        options=dict(
            bucket=dict(type="str", required=True),
            prefix=dict(type="str"),
            output_format=dict(type="str", default="w3c", choices=list(OUTPUT_FORMATS)),
        ),
    ),
    enabled=dict(type="bool", default=True),
    wait=dict(type="bool", default=False),
    wait_timeout=dict(type="int", default=1800),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks and the configuration (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]*$")
_CERTIFICATE_ARN = re.compile(r"^arn:(aws[a-z\-]*):acm:([a-z0-9\-]*):(\d{12}):certificate/[A-Za-z0-9\-]+$")
_WEB_ACL_ARN = re.compile(r"^arn:(aws[a-z\-]*):wafv2:([a-z0-9\-]*):(\d{12}):(global|regional)/webacl/[\w\-]+/[a-f0-9\-]+$")
_UUID = re.compile(r"^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$")
_LABEL = re.compile(r"^(?!-)[a-z0-9\-]{1,63}(?<!-)$")
_PREFIX = re.compile(r"^[A-Za-z0-9!_.*'()/\-=]*$")


def statement_sid(name):
    """The Sid of the bucket policy statement: CloudFrontOAC plus the name in PascalCase (letters and digits only)."""
    return "CloudFrontOAC" + "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", name) if part)


def caller_reference(stack, name):
    """Deterministic, so a create retried after an interruption is recognised by CloudFront."""
    return "cairn-{0}-{1}".format(stack, name)


def origin_domain(bucket, region):
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return "{0}.s3.{1}.{2}".format(bucket, region, suffix)


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def check_name(value):
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME or not _NAME.match(value):
        raise InputError("name: {0!r} must be 1 to {1} letters, digits and -, starting with a letter or digit (the log delivery "
                         "names add a suffix to it).".format(value, MAX_NAME))


def check_aliases(values, certificate_arn):
    aliases = []
    for index, value in enumerate(values or []):
        field = "aliases[{0}]".format(index)
        if is_unknown(value):
            aliases.append(value)
            continue
        alias = str(value).strip().lower().rstrip(".")
        labels = alias.split(".")
        if labels[0] == "*":
            labels = labels[1:]
        if len(alias) > 253 or len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
            raise InputError("{0}: {1!r} is not a host name (labels of letters, digits and -, separated by dots, "
                             "optionally starting with *. for a wildcard).".format(field, value))
        if alias in aliases:
            raise InputError("{0}: {1} is listed twice.".format(field, alias))
        aliases.append(alias)
    if len(aliases) > MAX_ALIASES:
        raise InputError("aliases: CloudFront allows {0} alternate domain names per distribution; got {1}.".format(MAX_ALIASES, len(aliases)))
    if aliases and not certificate_arn:
        raise InputError("certificate_arn: required with aliases; CloudFront serves an alternate domain name only with a "
                         "certificate (of us-east-1) that covers it.")
    return sorted(aliases)


def check_certificate_arn(arn):
    if not arn or is_unknown(arn):
        return arn or None
    match = _CERTIFICATE_ARN.match(arn)
    if not match:
        raise InputError("certificate_arn: {0!r} is not an ACM certificate ARN "
                         "(arn:aws:acm:us-east-1:<account>:certificate/<id>).".format(arn))
    if match.group(2) != LOGS_REGION:
        raise InputError("certificate_arn: the certificate is in {0}, but CloudFront only uses ACM certificates of us-east-1; "
                         "request or import it in us-east-1 (acm_certificates with region us-east-1).".format(match.group(2) or "no region"))
    return arn


def check_minimum_protocol_version(value):
    if value in OUTDATED_TLS_POLICIES:
        raise InputError("minimum_protocol_version: {0} lets viewers connect with TLS older than 1.2 (or SSLv3), which the "
                         "platform does not allow; use one of {1}.".format(value, ", ".join(TLS_POLICIES)))
    if value not in TLS_POLICIES:
        raise InputError("minimum_protocol_version: {0!r} is not a CloudFront viewer security policy; use one of {1}.".format(
            value, ", ".join(TLS_POLICIES)))
    return value


def check_web_acl_arn(arn):
    if not arn or is_unknown(arn):
        return arn or None
    if _UUID.match(arn):
        raise InputError("web_acl_arn: {0} is a WAF Classic web ACL id; CloudFront takes the ARN of a WAFv2 web ACL of scope "
                         "CLOUDFRONT (arn:aws:wafv2:us-east-1:<account>:global/webacl/<name>/<id>).".format(arn))
    match = _WEB_ACL_ARN.match(arn)
    if not match:
        raise InputError("web_acl_arn: {0!r} is not a WAFv2 web ACL ARN (arn:aws:wafv2:us-east-1:<account>:global/webacl/"
                         "<name>/<id>).".format(arn))
    if match.group(4) != "global" or match.group(2) != LOGS_REGION:
        raise InputError("web_acl_arn: {0} is a regional web ACL (of {1}); a distribution needs one of scope CLOUDFRONT, "
                         "whose ARN reads arn:aws:wafv2:us-east-1:<account>:global/webacl/... (waf with scope "
                         "CLOUDFRONT).".format(arn, match.group(2)))
    return arn


def check_choice(field, value, allowed, what):
    if value not in allowed:
        raise InputError("{0}: {1!r} is not {2}; use one of {3}.".format(field, value, what, ", ".join(allowed)))
    return value


def check_origin(origin):
    origin = origin or {}
    check_bucket_name("origin.bucket_name", origin.get("bucket_name"))
    region = origin.get("bucket_region")
    if not isinstance(region, str) or not _REGION.match(region):
        raise InputError("origin.bucket_region: {0!r} is not an AWS region name (for example us-east-1).".format(region))
    return {"bucket_name": origin["bucket_name"], "bucket_region": region, "domain_name": origin_domain(origin["bucket_name"], region),
            "id": "s3-" + origin["bucket_name"]}


def check_logging(logging, name, origin_bucket):
    if not logging:
        return None
    check_bucket_name("logging.bucket", logging.get("bucket"))
    if logging["bucket"] == origin_bucket:
        raise InputError("logging.bucket: {0} is the origin bucket, whose objects the distribution serves; send the logs to "
                         "a separate bucket.".format(origin_bucket))
    prefix = logging.get("prefix")
    if prefix is None:
        prefix = "cloudfront/{0}/".format(name)
    if prefix.startswith("/") or len(prefix) > 200 or not _PREFIX.match(prefix) or "//" in prefix:
        raise InputError("logging.prefix: {0!r} must be up to 200 characters of letters, digits and !_.*'()/-= without a "
                         "leading / or an empty level.".format(prefix))
    output_format = check_choice("logging.output_format", logging.get("output_format") or "w3c", OUTPUT_FORMATS,
                                 "a standard logging output format")
    path = prefix.rstrip("/")
    source_name, destination_name = log_names(name)
    return {"bucket": logging["bucket"], "prefix": prefix, "output_format": output_format,
            "destination_resource_arn": "arn:aws:s3:::{0}{1}".format(logging["bucket"], "/" + path if path else ""),
            "source_name": source_name, "destination_name": destination_name}


def log_names(name):
    """The CloudWatch Logs delivery source and delivery destination of a distribution."""
    return "{0}-access-logs".format(name), "{0}-access-logs-s3".format(name)


def check_default_root_object(value):
    value = value or ""
    if value.startswith("/") or len(value) > 255:
        raise InputError("default_root_object: {0!r} must be an object key of up to 255 characters without a leading / "
                         "(for example index.html).".format(value))
    return value


def build_spec(params, region=None):
    """All checks that need no API call, in the order a person reads the options."""
    name = params["name"]
    check_name(name)
    spec = {"state": params["state"], "name": name, "stack": params["stack"], "sid": statement_sid(name),
            "caller_reference": caller_reference(params["stack"], name), "origin": check_origin(params.get("origin"))}
    oac_name = (params.get("origin_access_control") or {}).get("name") or name
    if not 1 <= len(oac_name) <= MAX_OAC_NAME:
        raise InputError("origin_access_control.name: must be 1 to {0} characters; got {1!r}.".format(MAX_OAC_NAME, oac_name))
    spec["oac_name"] = oac_name
    spec["oac_description"] = "Origin access control of CloudFront distribution {0} (stack {1}), {2}".format(
        name, params["stack"], MANAGED_BY)[:256]
    spec["logging"] = check_logging(params.get("logging"), name, spec["origin"]["bucket_name"])
    timeout = params.get("wait_timeout")
    if timeout is None or timeout < 0:
        raise InputError("wait_timeout: must be 0 or more seconds; got {0!r}.".format(timeout))
    spec["wait"], spec["wait_timeout"] = bool(params.get("wait")), timeout
    if params["state"] == "absent":
        return spec
    comment = params.get("comment")
    if comment is None:
        comment = "CloudFront distribution {0} of {1} (cairn.platform)".format(name, params["stack"])
    if len(comment) > MAX_COMMENT:
        raise InputError("comment: CloudFront allows {0} characters; got {1}.".format(MAX_COMMENT, len(comment)))
    spec["comment"] = comment
    spec["certificate_arn"] = check_certificate_arn(params.get("certificate_arn"))
    spec["aliases"] = check_aliases(params.get("aliases"), spec["certificate_arn"])
    spec["minimum_protocol_version"] = check_minimum_protocol_version(params.get("minimum_protocol_version"))
    spec["web_acl_arn"] = check_web_acl_arn(params.get("web_acl_arn"))
    spec["viewer_protocol_policy"] = check_choice(
        "viewer_protocol_policy", params.get("viewer_protocol_policy"), VIEWER_PROTOCOL_POLICIES,
        "a viewer protocol policy the platform allows (plain HTTP, allow-all, is not)")
    cache_policy = check_choice("cache_policy", params.get("cache_policy"), tuple(CACHE_POLICIES), "a managed cache policy")
    spec["cache_policy_id"] = CACHE_POLICIES[cache_policy]
    headers = params.get("response_headers_policy")
    if headers is not None:
        check_choice("response_headers_policy", headers, tuple(RESPONSE_HEADERS_POLICIES), "a managed response headers policy")
    spec["response_headers_policy_id"] = RESPONSE_HEADERS_POLICIES.get(headers)
    spec["http_version"] = check_choice("http_version", params.get("http_version"), HTTP_VERSIONS, "an HTTP version CloudFront offers")
    spec["price_class"] = check_choice("price_class", params.get("price_class"), PRICE_CLASSES, "a CloudFront price class")
    spec["default_root_object"] = check_default_root_object(params.get("default_root_object"))
    spec["compress"] = bool(params.get("compress"))
    spec["ipv6"] = bool(params.get("ipv6"))
    spec["enabled"] = bool(params.get("enabled"))
    return spec


def oac_reference(name):
    """How the plan shows the Origin Access Control an origin uses: by name, known in check mode too."""
    return "origin_access_control:" + name


def desired_view(spec):
    """The managed fields, flat (dotted names), as the plan shows them."""
    view = {
        "comment": spec["comment"],
        "enabled": spec["enabled"],
        "aliases": spec["aliases"],
        "default_root_object": spec["default_root_object"],
        "price_class": spec["price_class"],
        "http_version": spec["http_version"],
        "is_ipv6_enabled": spec["ipv6"],
        "web_acl_id": spec["web_acl_arn"],
        "origin.domain_name": spec["origin"]["domain_name"],
        "origin.origin_access_control": oac_reference(spec["oac_name"]),
        "origin.origin_access_identity": "",
        "default_cache_behavior.target_origin_id": spec["origin"]["id"],
        "default_cache_behavior.viewer_protocol_policy": spec["viewer_protocol_policy"],
        "default_cache_behavior.cache_policy_id": spec["cache_policy_id"],
        "default_cache_behavior.response_headers_policy_id": spec["response_headers_policy_id"],
        "default_cache_behavior.compress": spec["compress"],
        "viewer_certificate.cloudfront_default_certificate": not spec["certificate_arn"],
        "viewer_certificate.acm_certificate_arn": spec["certificate_arn"],
    }
    if spec["certificate_arn"]:
        view["viewer_certificate.ssl_support_method"] = "sni-only"
        view["viewer_certificate.minimum_protocol_version"] = spec["minimum_protocol_version"]
    return view


def find_origin(config, origin_id):
    for origin in ((config.get("Origins") or {}).get("Items") or []):
        if origin.get("Id") == origin_id:
            return origin
    return None


def current_view(config, spec, oac_names):
    """The same fields read from a DistributionConfig; `oac_names` maps Origin Access Control ids to names."""
    origin = find_origin(config, spec["origin"]["id"]) or {}
    behavior = config.get("DefaultCacheBehavior") or {}
    certificate = config.get("ViewerCertificate") or {}
    oac_id = origin.get("OriginAccessControlId") or None
    view = {
        "comment": config.get("Comment"),
        "enabled": bool(config.get("Enabled")),
        "aliases": sorted((config.get("Aliases") or {}).get("Items") or []),
        "default_root_object": config.get("DefaultRootObject") or "",
        "price_class": config.get("PriceClass"),
        "http_version": config.get("HttpVersion"),
        "is_ipv6_enabled": bool(config.get("IsIPV6Enabled")),
        "web_acl_id": config.get("WebACLId") or None,
        "origin.domain_name": origin.get("DomainName"),
        "origin.origin_access_control": oac_reference(oac_names[oac_id]) if oac_id in oac_names else oac_id,
        "origin.origin_access_identity": (origin.get("S3OriginConfig") or {}).get("OriginAccessIdentity") if origin else None,
        "default_cache_behavior.target_origin_id": behavior.get("TargetOriginId"),
        "default_cache_behavior.viewer_protocol_policy": behavior.get("ViewerProtocolPolicy"),
        "default_cache_behavior.cache_policy_id": behavior.get("CachePolicyId") or None,
        "default_cache_behavior.response_headers_policy_id": behavior.get("ResponseHeadersPolicyId") or None,
        "default_cache_behavior.compress": bool(behavior.get("Compress")),
        "viewer_certificate.cloudfront_default_certificate": bool(certificate.get("CloudFrontDefaultCertificate"))
        and not certificate.get("ACMCertificateArn"),
        "viewer_certificate.acm_certificate_arn": certificate.get("ACMCertificateArn") or None,
    }
    if spec["certificate_arn"]:
        view["viewer_certificate.ssl_support_method"] = certificate.get("SSLSupportMethod")
        view["viewer_certificate.minimum_protocol_version"] = certificate.get("MinimumProtocolVersion")
    return view


def _items(values):
    values = list(values)
    return {"Quantity": len(values), "Items": values} if values else {"Quantity": 0}


def viewer_certificate(spec):
    if spec["certificate_arn"]:
        return {"CloudFrontDefaultCertificate": False, "ACMCertificateArn": spec["certificate_arn"], "SSLSupportMethod": "sni-only",
                "MinimumProtocolVersion": spec["minimum_protocol_version"]}
    return {"CloudFrontDefaultCertificate": True}


def s3_origin(spec, oac_id):
    return {"Id": spec["origin"]["id"], "DomainName": spec["origin"]["domain_name"], "OriginPath": "",
            "S3OriginConfig": {"OriginAccessIdentity": ""}, "OriginAccessControlId": oac_id}


def apply_spec(config, spec, oac_id):
    """A copy of the DistributionConfig with only the managed fields set as `spec` wants them.

    Whatever else the configuration holds (other origins and cache behaviors, error responses, geo
    restrictions, legacy logging ...) is sent back as read, as UpdateDistribution replaces the whole
    configuration. Two managed parts are rebuilt rather than patched: the viewer certificate (its deprecated
    Certificate/CertificateSource members would contradict a new certificate) and, in the default cache
    behavior, the legacy cache settings CloudFront refuses next to a cache policy.
    """
    config = copy.deepcopy(config)
    config["Comment"] = spec["comment"]
    config["Enabled"] = spec["enabled"]
    config["Aliases"] = _items(spec["aliases"])
    config["DefaultRootObject"] = spec["default_root_object"]
    config["PriceClass"] = spec["price_class"]
    config["HttpVersion"] = spec["http_version"]
    config["IsIPV6Enabled"] = spec["ipv6"]
    config["WebACLId"] = spec["web_acl_arn"] or ""
    origins = (config.get("Origins") or {}).get("Items") or []
    origin = find_origin(config, spec["origin"]["id"])
    if origin is None:
        origins.append(s3_origin(spec, oac_id))
    else:
        origin["DomainName"] = spec["origin"]["domain_name"]
        origin["OriginAccessControlId"] = oac_id
        origin.pop("CustomOriginConfig", None)
        origin["S3OriginConfig"] = dict(origin.get("S3OriginConfig") or {}, OriginAccessIdentity="")
    config["Origins"] = _items(origins)
    behavior = config.setdefault("DefaultCacheBehavior", {})
    behavior["TargetOriginId"] = spec["origin"]["id"]
    behavior["ViewerProtocolPolicy"] = spec["viewer_protocol_policy"]
    behavior["CachePolicyId"] = spec["cache_policy_id"]
    behavior["Compress"] = spec["compress"]
    if spec["response_headers_policy_id"]:
        behavior["ResponseHeadersPolicyId"] = spec["response_headers_policy_id"]
    else:
        behavior.pop("ResponseHeadersPolicyId", None)
    for key in LEGACY_CACHE_FIELDS:
        behavior.pop(key, None)
    config["ViewerCertificate"] = viewer_certificate(spec)
    return config


def new_config(spec, oac_id):
    """The DistributionConfig of a new distribution."""
    behavior = {"TargetOriginId": spec["origin"]["id"], "ViewerProtocolPolicy": spec["viewer_protocol_policy"],
                "CachePolicyId": spec["cache_policy_id"], "Compress": spec["compress"],
                "AllowedMethods": dict(_items(ALLOWED_METHODS), CachedMethods=_items(ALLOWED_METHODS))}
    if spec["response_headers_policy_id"]:
        behavior["ResponseHeadersPolicyId"] = spec["response_headers_policy_id"]
    return {
        "CallerReference": spec["caller_reference"],
        "Comment": spec["comment"],
        "Enabled": spec["enabled"],
        "Aliases": _items(spec["aliases"]),
        "DefaultRootObject": spec["default_root_object"],
        "Origins": _items([s3_origin(spec, oac_id)]),
        "DefaultCacheBehavior": behavior,
        "PriceClass": spec["price_class"],
        "HttpVersion": spec["http_version"],
        "IsIPV6Enabled": spec["ipv6"],
        "WebACLId": spec["web_acl_arn"] or "",
        "ViewerCertificate": viewer_certificate(spec),
    }


def oac_config(spec):
    return {"Name": spec["oac_name"], "Description": spec["oac_description"], "SigningProtocol": OAC_SETTINGS["signing_protocol"],
            "SigningBehavior": OAC_SETTINGS["signing_behavior"], "OriginAccessControlOriginType": OAC_SETTINGS["origin_type"]}


def oac_view(summary):
    return {"description": summary.get("Description"), "signing_protocol": summary.get("SigningProtocol"),
            "signing_behavior": summary.get("SigningBehavior"), "origin_type": summary.get("OriginAccessControlOriginType")}


def bucket_statement(spec, distribution_arn):
    """The one statement of the origin bucket's policy the module owns (as AWS documents it for OAC)."""
    origin = spec["origin"]
    return {
        "Sid": spec["sid"],
        "Effect": "Allow",
        "Principal": {"Service": CLOUDFRONT_PRINCIPAL},
        "Action": "s3:GetObject",
        "Resource": "arn:{0}:s3:::{1}/*".format(partition_of(origin["bucket_region"]), origin["bucket_name"]),
        "Condition": {"StringEquals": {"AWS:SourceArn": distribution_arn}},
    }


def statement_view(statement, distribution_arn, name):
    """A statement as the plan shows it: normalized, with this distribution's ARN shown by name."""
    if statement is None:
        return None
    shown = normalize_policy({"Statement": [statement]})["Statement"][0]
    for conditions in (shown.get("Condition") or {}).values():
        for key, values in conditions.items():
            conditions[key] = ["{0}:{1}".format(RESOURCE_TYPE, name) if value == distribution_arn or is_unknown(value) else value
                               for value in values]
    return shown


def merge_statement(policy, statement):
    """The policy with the statement of its Sid replaced (or added); every other statement as it was."""
    policy = copy.deepcopy(policy) if policy else {"Version": "2012-10-17", "Statement": []}
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for index, current in enumerate(statements):
        if current.get("Sid") == statement["Sid"]:
            statements[index] = statement
            break
    else:
        statements.append(statement)
    policy["Statement"] = statements
    return policy


def remove_statement(policy, sid):
    """The policy without the statement of this Sid, or None when nothing else is left."""
    statements = policy.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    kept = [statement for statement in statements if statement.get("Sid") != sid]
    if not kept:
        return None
    return dict(copy.deepcopy(policy), Statement=kept)


def find_statement(policy, sid):
    statements = (policy or {}).get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        if statement.get("Sid") == sid:
            return statement
    return None


def distribution_id_in(message):
    """The id of the existing distribution a DistributionAlreadyExists answer names."""
    found = re.search(r"(?:exists|Id)[:=]?\s*([A-Z0-9]{8,20})\b", message or "")
    return found.group(1) if found else None


# ---------------------------------------------------------------------------------------------
# The converger
# ---------------------------------------------------------------------------------------------
class CloudFrontConverger:
    """Reads the distribution, its Origin Access Control, the bucket statement and the log delivery, then converges them."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.name = spec["name"]
        self.check_mode = cm.check_mode
        self.clock = WaitClock(spec["wait_timeout"])
        self.cf = cm.client("cloudfront")
        self.s3 = self.regional_client("s3", spec["origin"]["bucket_region"])
        self.logs = self.regional_client("logs", LOGS_REGION)
        self.summary = None  # our distribution as ListDistributions shows it
        self.config = None  # its DistributionConfig
        self.etag = None
        self.tags = {}
        self.foreign = []  # summaries of look-alike distributions the stack does not own
        self.oacs = {}  # id -> summary, every Origin Access Control of the account
        self.oac = None  # ours (by name)
        self.policy = None  # the origin bucket's policy document
        self.bucket_missing = False
        self.bucket_encryption = None
        self.source = None  # the log delivery source, destination and deliveries
        self.destination = None
        self.destination_tags = {}
        self.deliveries = []
        self.changed_distribution = False

    def regional_client(self, service, region):
        """A client of `service` in `region` (the module's own when the regions are the same)."""
        return self.cm.client(service, region)

    # ---- read ----------------------------------------------------------------------------
    def list_distributions(self):
        summaries, marker = [], None
        with self.cm.doing("listing the CloudFront distributions"):
            while True:
                page = self.cf.list_distributions(**({"Marker": marker} if marker else {})).get("DistributionList") or {}
                summaries.extend(page.get("Items") or [])
                marker = page.get("NextMarker")
                if not page.get("IsTruncated") or not marker:
                    return summaries

    def distribution_tags(self, arn):
        with self.cm.doing("reading the tags of distribution " + arn):
            return boto3_tag_list_to_dict((self.cf.list_tags_for_resource(Resource=arn).get("Tags") or {}).get("Items"))

    def is_candidate(self, summary):
        spec = self.spec
        aliases = set((summary.get("Aliases") or {}).get("Items") or [])
        domains = {origin.get("DomainName") for origin in (summary.get("Origins") or {}).get("Items") or []}
        return (summary.get("Comment") == spec.get("comment") or bool(aliases & set(spec.get("aliases") or []))
                or spec["origin"]["domain_name"] in domains)

    def owned(self, tags):
        return self.owner.owns(tags) and tags.get("Name") == self.name

    def read_distribution(self):
        ours = []
        for summary in self.list_distributions():
            if not self.is_candidate(summary):
                continue
            tags = self.distribution_tags(summary["ARN"])
            if self.owned(tags):
                ours.append((summary, tags))
            else:
                self.foreign.append(summary)
        if len(ours) > 1:
            raise CairnError("name: distributions {0} all carry the ownership tags of stack {1} and Name {2}; delete the extra "
                             "ones (or untag them) so one is left.".format(", ".join(s["Id"] for s, _t in ours), self.owner.stack, self.name))
        if ours:
            self.summary, self.tags = ours[0]
            self.cm.remember_account_id(self.summary["ARN"].split(":")[4])
            self.read_config()

    def read_config(self):
        with self.cm.doing("reading the configuration of distribution " + self.summary["Id"]):
            response = self.cf.get_distribution_config(Id=self.summary["Id"])
        self.config, self.etag = response["DistributionConfig"], response["ETag"]

    def read_oacs(self):
        marker = None
        with self.cm.doing("listing the origin access controls"):
            while True:
                page = self.cf.list_origin_access_controls(**({"Marker": marker} if marker else {})).get("OriginAccessControlList") or {}
                for summary in page.get("Items") or []:
                    self.oacs[summary["Id"]] = summary
                marker = page.get("NextMarker")
                if not page.get("IsTruncated") or not marker:
                    break
        named = [summary for summary in self.oacs.values() if summary.get("Name") == self.spec["oac_name"]]
        self.oac = named[0] if named else None

    def oac_owned(self, summary):
        description = summary.get("Description") or ""
        return MANAGED_BY in description and "(stack {0})".format(self.owner.stack) in description

    def read_bucket(self, encryption):
        bucket = self.spec["origin"]["bucket_name"]
        with self.cm.doing("reading the policy of bucket " + bucket):
            try:
                self.policy = json.loads(self.s3.get_bucket_policy(Bucket=bucket)["Policy"])
            except Exception as exc:
                code = error_code(exc)
                if code == "NoSuchBucket":
                    self.bucket_missing = True
                    return
                if code != "NoSuchBucketPolicy":
                    raise
        if encryption:
            with self.cm.doing("reading the default encryption of bucket " + bucket):
                try:
                    rules = self.s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"].get("Rules") or []
                except Exception as exc:
                    if error_code(exc) not in ("ServerSideEncryptionConfigurationNotFoundError", "NoSuchBucket"):
                        raise
                    rules = []
            defaults = [rule.get("ApplyServerSideEncryptionByDefault") or {} for rule in rules]
            self.bucket_encryption = defaults[0].get("SSEAlgorithm") if defaults else None

    def get_or_none(self, action, operation, key, **kwargs):
        with self.cm.doing(action):
            try:
                return getattr(self.logs, operation)(**kwargs)[key]
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return None
                raise

    def read_logging(self):
        names = log_names(self.name)
        self.source = self.get_or_none("reading log delivery source " + names[0], "get_delivery_source", "deliverySource", name=names[0])
        self.destination = self.get_or_none("reading log delivery destination " + names[1], "get_delivery_destination",
                                            "deliveryDestination", name=names[1])
        if self.destination is not None:
            self.destination_tags = self.destination.get("tags") or {}
            if not self.owner.owns(self.destination_tags):
                # CloudWatch Logs answers the tags with the destination; the emulator forgets them after an update.
                with self.cm.doing("reading the tags of log delivery destination " + names[1]):
                    self.destination_tags = self.logs.list_tags_for_resource(resourceArn=self.destination["arn"]).get("tags") or {}
        if self.source is not None:
            deliveries, token = [], None
            with self.cm.doing("listing the log deliveries of " + names[0]):
                while True:
                    kwargs = {"deliverySourceNames": [names[0]]}
                    if token:
                        kwargs["nextToken"] = token
                    page = self.logs.describe_deliveries(**kwargs)
                    deliveries.extend(page.get("deliveries") or [])
                    token = page.get("nextToken")
                    if not token:
                        break
            # Filtered here too: the emulator ignores deliverySourceNames.
            self.deliveries = [delivery for delivery in deliveries if delivery.get("deliverySourceName") == names[0]]

    def read(self):
        self.read_distribution()
        self.read_oacs()
        self.read_bucket(encryption=self.spec["state"] == "present")
        if self.summary is not None or self.spec["logging"] or self.spec["state"] == "absent":
            self.read_logging()

    # ---- checks before any write -----------------------------------------------------------
    def preflight(self):
        if self.oac is not None and not self.oac_owned(self.oac):
            raise CairnError("origin_access_control.name: origin access control {0} ({1}) exists but was not made by cairn.platform "
                             "for stack {2} (its description says {3!r}); the module never takes one over. Choose another name."
                             .format(self.spec["oac_name"], self.oac["Id"], self.owner.stack, self.oac.get("Description")))
        taken = {}
        for summary in self.foreign:
            for alias in (summary.get("Aliases") or {}).get("Items") or []:
                if alias in self.spec["aliases"]:
                    taken[alias] = summary["Id"]
        if taken:
            raise CairnError("aliases: {0} already served by distribution(s) {1}, which stack {2} does not own; CloudFront lets one "
                             "distribution serve a name. Remove the name there first.".format(
                                 ", ".join(sorted(taken)), ", ".join(sorted(set(taken.values()))), self.owner.stack))
        if self.bucket_missing and not self.check_mode:
            raise CairnError("origin.bucket_name: bucket {0} does not exist (in {1}); create it first (the data role's "
                             "s3_buckets).".format(self.spec["origin"]["bucket_name"], self.spec["origin"]["bucket_region"]))
        if self.bucket_encryption == "aws:kms":
            self.cm.module.warn(
                "origin.bucket_name: bucket {0} encrypts with SSE-KMS; CloudFront reads its objects only when the KMS key policy "
                "lets {1} use kms:Decrypt (condition AWS:SourceArn = the distribution's ARN). Grant that, or use SSE-S3 for the "
                "bucket.".format(self.spec["origin"]["bucket_name"], CLOUDFRONT_PRINCIPAL))
        if not self.spec["certificate_arn"]:
            self.cm.module.warn("certificate_arn: unset, so viewers get CloudFront's default certificate, with which CloudFront "
                                "accepts TLSv1; minimum_protocol_version applies only with a certificate.")
        if self.spec["logging"]:
            foreign = self.foreign_logging()
            if foreign:
                raise CairnError("logging: {0} exist(s) without the ownership tags of stack {1}; the module never takes them "
                                 "over. Delete or tag them by hand.".format(", ".join(foreign), self.owner.stack))

    def foreign_logging(self):
        """The log delivery objects of our names that the stack does not own (left alone, never changed)."""
        foreign = []
        if self.source is not None and not self.owner.owns(self.source.get("tags") or {}):
            foreign.append("log delivery source " + self.source["name"])
            self.source, self.deliveries = None, []
        if self.destination is not None and not self.owner.owns(self.destination_tags):
            foreign.append("log delivery destination " + self.destination["name"])
            self.destination = None
        return foreign

    # ---- present ---------------------------------------------------------------------------
    def present(self):
        self.read()
        self.preflight()
        oac_id = self.ensure_oac()
        arn = self.ensure_distribution(oac_id)
        self.ensure_bucket_statement(arn)
        logging = self.ensure_logging(arn)
        self.wait_deployed()
        return self.result(oac_id, logging)

    def ensure_oac(self):
        """The id of our Origin Access Control (UNKNOWN when check mode plans its creation)."""
        desired = dict(OAC_SETTINGS, description=self.spec["oac_description"])
        if self.oac is None:
            if not self.plan.create("origin_access_control", self.spec["oac_name"], desired):
                return UNKNOWN
            with self.cm.doing("creating origin access control " + self.spec["oac_name"]):
                created = self.cf.create_origin_access_control(OriginAccessControlConfig=oac_config(self.spec))["OriginAccessControl"]
            summary = dict(created["OriginAccessControlConfig"], Id=created["Id"])
            self.oacs[created["Id"]] = self.oac = summary
            return created["Id"]
        if self.plan.update("origin_access_control", self.spec["oac_name"], oac_view(self.oac), desired):
            self.with_etag_retry(
                "updating origin access control " + self.spec["oac_name"],
                lambda: self.cf.get_origin_access_control(Id=self.oac["Id"])["ETag"],
                lambda etag: self.cf.update_origin_access_control(Id=self.oac["Id"], IfMatch=etag,
                                                                  OriginAccessControlConfig=oac_config(self.spec)))
        return self.oac["Id"]

    def with_etag_retry(self, action, read_etag, write):
        """write(etag) with the ETag just read; on PreconditionFailed (changed meanwhile) read it again once and retry."""
        with self.cm.doing(action):
            for attempt in (1, 2):
                try:
                    return write(read_etag())
                except Exception as exc:
                    if error_code(exc) != "PreconditionFailed":
                        raise
                    if attempt == 2:
                        raise CairnError("CloudFront refused {0} twice because the resource changed between the module's read "
                                         "and its write (PreconditionFailed: the ETag was stale); something else is changing it. "
                                         "Rerun when it has settled.".format(action), error_code="PreconditionFailed")
        return None

    def oac_names(self):
        return {oac_id: summary.get("Name") for oac_id, summary in self.oacs.items()}

    def ensure_distribution(self, oac_id):
        """The distribution's ARN (UNKNOWN when check mode plans its creation)."""
        spec = self.spec
        desired = desired_view(spec)
        tags = self.owner.desired_tags(name=self.name)
        if self.summary is None:
            if not self.plan.create(RESOURCE_TYPE, self.name, dict(desired, tags=tags)):
                return UNKNOWN
            self.create_distribution(oac_id, tags)
            return self.summary["ARN"]
        current = current_view(self.config, spec, self.oac_names())
        if self.plan.update(RESOURCE_TYPE, self.name, current, desired):
            self.update_distribution(lambda config: apply_spec(config, spec, oac_id), "updating distribution " + self.summary["Id"])
        self.reconcile_tags(tags)
        return self.summary["ARN"]

    def create_distribution(self, oac_id, tags):
        with self.cm.doing("creating distribution " + self.name):
            try:
                response = self.cf.create_distribution_with_tags(DistributionConfigWithTags={
                    "DistributionConfig": new_config(self.spec, oac_id), "Tags": {"Items": dict_to_boto3_tag_list(tags)}})
            except Exception as exc:
                if error_code(exc) != "DistributionAlreadyExists":
                    raise
                self.adopt_interrupted_create(exc, oac_id)
                return
        self.take(response["Distribution"], response["ETag"])
        self.tags = tags
        self.changed_distribution = True

    def adopt_interrupted_create(self, exc, oac_id):
        """Our CallerReference names a distribution already (an earlier, interrupted run made it): converge that one."""
        message = (getattr(exc, "response", {}).get("Error") or {}).get("Message", "")
        found = distribution_id_in(message)
        if found is None:
            raise CairnError("CloudFront answers that a distribution with caller reference {0} exists but does not say which; "
                             "find it (aws cloudfront list-distributions) and tag it, or delete it.".format(self.spec["caller_reference"]),
                             error_code="DistributionAlreadyExists")
        with self.cm.doing("reading distribution " + found):
            distribution = self.cf.get_distribution(Id=found)["Distribution"]
        tags = self.distribution_tags(distribution["ARN"])
        if not self.owned(tags):
            raise CairnError("name: distribution {0} was created with this stack's caller reference {1} but does not carry the "
                             "ownership tags of stack {2}; tag it by hand to adopt it, or delete it.".format(
                                 found, self.spec["caller_reference"], self.owner.stack), error_code="DistributionAlreadyExists")
        self.summary, self.tags = {"Id": found, "ARN": distribution["ARN"], "DomainName": distribution["DomainName"],
                                   "Status": distribution["Status"]}, tags
        self.read_config()
        if current_view(self.config, self.spec, self.oac_names()) != desired_view(self.spec):
            self.update_distribution(lambda config: apply_spec(config, self.spec, oac_id), "updating distribution " + found)

    def take(self, distribution, etag):
        self.summary = {"Id": distribution["Id"], "ARN": distribution["ARN"], "DomainName": distribution["DomainName"],
                        "Status": distribution["Status"]}
        self.config = distribution.get("DistributionConfig") or self.config
        self.etag = etag
        self.cm.remember_account_id(distribution["ARN"].split(":")[4])

    def update_distribution(self, change, action):
        """UpdateDistribution of change(current config) with IfMatch; a stale ETag is read again once."""
        dist_id = self.summary["Id"]
        state = {"first": True}

        def read_etag():
            if not state["first"]:
                self.read_config()
            state["first"] = False
            return self.etag

        def write(etag):
            return self.cf.update_distribution(Id=dist_id, IfMatch=etag, DistributionConfig=change(self.config))

        response = self.with_etag_retry(action, read_etag, write)
        self.take(response["Distribution"], response["ETag"])
        self.changed_distribution = True

    def reconcile_tags(self, desired):
        arn = self.summary["ARN"]
        apply_tag_changes(
            self.cm, self.plan, self.owner, RESOURCE_TYPE, self.name, self.tags, desired,
            action="tagging distribution " + self.name,
            add=lambda to_set: self.cf.tag_resource(Resource=arn, Tags={"Items": dict_to_boto3_tag_list(to_set)}),
            remove=lambda keys: self.cf.untag_resource(Resource=arn, TagKeys={"Items": keys}))

    def statement_label(self):
        return "{0}:{1}".format(self.spec["origin"]["bucket_name"], self.spec["sid"])

    def ensure_bucket_statement(self, distribution_arn):
        spec = self.spec
        desired = bucket_statement(spec, distribution_arn)
        current = find_statement(self.policy, spec["sid"])
        shown = {"bucket": spec["origin"]["bucket_name"], "statement": statement_view(desired, distribution_arn, self.name)}
        note = "bucket planned by an earlier task" if self.bucket_missing else None
        if current is None:
            write = self.plan.create("bucket_policy_statement", self.statement_label(), shown, note=note)
        elif policies_equal({"Statement": [current]}, {"Statement": [desired]}):
            return
        else:
            write = self.plan.update("bucket_policy_statement", self.statement_label(),
                                     {"bucket": spec["origin"]["bucket_name"], "statement": statement_view(current, distribution_arn, self.name)},
                                     shown)
        if write:
            policy = merge_statement(self.policy, desired)
            with self.cm.doing("writing statement {0} into the policy of bucket {1}".format(spec["sid"], spec["origin"]["bucket_name"])):
                self.s3.put_bucket_policy(Bucket=spec["origin"]["bucket_name"], Policy=json.dumps(policy))
            self.policy = policy

    # ---- logging ---------------------------------------------------------------------------
    def ensure_logging(self, distribution_arn):
        logging = self.spec["logging"]
        if not logging:
            self.remove_logging()
            return None
        names = (logging["source_name"], logging["destination_name"])
        tags = self.owner.desired_tags()
        source_view = {"resource": "{0}:{1}".format(RESOURCE_TYPE, self.name), "log_type": LOG_TYPE}
        if self.source is not None and distribution_arn not in (self.source.get("resourceArns") or []):
            # A delivery source cannot change its resource (the distribution was replaced): make it again.
            self.delete_deliveries(self.deliveries)
            self.delete_source()
        if self.source is None and self.plan.create("log_delivery_source", names[0], source_view):
            with self.cm.doing("creating log delivery source " + names[0]):
                self.source = self.logs.put_delivery_source(name=names[0], resourceArn=distribution_arn, logType=LOG_TYPE,
                                                            tags=tags)["deliverySource"]
        destination_arn = self.ensure_destination(logging, tags)
        self.ensure_delivery(names, destination_arn, tags)
        delivery = next((d for d in self.deliveries if d.get("deliveryDestinationArn") == destination_arn), None)
        return {"delivery_source_name": names[0], "delivery_destination_name": names[1], "delivery_destination_arn": destination_arn,
                "delivery_id": (delivery or {}).get("id", UNKNOWN), "destination_resource_arn": logging["destination_resource_arn"],
                "output_format": logging["output_format"]}

    def ensure_destination(self, logging, tags):
        name = logging["destination_name"]
        desired = {"destination_resource_arn": logging["destination_resource_arn"], "output_format": logging["output_format"]}
        configuration = {"destinationResourceArn": logging["destination_resource_arn"]}
        if self.destination is not None and self.destination.get("outputFormat") != logging["output_format"]:
            # CloudWatch Logs cannot change a destination's output format: replace it (its delivery first).
            self.delete_deliveries([d for d in self.deliveries if d.get("deliveryDestinationArn") == self.destination["arn"]])
            self.delete_destination(note="replaced: the output format of a delivery destination cannot change")
        if self.destination is None:
            if not self.plan.create("log_delivery_destination", name, desired):
                return UNKNOWN
            with self.cm.doing("creating log delivery destination " + name):
                self.destination = self.logs.put_delivery_destination(
                    name=name, outputFormat=logging["output_format"], deliveryDestinationConfiguration=configuration,
                    tags=tags)["deliveryDestination"]
            return self.destination["arn"]
        current = {"destination_resource_arn": (self.destination.get("deliveryDestinationConfiguration") or {}).get("destinationResourceArn"),
                   "output_format": self.destination.get("outputFormat")}
        if self.plan.update("log_delivery_destination", name, current, desired):
            with self.cm.doing("updating log delivery destination " + name):
                self.logs.put_delivery_destination(name=name, outputFormat=logging["output_format"],
                                                   deliveryDestinationConfiguration=configuration)
        return self.destination["arn"]

    def ensure_delivery(self, names, destination_arn, tags):
        label = "{0} -> {1}".format(*names)
        stale = [d for d in self.deliveries if d.get("deliveryDestinationArn") != destination_arn]
        self.delete_deliveries(stale)
        if any(d.get("deliveryDestinationArn") == destination_arn for d in self.deliveries):
            return
        if not self.plan.create("log_delivery", label, {"source": names[0], "destination": names[1]}):
            return
        with self.cm.doing("creating log delivery " + label):
            delivery = self.logs.create_delivery(deliverySourceName=names[0], deliveryDestinationArn=destination_arn, tags=tags)["delivery"]
        self.deliveries.append(delivery)

    def delete_deliveries(self, deliveries):
        for delivery in deliveries:
            label = "{0} -> {1}".format(delivery.get("deliverySourceName"), delivery.get("deliveryDestinationArn", "").split(":")[-1])
            if self.plan.delete("log_delivery", label, {"id": delivery.get("id")}):
                with self.cm.doing("deleting log delivery " + label):
                    self.logs.delete_delivery(id=delivery["id"])
            self.deliveries = [d for d in self.deliveries if d is not delivery]

    def delete_source(self):
        if self.source is None:
            return
        if self.plan.delete("log_delivery_source", self.source["name"], {"resource_arns": self.source.get("resourceArns")}):
            with self.cm.doing("deleting log delivery source " + self.source["name"]):
                self.logs.delete_delivery_source(name=self.source["name"])
        self.source = None

    def delete_destination(self, note=None):
        if self.destination is None:
            return
        name = self.destination["name"]
        if self.plan.delete("log_delivery_destination", name, {"output_format": self.destination.get("outputFormat")}, note=note):
            with self.cm.doing("deleting log delivery destination " + name):
                self.logs.delete_delivery_destination(name=name)
        self.destination = None

    def remove_logging(self):
        for what in self.foreign_logging():
            self.cm.module.warn("{0} exists without the ownership tags of stack {1}; it was left alone.".format(what, self.owner.stack))
        self.delete_deliveries(list(self.deliveries))
        self.delete_source()
        self.delete_destination()

    # ---- waits -----------------------------------------------------------------------------
    def deployed(self):
        """Poll GetDistribution: its ETag once CloudFront reports it Deployed, else None."""
        with self.cm.doing("reading distribution " + self.summary["Id"]):
            response = self.cf.get_distribution(Id=self.summary["Id"])
        self.summary["Status"] = response["Distribution"]["Status"]
        self.etag = response["ETag"]
        return self.etag if self.summary["Status"] == "Deployed" else None

    def wait_deployed(self):
        if not self.spec["wait"] or not self.changed_distribution or self.check_mode:
            return
        self.clock.poll(self.deployed, "distribution {0} to deploy".format(self.summary["Id"]), delay=20)

    # ---- absent ----------------------------------------------------------------------------
    def absent(self):
        self.read()
        self.remove_logging()
        if self.summary is not None:
            self.delete_distribution()
        self.delete_oac()
        self.delete_bucket_statement()
        return {"distribution": None, "origin_access_control": None, "bucket_policy_statement_sid": self.spec["sid"], "logging": None,
                "waited_seconds": round(self.clock.waited, 1)}

    def delete_distribution(self):
        dist_id = self.summary["Id"]
        if self.config.get("Enabled"):
            note = "CloudFront deletes only a disabled distribution, once that is deployed"
            if self.plan.update(RESOURCE_TYPE, self.name, {"enabled": True}, {"enabled": False}, note=note):
                self.update_distribution(lambda config: dict(copy.deepcopy(config), Enabled=False), "disabling distribution " + dist_id)
        if not self.plan.delete(RESOURCE_TYPE, self.name, {"id": dist_id, "arn": self.summary["ARN"]}):
            return
        try:
            self.clock.poll(self.deployed, "disabled distribution {0} to deploy before its deletion".format(dist_id), delay=20)
        except CairnError as exc:
            raise CairnError(exc.message + " The distribution is disabled; the next run deletes it.", **exc.details)
        state = {"first": True}

        def read_etag():
            if not state["first"]:
                self.deployed()
            state["first"] = False
            return self.etag

        try:
            self.with_etag_retry("deleting distribution " + dist_id, read_etag, lambda etag: self.cf.delete_distribution(Id=dist_id, IfMatch=etag))
        except CairnError as exc:
            if exc.details.get("error_code") == "DistributionNotDisabled":
                raise CairnError("CloudFront refused to delete distribution {0}: it is not disabled (someone enabled it again); "
                                 "rerun.".format(dist_id), **exc.details)
            raise

    def delete_oac(self):
        if self.oac is None or not self.oac_owned(self.oac):
            return
        oac_id = self.oac["Id"]
        if not self.plan.delete("origin_access_control", self.spec["oac_name"], {"id": oac_id}):
            return
        try:
            self.with_etag_retry("deleting origin access control " + self.spec["oac_name"],
                                 lambda: self.cf.get_origin_access_control(Id=oac_id)["ETag"],
                                 lambda etag: self.cf.delete_origin_access_control(Id=oac_id, IfMatch=etag))
        except CairnError as exc:
            if exc.details.get("error_code") == "OriginAccessControlInUse":
                raise CairnError("CloudFront refused to delete origin access control {0}: another distribution still uses it; "
                                 "remove it there, then rerun.".format(self.spec["oac_name"]), **exc.details)
            raise

    def delete_bucket_statement(self):
        current = find_statement(self.policy, self.spec["sid"])
        if current is None:
            return
        bucket = self.spec["origin"]["bucket_name"]
        if not self.plan.delete("bucket_policy_statement", self.statement_label(), {"bucket": bucket, "statement": normalize_policy(
                {"Statement": [current]})["Statement"][0]}):
            return
        remaining = remove_statement(self.policy, self.spec["sid"])
        with self.cm.doing("removing statement {0} from the policy of bucket {1}".format(self.spec["sid"], bucket)):
            if remaining is None:
                self.s3.delete_bucket_policy(Bucket=bucket)
            else:
                self.s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(remaining))
        self.policy = remaining

    # ---- result ----------------------------------------------------------------------------
    def result(self, oac_id, logging):
        summary = self.summary or {}
        return {
            "distribution": {
                "id": summary.get("Id", UNKNOWN), "arn": summary.get("ARN", UNKNOWN), "domain_name": summary.get("DomainName", UNKNOWN),
                "hosted_zone_id": HOSTED_ZONE_ID, "status": summary.get("Status", UNKNOWN), "aliases": self.spec["aliases"],
                "etag": self.etag or UNKNOWN,
            },
            "origin_access_control": {"id": oac_id, "name": self.spec["oac_name"]},
            "bucket_policy_statement_sid": self.spec["sid"],
            "logging": logging,
            "waited_seconds": round(self.clock.waited, 1),
        }


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        converger = CloudFrontConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
