#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cairn.platform contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: acm_certificates
short_description: Request (DNS-validated) or import the ACM certificates of a region stack, in any region
version_added: 0.1.0
description:
  - Converges the stack's ACM certificates, each by a logical name (V(alb), V(cdn)), with a plan of every change.
  - A requested certificate uses DNS validation. The module writes ACM's validation CNAME records into the Route 53
    hosted zone given (O(certificates[].validation_zone_id)), waits within O(wait_timeout) until ACM reports the
    certificate C(ISSUED), and keeps the records in place on every run so ACM renews the certificate by itself
    (managed renewal needs them for the certificate's whole life).
  - Each certificate has its own O(certificates[].region). A CloudFront certificate must be in V(us-east-1) whatever
    the stack's region, an ALB certificate in the ALB's region.
  - Certificates are immutable. When the names or key algorithm of a listed certificate change, a new certificate is
    requested and returned; the one it supersedes is deleted as soon as nothing uses it (ACM's C(InUseBy)), so a
    load balancer switched to the new certificate later in the same play frees the old one for the next run.
  - An existing certificate can be imported instead (O(certificates[].import)); it is re-imported in place (same ARN)
    when the certificate given differs from the one in ACM. The private key is never printed, planned or returned.
  - Certificates are found by their ownership tags (one Resource Groups Tagging API read per region), so a run that
    was interrupted after a request finds its certificate again; a request the SDK retries after a lost answer is
    recognised by ACM through its idempotency token, so it never makes two certificates.
author:
  - cairn platform team (@cairn-platform)
extends_documentation_fragment:
  - cairn.platform.connection
  - cairn.platform.ownership
options:
  state:
    description:
      - V(present) converges the certificates to O(certificates).
      - V(absent) deletes every certificate of this stack (ownership tags) in O(regions), and the validation records
        no remaining certificate of those regions needs. ACM reports a certificate in use for a while after its load
        balancer or distribution is deleted. With O(wait), the module waits (within O(wait_timeout)) for that to
        clear; a certificate still in use then is refused before any deletion, with the resources that use it.
    type: str
    choices: [present, absent]
    default: present
  certificates:
    description:
      - The certificates, each with a unique O(certificates[].name).
      - Required when O(state=present); V([]) keeps none (and with O(purge=true) deletes the stack's certificates).
    type: list
    elements: dict
    suboptions:
      name:
        description:
          - The logical name, 1 to 64 lowercase letters, digits, C(-) and C(_), stored in the C(cairn:certificate)
            tag. Results are keyed by it.
        type: str
        required: true
      domain_name:
        description:
          - The certificate's first name (its subject), at most 64 characters as ACM requires of it; a leading
            C(*.) requests a wildcard. Lowercase, without a trailing dot.
          - Required for a requested certificate; for an imported one, if given, it must be a name the certificate
            covers.
        type: str
      subject_alternative_names:
        description:
          - Further names the certificate covers, each at most 253 characters; 100 names at most in all (the
            account's quota, 10 by default, may be lower).
        type: list
        elements: str
        default: []
      region:
        description:
          - The region the certificate lives in. Defaults to the module's region. Use V(us-east-1) for CloudFront.
        type: str
      key_algorithm:
        description: The key of a requested certificate.
        type: str
        choices: [RSA_2048, EC_prime256v1, EC_secp384r1]
        default: RSA_2048
      validation_zone_id:
        description:
          - The Route 53 public hosted zone that holds the validation records (as M(cairn.platform.route53_dns)
            returns it). Required for a requested certificate.
        type: str
      validation_zone_name:
        description:
          - That zone's name. Every name of the certificate must be inside it; checked before any call.
        type: str
      import:
        description:
          - Import this certificate instead of requesting one. C(certificate) and C(private_key) are PEM texts;
            C(certificate_chain) the PEM of the intermediate certificates.
          - Checked before any call (with the C(cryptography) library, where installed) that the key matches the
            certificate, that the certificate has not expired and that its key is one ACM imports.
          - ACM does not renew an imported certificate; import the renewed one before the C(not_after) date in RV(certificates).
        type: dict
        suboptions:
          certificate:
            description: The certificate, PEM.
            type: str
            required: true
          private_key:
            description: Its unencrypted private key, PEM. Never printed.
            type: str
            required: true
          certificate_chain:
            description: The intermediate certificates, PEM.
            type: str
  regions:
    description:
      - The regions searched for the stack's certificates to purge or, with O(state=absent), to delete. The module's
        region and the region of every listed certificate are always searched.
    type: list
    elements: str
    default: []
  purge:
    description:
      - Delete the stack's certificates (in the searched regions) that are not listed or that a listed one
        supersedes, once nothing uses them. A certificate still in use is kept with a warning, and deleted by a
        later run.
    type: bool
    default: true
  wait:
    description:
      - Wait until every requested certificate is C(ISSUED). DNS validation usually takes a few minutes once the
        records exist; a timeout fails the task and the next run goes on waiting.
      - With V(false), the result's C(status) may be C(PENDING_VALIDATION) and a load balancer refuses such a
        certificate.
    type: bool
    default: true
  wait_timeout:
    description: Seconds all waits of the run may take in total.
    type: int
    default: 900
notes:
  - Permissions needed are C(acm:RequestCertificate), C(acm:ImportCertificate), C(acm:DescribeCertificate),
    C(acm:GetCertificate), C(acm:ListCertificates), C(acm:DeleteCertificate), C(acm:AddTagsToCertificate),
    C(acm:RemoveTagsFromCertificate), C(tag:GetResources), C(route53:ListResourceRecordSets),
    C(route53:ChangeResourceRecordSets), C(route53:GetChange).
  - ACM uses the same validation record for every certificate of a name in one account, in every region. On
    removal a record is deleted only when no remaining certificate of the searched regions covers its name; a
    certificate of another region that still needs it gets it back on its own stack's next run.
  - The local emulator (moto) issues a requested certificate after a fixed delay whether or not the validation
    records exist, and ignores the key algorithm; the records are checked by the tests in Route 53 itself.
"""

EXAMPLES = r"""
- name: The ALB's certificate in the stack's region, and CloudFront's in us-east-1, validated in the environment's zone
  cairn.platform.acm_certificates:
    environment: prod
    stack: prod-us-west-2
    region: us-west-2
    certificates:
      - name: alb
        domain_name: app.cairnapp.com
        subject_alternative_names: [api.cairnapp.com]
        validation_zone_id: "{{ zone.zone.id }}"
        validation_zone_name: cairnapp.com
      - name: cdn
        domain_name: assets.cairnapp.com
        region: us-east-1
        validation_zone_id: "{{ zone.zone.id }}"
        validation_zone_name: cairnapp.com
    wait_timeout: 900
  register: acm

- name: Import a certificate bought elsewhere (the key comes from a vault and is never printed)
  cairn.platform.acm_certificates:
    environment: prod
    stack: prod-us-east-1
    certificates:
      - name: partner
        import:
          certificate: "{{ lookup('file', 'partner.crt') }}"
          private_key: "{{ partner_key_pem }}"
          certificate_chain: "{{ lookup('file', 'partner-chain.crt') }}"

- name: Remove the stack's certificates in its region and in us-east-1
  cairn.platform.acm_certificates:
    environment: prod
    stack: prod-us-east-1
    regions: [us-east-1]
    state: absent
"""

RETURN = r"""
changes:
  description: Every change made, or planned in check mode, in the order it happens.
  returned: always
  type: list
  elements: dict
  sample:
    - action: create
      resource_type: acm_certificate
      resource: alb (us-west-2)
      fields: {domain_name: {before: null, after: app.cairnapp.com}}
plan_summary:
  description: Counts of the changes, like C(1 to create, 0 to update, 0 to delete).
  returned: always
  type: str
certificates:
  description:
    - The certificates by logical name. In check mode a certificate to be requested has the ARN C((known after apply)).
  returned: always
  type: dict
  sample:
    alb:
      arn: arn:aws:acm:us-west-2:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666
      region: us-west-2
      type: AMAZON_ISSUED
      status: ISSUED
      domain_name: app.cairnapp.com
      subject_alternative_names: [app.cairnapp.com, api.cairnapp.com]
      key_algorithm: RSA_2048
      not_after: "2027-12-31T23:59:59+00:00"
      renewal_eligibility: ELIGIBLE
      in_use_by: []
      validation_records:
        - {name: _3d5e.app.cairnapp.com., type: CNAME, value: _8f1a.xyz.acm-validations.aws.}
kept:
  description: Certificates that purge or a replacement would delete but that are still in use, with their users.
  returned: always
  type: list
  elements: str
waited_seconds:
  description: Seconds spent waiting for validation.
  returned: always
  type: float
"""

import datetime
import re
import time
import uuid

from ansible_collections.cairn.platform.plugins.module_utils.aws import paginate
from ansible_collections.cairn.platform.plugins.module_utils.errors import CairnError, InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN, is_unknown
from ansible_collections.cairn.platform.plugins.module_utils.tags import (
    apply_tag_changes,
    boto3_tag_list_to_dict,
    dict_to_boto3_tag_list,
)
from ansible_collections.cairn.platform.plugins.module_utils.waits import WaitClock

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    HAS_CRYPTOGRAPHY = True
except ImportError:  # pragma: no cover - the checks that need it are skipped, AWS still makes them
    HAS_CRYPTOGRAPHY = False

COMPONENT = "acm_certificates"
RESOURCE_TYPE = "acm_certificate"
RECORD_TYPE = "acm_validation_record"
NAME_TAG = "cairn:certificate"
ZONE_TAG = "cairn:validation-zone"

ARGUMENT_SPEC = dict(
    state=dict(type="str", default="present", choices=["present", "absent"]),
    certificates=dict(
        type="list", elements="dict",
        options=dict(
            name=dict(type="str", required=True),
            domain_name=dict(type="str"),
            subject_alternative_names=dict(type="list", elements="str", default=[]),
            region=dict(type="str"),
            key_algorithm=dict(type="str", default="RSA_2048", choices=["RSA_2048", "EC_prime256v1", "EC_secp384r1"]),
            validation_zone_id=dict(type="str"),
            validation_zone_name=dict(type="str"),
            **{"import": dict(type="dict", options=dict(
                certificate=dict(type="str", required=True),
                private_key=dict(type="str", required=True, no_log=True),
                certificate_chain=dict(type="str"),
            ))}
        ),
    ),
    regions=dict(type="list", elements="str", default=[]),
    purge=dict(type="bool", default=True),
    wait=dict(type="bool", default=True),
    wait_timeout=dict(type="int", default=900),
)

# ---------------------------------------------------------------------------------------------
# Pure planning: input checks (no API calls; unit-tested directly)
# ---------------------------------------------------------------------------------------------
MAX_FIRST_NAME = 64  # the subject's CN
MAX_NAME = 253
MAX_NAMES = 100  # ListCertificates/RequestCertificate accept up to 100 SANs
LIVE_STATUSES = ("PENDING_VALIDATION", "ISSUED")
FAILED_STATUSES = ("FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE")
ALL_STATUSES = LIVE_STATUSES + FAILED_STATUSES
# ListCertificates returns RSA_2048 certificates only unless asked for the other key types.
ALL_KEY_TYPES = ["RSA_1024", "RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"]
IMPORTABLE_RSA_BITS = (1024, 2048, 3072, 4096)
IMPORTABLE_CURVES = {"secp256r1": "EC_prime256v1", "secp384r1": "EC_secp384r1", "secp521r1": "EC_secp521r1"}
_LOGICAL_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ZONE_ID = re.compile(r"^(/hostedzone/)?[A-Z0-9]{1,32}$")
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----")
_PEM_KEY = re.compile(r"-----BEGIN (RSA |EC )?PRIVATE KEY-----[A-Za-z0-9+/=\s]+-----END (RSA |EC )?PRIVATE KEY-----")


def check_domain(field, value, limit):
    if not isinstance(value, str) or not value:
        raise InputError("{0}: give a domain name such as app.example.com.".format(field))
    name = value.lower()
    if name != value or name.endswith("."):
        raise InputError("{0}: {1!r}: give the name in lowercase without a trailing dot ({2}).".format(field, value, name.rstrip(".")))
    if len(name) > limit:
        raise InputError("{0}: {1!r} has {2} characters; ACM allows {3} here.".format(field, value, len(name), limit))
    labels = name.split(".")
    if labels[0] == "*":
        labels = labels[1:]
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        raise InputError(
            "{0}: {1!r} is not a domain name ACM accepts: labels of letters, digits and '-' (not at either end), at "
            "least two of them, and '*' only as the whole first label of a wildcard.".format(field, value))
    return name


def inside_zone(name, zone):
    bare = name[2:] if name.startswith("*.") else name
    return bare == zone or bare.endswith("." + zone)


def idempotency_token():
    """RequestCertificate's token (32 word characters), new per request: the SDK's retries of one call reuse it.

    Not derived from the input: ACM would answer a repeat within the hour with a certificate deleted since (a
    removal followed by a converge). A run that crashed after the request finds its certificate by its tags."""
    return uuid.uuid4().hex


def normalize_pem(text):
    return "\n".join(line.strip() for line in (text or "").strip().splitlines() if line.strip())


def key_algorithm_of(public_key):
    if isinstance(public_key, rsa.RSAPublicKey):
        return "RSA_{0}".format(public_key.key_size) if public_key.key_size in IMPORTABLE_RSA_BITS else None
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        return IMPORTABLE_CURVES.get(public_key.curve.name)
    return None


def certificate_names(certificate):
    names = [attribute.value.lower() for attribute in certificate.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        names += [name.lower() for name in extension.value.get_values_for_type(x509.DNSName)]
    except x509.ExtensionNotFound:
        pass
    return sorted(set(names))


def inspect_import(field, material, now=None):
    """What can be known of an imported certificate before ACM sees it: PEM shape, key match, expiry, key type."""
    certificate_pem = material.get("certificate")
    key_pem = material.get("private_key")
    if not isinstance(certificate_pem, str) or not _PEM_CERTIFICATE.search(certificate_pem):
        raise InputError("{0}.certificate: give the certificate as PEM (-----BEGIN CERTIFICATE----- ...).".format(field))
    if certificate_pem.count("BEGIN CERTIFICATE") > 1:
        raise InputError("{0}.certificate: holds several certificates; give the server certificate here and the "
                         "intermediates in certificate_chain.".format(field))
    if not isinstance(key_pem, str) or not _PEM_KEY.search(key_pem):
        raise InputError("{0}.private_key: give the unencrypted private key as PEM (-----BEGIN PRIVATE KEY----- ...); "
                         "ACM does not import encrypted keys.".format(field))
    chain = material.get("certificate_chain")
    if chain is not None and not _PEM_CERTIFICATE.search(chain):
        raise InputError("{0}.certificate_chain: give the intermediate certificates as PEM.".format(field))
    facts = {"certificate": normalize_pem(certificate_pem), "chain": normalize_pem(chain) if chain else None,
             "names": [], "not_after": None, "serial": None}
    if not HAS_CRYPTOGRAPHY:
        return facts
    try:
        certificate = x509.load_pem_x509_certificate(certificate_pem.strip().encode("ascii"))
    except ValueError as exc:
        raise InputError("{0}.certificate: is not a readable X.509 certificate ({1}).".format(field, exc))
    try:
        key = serialization.load_pem_private_key(key_pem.strip().encode("ascii"), password=None)
    except (TypeError, ValueError):
        raise InputError("{0}.private_key: is not a readable unencrypted private key (ACM imports only those).".format(field))
    public = certificate.public_key()
    if key_algorithm_of(public) is None:
        raise InputError("{0}.certificate: its key type is not one ACM imports (RSA 1024 to 4096 bits, EC P-256, "
                         "P-384, P-521).".format(field))
    as_der = serialization.PublicFormat.SubjectPublicKeyInfo
    if (key.public_key().public_bytes(serialization.Encoding.DER, as_der)
            != public.public_bytes(serialization.Encoding.DER, as_der)):
        raise InputError("{0}.private_key: does not belong to the certificate (their public keys differ).".format(field))
    not_after = getattr(certificate, "not_valid_after_utc", None) or certificate.not_valid_after.replace(tzinfo=datetime.timezone.utc)
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if not_after <= now:
        raise InputError("{0}.certificate: expired on {1}; import a current one.".format(field, not_after.isoformat()))
    facts.update(names=certificate_names(certificate), not_after=not_after.isoformat(), serial=str(certificate.serial_number))
    return facts


def build_certificate(index, raw, region, seen):
    field = "certificates[{0}]".format(index)
    name = raw.get("name")
    if not isinstance(name, str) or not _LOGICAL_NAME.match(name):
        raise InputError("{0}.name: {1!r} must be 1 to 64 lowercase letters, digits, '-' and '_', starting with a letter "
                         "or digit.".format(field, name))
    if name in seen:
        raise InputError("{0}.name: {1!r} is listed twice; names are unique (results are keyed by them).".format(field, name))
    seen.add(name)
    field = "certificates[{0}] ({1})".format(index, name)
    cert_region = raw.get("region") or region
    if not _REGION.match(cert_region):
        raise InputError("{0}.region: {1!r} is not a region name such as us-east-1.".format(field, cert_region))
    entry = {"name": name, "field": field, "region": cert_region, "key_algorithm": raw.get("key_algorithm") or "RSA_2048"}
    sans = raw.get("subject_alternative_names") or []
    material = raw.get("import")
    if material:
        if sans or raw.get("validation_zone_id") or raw.get("validation_zone_name"):
            raise InputError("{0}: an imported certificate takes no subject_alternative_names or validation zone; its "
                             "names are the certificate's own.".format(field))
        facts = inspect_import(field + ".import", material)
        domain = raw.get("domain_name")
        if domain is not None:
            domain = check_domain(field + ".domain_name", domain, MAX_NAME)
            if facts["names"] and domain not in facts["names"]:
                raise InputError("{0}.domain_name: {1} is not a name the certificate covers ({2}).".format(
                    field, domain, ", ".join(facts["names"])))
        entry.update(type="IMPORTED", domain_name=domain, names=facts["names"], material=material, facts=facts)
        return entry
    domain = check_domain(field + ".domain_name", raw.get("domain_name"), MAX_FIRST_NAME)
    names = [domain]
    for position, san in enumerate(sans):
        san = check_domain("{0}.subject_alternative_names[{1}]".format(field, position), san, MAX_NAME)
        if san in names:
            raise InputError("{0}.subject_alternative_names: {1} is listed twice (the domain name counts too).".format(field, san))
        names.append(san)
    if len(names) > MAX_NAMES:
        raise InputError("{0}: {1} names; a certificate holds at most {2}.".format(field, len(names), MAX_NAMES))
    zone_id, zone_name = raw.get("validation_zone_id"), raw.get("validation_zone_name")
    if not zone_id or not zone_name:
        raise InputError("{0}: validation_zone_id and validation_zone_name are required: the module writes ACM's DNS "
                         "validation records into that zone.".format(field))
    if not is_unknown(zone_id):
        if not _ZONE_ID.match(zone_id):
            raise InputError("{0}.validation_zone_id: {1!r} is not a hosted zone id such as Z0123456789ABCDEFGHIJ.".format(field, zone_id))
        zone_id = zone_id.split("/")[-1]
    zone_name = check_domain(field + ".validation_zone_name", zone_name.rstrip(".").lower(), MAX_NAME)
    outside = [n for n in names if not inside_zone(n, zone_name)]
    if outside:
        raise InputError("{0}: {1} {2} not inside the validation zone {3}, so its validation record cannot be written "
                         "there.".format(field, ", ".join(outside), "is" if len(outside) == 1 else "are", zone_name))
    entry.update(type="AMAZON_ISSUED", domain_name=domain, names=names, zone_id=zone_id, zone_name=zone_name)
    return entry


def build_spec(params, region):
    """All checks that need no API call."""
    state = params["state"]
    if params.get("wait_timeout") is not None and params["wait_timeout"] < 0:
        raise InputError("wait_timeout: {0} is negative; give seconds, 0 or more.".format(params["wait_timeout"]))
    regions = []
    for position, extra in enumerate(params.get("regions") or []):
        if not _REGION.match(extra):
            raise InputError("regions[{0}]: {1!r} is not a region name such as us-east-1.".format(position, extra))
    certificates = []
    if state == "present":
        if params.get("certificates") is None:
            raise InputError("certificates: required when state=present (give [] to keep none).")
        seen = set()
        certificates = [build_certificate(index, raw, region, seen) for index, raw in enumerate(params["certificates"])]
    for candidate in [region] + [entry["region"] for entry in certificates] + list(params.get("regions") or []):
        if candidate not in regions:
            regions.append(candidate)
    return {"state": state, "certificates": certificates, "regions": regions, "purge": params["purge"],
            "wait": params["wait"], "wait_timeout": params["wait_timeout"]}


def matches(entry, current):
    """True when the certificate in ACM is what the entry asks for (names, key, kind, alive)."""
    if current["Status"] not in LIVE_STATUSES or current.get("Type") != entry["type"]:
        return False
    if entry["type"] == "IMPORTED":
        return True  # re-imported in place when the PEM differs
    names = sorted(set(current.get("SubjectAlternativeNames") or []) | {current.get("DomainName")})
    return (current.get("DomainName") == entry["domain_name"] and names == sorted(set(entry["names"]))
            and current.get("KeyAlgorithm", "RSA_2048").replace("-", "_") == entry["key_algorithm"])


def iso(value):
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


# ---------------------------------------------------------------------------------------------
# Converging against ACM and Route 53
# ---------------------------------------------------------------------------------------------
class AcmConverger:
    """Reads the stack's certificates of every region once, refuses what must not happen, then writes."""

    def __init__(self, cm, spec):
        self.cm = cm
        self.plan = cm.plan
        self.spec = spec
        self.owner = cm.ownership()
        self.clock = WaitClock(spec["wait_timeout"])
        self.owned = {}  # region -> {arn: {"tags": {...}, "certificate": DescribeCertificate}}
        self.zone_records = {}  # zone id -> {(name, type): ResourceRecordSet}
        self.kept = []
        self.deleted = set()

    def client(self, service, region=None):
        return self.cm.client(service, region)

    # ---- read ------------------------------------------------------------------------------
    def read(self):
        filters = [{"Key": key, "Values": [value]} for key, value in sorted(self.owner.ownership_tags.items())]
        for region in self.spec["regions"]:
            with self.cm.doing("finding the certificates of stack {0} in {1}".format(self.owner.stack, region)):
                tagged = paginate(self.client("resourcegroupstaggingapi", region), "get_resources", "ResourceTagMappingList",
                                  ResourceTypeFilters=["acm:certificate"], TagFilters=filters)
            found = {}
            for mapping in tagged:
                arn = mapping["ResourceARN"]
                with self.cm.doing("reading certificate " + arn):
                    try:
                        certificate = self.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
                    except Exception as exc:  # noqa: BLE001 - a certificate deleted since the tag read is simply gone
                        if "ResourceNotFound" in type(exc).__name__ or "ResourceNotFound" in str(exc):
                            continue
                        raise
                found[arn] = {"tags": boto3_tag_list_to_dict(mapping.get("Tags")), "certificate": certificate}
            self.owned[region] = found

    def records_of_zone(self, zone_id):
        if zone_id not in self.zone_records:
            with self.cm.doing("reading the records of hosted zone " + zone_id):
                rrsets = paginate(self.client("route53"), "list_resource_record_sets", "ResourceRecordSets", HostedZoneId=zone_id)
            self.zone_records[zone_id] = {(rrset["Name"].lower(), rrset["Type"]): rrset for rrset in rrsets}
        return self.zone_records[zone_id]

    def candidates(self, entry):
        """The stack's certificates of this logical name in its region, newest first."""
        found = [item for item in self.owned[entry["region"]].values() if item["tags"].get(NAME_TAG) == entry["name"]]
        return sorted(found, key=lambda item: str(item["certificate"].get("CreatedAt") or item["certificate"].get("ImportedAt")),
                      reverse=True)

    # ---- converge --------------------------------------------------------------------------
    def present(self):
        self.read()
        keep = set()
        results = {}
        pending = []
        for entry in self.spec["certificates"]:
            current = next((item for item in self.candidates(entry) if matches(entry, item["certificate"])), None)
            if entry["type"] == "IMPORTED":
                item = self.ensure_imported(entry, current)
            else:
                item = self.ensure_requested(entry, current)
            if item.get("arn") and not is_unknown(item["arn"]):
                keep.add(item["arn"])
            results[entry["name"]] = item
            if entry["type"] == "AMAZON_ISSUED":
                pending.append((entry, item))
        for entry, item in pending:
            self.ensure_validation_records(entry, item)
        if self.spec["wait"]:
            for entry, item in pending:
                self.wait_issued(entry, item)
        if self.spec["purge"]:
            self.purge(keep)
        else:
            self.remove_superseded(keep)
        return {"certificates": results, "kept": self.kept, "waited_seconds": round(self.clock.waited, 1)}

    def absent(self):
        self.read()
        doomed = [(region, arn, item) for region, found in self.owned.items() for arn, item in sorted(found.items())]
        if not self.cm.check_mode:
            # In check mode the users' removal is only planned by the earlier tasks: plan the deletion after them.
            self.wait_unused(doomed)
        busy = ["{0} ({1}) is used by {2}".format(item["tags"].get(NAME_TAG, arn), region, ", ".join(item["certificate"]["InUseBy"]))
                for region, arn, item in doomed if item["certificate"].get("InUseBy")]
        if busy and not self.cm.check_mode:
            raise CairnError("Refusing to delete certificates still in use: {0}. Remove or switch those resources first "
                             "(the load_balancing role removes the CDN and the ALB before the certificates).".format("; ".join(busy)),
                             in_use=busy)
        self.delete_certificates(doomed)
        return {"certificates": {}, "kept": self.kept, "waited_seconds": round(self.clock.waited, 1)}

    def wait_unused(self, doomed):
        """ACM clears InUseBy a little after a load balancer or distribution lets go: wait for it within wait_timeout."""
        if not self.spec["wait"]:
            return

        def probe():
            for region, arn, item in doomed:
                if item["certificate"].get("InUseBy"):
                    with self.cm.doing("reading certificate " + arn):
                        item["certificate"] = self.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]
            return not any(item["certificate"].get("InUseBy") for _region, _arn, item in doomed)

        if any(item["certificate"].get("InUseBy") for _region, _arn, item in doomed):
            try:
                self.clock.poll(probe, "the certificates' users to let go of them", delay=5)
            except CairnError:
                pass  # refused below, naming the users

    def desired_tags(self, entry):
        extra = {NAME_TAG: entry["name"]}
        if entry.get("zone_id") and not is_unknown(entry["zone_id"]):
            extra[ZONE_TAG] = entry["zone_id"]
        return self.owner.desired_tags(name="{0}-{1}".format(self.owner.stack, entry["name"]), extra=extra)

    def label(self, entry):
        return "{0} ({1})".format(entry["name"], entry["region"])

    def converge_tags(self, entry, arn, current_tags):
        acm = self.client("acm", entry["region"])
        apply_tag_changes(
            self.cm, self.plan, self.owner, RESOURCE_TYPE, self.label(entry), current_tags, self.desired_tags(entry),
            action="tagging certificate " + arn,
            add=lambda to_set: acm.add_tags_to_certificate(CertificateArn=arn, Tags=dict_to_boto3_tag_list(to_set)),
            remove=lambda keys: acm.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": key} for key in keys]))

    def ensure_requested(self, entry, current):
        if current is not None:
            certificate = current["certificate"]
            self.converge_tags(entry, certificate["CertificateArn"], current["tags"])
            return self.view(entry, certificate)
        desired = {"domain_name": entry["domain_name"], "subject_alternative_names": entry["names"],
                   "key_algorithm": entry["key_algorithm"], "validation": "DNS", "tags": self.desired_tags(entry)}
        replaces = [item["certificate"]["CertificateArn"] for item in self.candidates(entry)]
        note = "replaces {0} (certificates are immutable; the old one is deleted once nothing uses it)".format(
            ", ".join(replaces)) if replaces else None
        if not self.plan.create(RESOURCE_TYPE, self.label(entry), desired, note=note):
            return self.planned_view(entry)
        kwargs = dict(DomainName=entry["domain_name"], ValidationMethod="DNS", KeyAlgorithm=entry["key_algorithm"],
                      IdempotencyToken=idempotency_token(),
                      Tags=dict_to_boto3_tag_list(desired["tags"]))
        if len(entry["names"]) > 1:
            kwargs["SubjectAlternativeNames"] = entry["names"]
        acm = self.client("acm", entry["region"])
        with self.cm.doing("requesting certificate {0} for {1}".format(self.label(entry), entry["domain_name"])):
            arn = acm.request_certificate(**kwargs)["CertificateArn"]
        certificate = self.describe_with_records(entry, arn)
        self.owned[entry["region"]][arn] = {"tags": desired["tags"], "certificate": certificate}
        return self.view(entry, certificate)

    def describe_with_records(self, entry, arn):
        """DescribeCertificate until ACM has put a validation record on every name (it takes a few seconds)."""
        acm = self.client("acm", entry["region"])

        def probe():
            with self.cm.doing("reading certificate " + arn):
                certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            options = certificate.get("DomainValidationOptions") or []
            ready = options and all(option.get("ResourceRecord") for option in options)
            return certificate if ready or certificate.get("Status") != "PENDING_VALIDATION" else None

        return self.clock.poll(probe, "the DNS validation records of certificate {0}".format(self.label(entry)), delay=2)

    def ensure_imported(self, entry, current):
        facts = entry["facts"]
        material = entry["material"]
        desired = {"type": "IMPORTED", "names": facts["names"], "serial": facts["serial"], "not_after": facts["not_after"],
                   "tags": self.desired_tags(entry)}
        acm = self.client("acm", entry["region"])
        if current is None:
            if not self.plan.create(RESOURCE_TYPE, self.label(entry), desired, note="private key not shown"):
                return self.planned_view(entry)
            kwargs = dict(Certificate=material["certificate"].encode("ascii"), PrivateKey=material["private_key"].encode("ascii"),
                          Tags=dict_to_boto3_tag_list(desired["tags"]))
            if material.get("certificate_chain"):
                kwargs["CertificateChain"] = material["certificate_chain"].encode("ascii")
            with self.cm.doing("importing certificate " + self.label(entry)):
                arn = acm.import_certificate(**kwargs)["CertificateArn"]
            with self.cm.doing("reading certificate " + arn):
                certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
            self.owned[entry["region"]][arn] = {"tags": desired["tags"], "certificate": certificate}
            return self.view(entry, certificate)
        certificate = current["certificate"]
        arn = certificate["CertificateArn"]
        with self.cm.doing("reading the body of certificate " + arn):
            body = acm.get_certificate(CertificateArn=arn)
        before = {"serial": certificate.get("Serial"), "certificate": normalize_pem(body.get("Certificate")),
                  "chain": normalize_pem(body.get("CertificateChain")) or None}
        after = {"serial": facts["serial"] or certificate.get("Serial"), "certificate": facts["certificate"], "chain": facts["chain"]}
        if before["certificate"] != after["certificate"] or (after["chain"] and before["chain"] != after["chain"]):
            shown_before = {"serial": before["serial"], "not_after": iso(certificate.get("NotAfter"))}
            shown_after = {"serial": after["serial"], "not_after": facts["not_after"]}
            if shown_before == shown_after:
                shown_after["certificate"] = "(changed)"
            if self.plan.update(RESOURCE_TYPE, self.label(entry), shown_before, shown_after, note="re-imported in place; private key not shown"):
                kwargs = dict(CertificateArn=arn, Certificate=material["certificate"].encode("ascii"),
                              PrivateKey=material["private_key"].encode("ascii"))
                if material.get("certificate_chain"):
                    kwargs["CertificateChain"] = material["certificate_chain"].encode("ascii")
                with self.cm.doing("re-importing certificate " + arn):
                    acm.import_certificate(**kwargs)
                with self.cm.doing("reading certificate " + arn):
                    certificate = acm.describe_certificate(CertificateArn=arn)["Certificate"]
        self.converge_tags(entry, arn, current["tags"])
        return self.view(entry, certificate)

    def ensure_validation_records(self, entry, item):
        """ACM's CNAMEs in the zone, for as long as the certificate lives (managed renewal needs them)."""
        records = item["validation_records"]
        zone_id = entry["zone_id"]
        if is_unknown(item["arn"]) or is_unknown(zone_id):
            for name in entry["names"]:
                bare = name[2:] if name.startswith("*.") else name
                self.plan.create(RECORD_TYPE, "_(known after apply).{0}. CNAME".format(bare), {"zone": zone_id, "value": UNKNOWN})
            return
        if item["type"] != "AMAZON_ISSUED" or item["status"] not in LIVE_STATUSES:
            return
        existing = self.records_of_zone(zone_id)
        changes = []
        for record in records:
            key = (record["name"].lower(), record["type"])
            current = existing.get(key)
            values = [value["Value"] for value in (current or {}).get("ResourceRecords", [])]
            if values == [record["value"]]:
                continue
            label = "{0} {1}".format(record["name"], record["type"])
            desired = {"zone": zone_id, "value": record["value"], "ttl": 300}
            if current is None:
                write = self.plan.create(RECORD_TYPE, label, desired, note="for certificate " + self.label(entry))
            else:
                write = self.plan.update(RECORD_TYPE, label, {"zone": zone_id, "value": values, "ttl": current.get("TTL")}, desired)
            if write:
                changes.append({"Action": "UPSERT", "ResourceRecordSet": {
                    "Name": record["name"], "Type": record["type"], "TTL": 300, "ResourceRecords": [{"Value": record["value"]}]}})
        if changes:
            route53 = self.client("route53")
            with self.cm.doing("writing the DNS validation records of certificate {0} in zone {1}".format(self.label(entry), zone_id)):
                answer = route53.change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={
                    "Comment": "ACM DNS validation (cairn.platform acm_certificates)", "Changes": changes})
            for change in changes:
                rrset = change["ResourceRecordSet"]
                existing[(rrset["Name"].lower(), rrset["Type"])] = rrset
            if self.spec["wait"]:
                self.wait_change(route53, answer["ChangeInfo"]["Id"])

    def wait_change(self, route53, change_id):
        def probe():
            with self.cm.doing("reading Route 53 change " + change_id):
                return route53.get_change(Id=change_id)["ChangeInfo"]["Status"] == "INSYNC"

        self.clock.poll(probe, "Route 53 change {0} to be in sync".format(change_id), delay=5)

    def wait_issued(self, entry, item):
        if is_unknown(item["arn"]) or item["status"] == "ISSUED":
            return
        acm = self.client("acm", entry["region"])
        delays = iter([2, 3, 5, 10])

        def probe():
            with self.cm.doing("reading certificate " + item["arn"]):
                certificate = acm.describe_certificate(CertificateArn=item["arn"])["Certificate"]
            if certificate["Status"] in FAILED_STATUSES:
                raise CairnError("Certificate {0} ({1}) went to {2}{3}. It is deleted and requested again by the next run "
                                 "(check that the validation zone {4} is the one the domain's registrar delegates to).".format(
                                     self.label(entry), item["arn"], certificate["Status"],
                                     ": " + certificate["FailureReason"] if certificate.get("FailureReason") else "",
                                     entry["zone_name"]), status=certificate["Status"])
            return certificate if certificate["Status"] == "ISSUED" else None

        started = time.monotonic()
        certificate = None
        while certificate is None:
            certificate = probe()
            if certificate is not None:
                break
            if self.clock.remaining() <= 0:
                raise CairnError("Timed out after {0:.0f} s waiting for certificate {1} ({2}) to be ISSUED (wait_timeout={3}); "
                                 "its validation records are in zone {4}, and the next run goes on waiting.".format(
                                     time.monotonic() - started, self.label(entry), item["arn"], self.spec["wait_timeout"],
                                     entry["zone_name"]), waited_for=item["arn"])
            pause = min(next(delays, 15), max(self.clock.remaining(), 0.1))
            time.sleep(pause)
            self.clock.waited += pause
        item.update(self.view(entry, certificate))

    # ---- purge and removal -----------------------------------------------------------------
    def remove_superseded(self, keep):
        listed = {(entry["region"], entry["name"]) for entry in self.spec["certificates"]}
        doomed = [(region, arn, item) for region, found in self.owned.items() for arn, item in sorted(found.items())
                  if arn not in keep and (region, item["tags"].get(NAME_TAG)) in listed]
        self.delete_unused(doomed)

    def purge(self, keep):
        doomed = [(region, arn, item) for region, found in self.owned.items() for arn, item in sorted(found.items())
                  if arn not in keep]
        self.delete_unused(doomed)

    def delete_unused(self, doomed):
        free = []
        for region, arn, item in doomed:
            users = item["certificate"].get("InUseBy") or []
            if users:
                message = "Certificate {0} ({1}, {2}) was kept: it is still used by {3}; a later run deletes it once they use " \
                          "another.".format(item["tags"].get(NAME_TAG, "?"), region, arn, ", ".join(users))
                self.kept.append(message)
                self.cm.module.warn(message)
            else:
                free.append((region, arn, item))
        self.delete_certificates(free)

    def delete_certificates(self, doomed):
        for region, arn, item in doomed:
            certificate = item["certificate"]
            before = {"arn": arn, "domain_name": certificate.get("DomainName"), "status": certificate.get("Status"),
                      "type": certificate.get("Type")}
            if self.plan.delete(RESOURCE_TYPE, "{0} ({1})".format(item["tags"].get(NAME_TAG, arn), region), before):
                with self.cm.doing("deleting certificate " + arn):
                    try:
                        self.client("acm", region).delete_certificate(CertificateArn=arn)
                    except Exception as exc:  # noqa: BLE001
                        if "ResourceNotFound" not in str(exc) and "ResourceNotFound" not in type(exc).__name__:
                            raise
            self.deleted.add(arn)
        self.remove_orphan_records([item for _region, _arn, item in doomed])

    def remaining_names(self):
        """Names covered by the certificates that stay in the searched regions (anyone's, not only the stack's)."""
        names = set()
        for region in self.spec["regions"]:
            with self.cm.doing("listing the certificates in " + region):
                summaries = paginate(self.client("acm", region), "list_certificates", "CertificateSummaryList",
                                     CertificateStatuses=list(ALL_STATUSES), Includes={"keyTypes": ALL_KEY_TYPES})
            for summary in summaries:
                if summary["CertificateArn"] in self.deleted:
                    continue
                names.add(summary.get("DomainName", "").lower())
                listed = summary.get("SubjectAlternativeNameSummaries")
                if listed is None or summary.get("HasAdditionalSubjectAlternativeNames"):
                    # The summary lists a limited number of names (and moto none): read the certificate for all of them.
                    with self.cm.doing("reading certificate " + summary["CertificateArn"]):
                        listed = self.client("acm", region).describe_certificate(
                            CertificateArn=summary["CertificateArn"])["Certificate"].get("SubjectAlternativeNames") or []
                names.update(name.lower() for name in listed)
        return names

    def remove_orphan_records(self, items):
        by_zone = {}
        for item in items:
            zone_id = item["tags"].get(ZONE_TAG)
            for option in item["certificate"].get("DomainValidationOptions") or []:
                if zone_id and option.get("ResourceRecord"):
                    by_zone.setdefault(zone_id, {})[option["ResourceRecord"]["Name"].lower()] = (
                        option["DomainName"].lower(), option["ResourceRecord"])
        if not by_zone:
            return
        still_needed = self.remaining_names()
        for zone_id, records in sorted(by_zone.items()):
            try:
                existing = self.records_of_zone(zone_id)
            except CairnError as exc:
                if exc.details.get("error_code") == "NoSuchHostedZone":
                    continue  # the zone went first: nothing left to clean
                raise
            changes = []
            for record_name, (domain, record) in sorted(records.items()):
                bare = domain[2:] if domain.startswith("*.") else domain
                if bare in still_needed or "*." + bare in still_needed:
                    continue
                current = existing.get((record_name, record["Type"]))
                if current is None:
                    continue
                if self.plan.delete(RECORD_TYPE, "{0} {1}".format(record["Name"], record["Type"]), {"zone": zone_id, "value": record["Value"]}):
                    changes.append({"Action": "DELETE", "ResourceRecordSet": current})
            if changes:
                with self.cm.doing("deleting DNS validation records no certificate needs in zone " + zone_id):
                    self.client("route53").change_resource_record_sets(HostedZoneId=zone_id, ChangeBatch={"Changes": changes})
                for change in changes:
                    rrset = change["ResourceRecordSet"]
                    existing.pop((rrset["Name"].lower(), rrset["Type"]), None)

    # ---- result ----------------------------------------------------------------------------
    def view(self, entry, certificate):
        records = []
        for option in certificate.get("DomainValidationOptions") or []:
            record = option.get("ResourceRecord")
            if record and record["Name"] not in [r["name"] for r in records]:
                records.append({"name": record["Name"], "type": record["Type"], "value": record["Value"]})
        return {
            "arn": certificate["CertificateArn"],
            "region": entry["region"],
            "type": certificate.get("Type"),
            "status": certificate.get("Status"),
            "domain_name": certificate.get("DomainName"),
            "subject_alternative_names": certificate.get("SubjectAlternativeNames") or [],
            "key_algorithm": (certificate.get("KeyAlgorithm") or "").replace("-", "_"),
            "not_after": iso(certificate.get("NotAfter")),
            "renewal_eligibility": certificate.get("RenewalEligibility"),
            "in_use_by": certificate.get("InUseBy") or [],
            "validation_records": records,
        }

    def planned_view(self, entry):
        return {"arn": UNKNOWN, "region": entry["region"], "type": entry["type"], "status": UNKNOWN,
                "domain_name": entry["domain_name"], "subject_alternative_names": entry["names"],
                "key_algorithm": entry["key_algorithm"], "not_after": UNKNOWN, "renewal_eligibility": UNKNOWN,
                "in_use_by": [], "validation_records": []}


def main():
    cm = CairnModule(COMPONENT, ARGUMENT_SPEC)

    def converge():
        spec = build_spec(cm.params, cm.connection.region)
        converger = AcmConverger(cm, spec)
        return converger.present() if spec["state"] == "present" else converger.absent()

    cm.run(converge)


if __name__ == "__main__":
    main()
