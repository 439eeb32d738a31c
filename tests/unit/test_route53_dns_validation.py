"""route53_dns's pure checks: every bad input refused by build_spec, before any API call, with the field named and
the reason said; the accepted inputs in their normalised form (names, values, TXT quoting, defaults); and the
helpers that compare what Route 53 returns with what is wanted."""

from __future__ import annotations

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.cairn.platform.plugins.module_utils.errors import InputError
from ansible_collections.cairn.platform.plugins.module_utils.module import CairnModule
from ansible_collections.cairn.platform.plugins.module_utils.plan import UNKNOWN
from ansible_collections.cairn.platform.plugins.modules.route53_dns import (
    ARGUMENT_SPEC,
    CHECKER_REGIONS,
    COMPONENT,
    build_spec,
    health_check_config,
    health_check_view,
    normalize_domain,
    parse_registry_value,
    quote_txt,
    registry_entry,
    rrset_meaning,
)

pytestmark = pytest.mark.usefixtures("clean_sdk_env")

ZONE = "prod.example.com"
HC_ID = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
ALB = "web-1.us-east-1.elb.amazonaws.com"
ALB_ZONE = "Z35SXDOTRQ7X7K"
RECORD_DEFAULTS = dict(name=None, type=None, ttl=None, values=None, alias=None, failover=None, set_identifier=None,
                       health_check=None, adopt=False)
CHECK_DEFAULTS = dict(name=None, fqdn=ALB, port=None, type="HTTPS", resource_path=None, search_string=None, request_interval=30,
                      failure_threshold=3, enable_sni=None, regions=None, measure_latency=False, inverted=False, disabled=False)


def record(**fields):
    """One records[] item as Ansible fills it in (every suboption present)."""
    return dict(RECORD_DEFAULTS, **fields)


def check(name="prod-alb", **fields):
    return dict(CHECK_DEFAULTS, name=name, **fields)


def params(**overrides):
    """The module's parameters as Ansible fills them in (defaults included)."""
    values = dict(environment="prod", stack="prod-us-east-1", state="present", zone=dict(name=ZONE, comment=None, adopt=False,
                  delegation_set_id=None), health_checks=None, records=None, purge_records=False, wait=True, wait_timeout=300)
    values.update(overrides)
    return values


def refused(**overrides):
    with pytest.raises(InputError) as err:
        build_spec(params(**overrides))
    return err.value.message


def records_of(*items, **overrides):
    return build_spec(params(records=list(items), **overrides))["records"]


def test_parameters_as_ansible_fills_them_in_build_a_spec():
    args = dict(environment="prod", stack="prod-us-east-1", region="us-east-1", access_key="testing", secret_key="testing",
                zone={"name": "Prod.Example.COM."}, health_checks=[{"name": "prod-alb", "fqdn": ALB}],
                records=[{"name": "app", "type": "A", "failover": "PRIMARY", "health_check": "prod-alb",
                          "alias": {"dns_name": ALB, "hosted_zone_id": ALB_ZONE}}],
                _ansible_check_mode=False, _ansible_diff=False)
    with patch_module_args(args):
        module_params = CairnModule(COMPONENT, ARGUMENT_SPEC).params
    spec = build_spec(module_params)
    assert spec["zone"] == {"name": ZONE, "comment": None, "adopt": False, "delegation_set_id": None, "id": None}
    assert (spec["state"], spec["owner"], spec["wait"], spec["wait_timeout"], spec["purge_records"]) == (
        "present", ("prod", "prod-us-east-1"), True, 300, False)
    assert spec["health_checks"]["prod-alb"] == {
        "name": "prod-alb", "type": "HTTPS", "fqdn": ALB, "port": 443, "resource_path": "/", "search_string": None,
        "request_interval": 30, "failure_threshold": 3, "enable_sni": True, "regions": None, "measure_latency": False,
        "inverted": False, "disabled": False}
    assert spec["records"] == [{"name": "app." + ZONE, "type": "A", "set_identifier": "app-primary", "failover": "PRIMARY",
                                "health_check": "prod-alb", "adopt": False, "ttl": None, "values": None,
                                "alias": {"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": True}}]


# ---- the zone and the other top-level options ----------------------------------------------------
@pytest.mark.parametrize("name, reason", [
    ("", "zone.name: '' is not a domain name (1 to 253 characters)."),
    ("com", "zone.name: 'com' is a top-level domain; give the environment's domain"),
    ("*.example.com", "zone.name: '*.example.com': * is a wildcard only as the whole leftmost label"),
    ("-prod.example.com", "zone.name: '-prod.example.com' holds the label '-prod'; a label is 1 to 63 letters"),
    ("prod-.example.com", "holds the label 'prod-'"),
    ("prod..example.com", "holds the label ''"),
    ("pr od.example.com", "holds the label 'pr od'"),
    ("prod.exam!ple.com", "holds the label 'exam!ple'"),
    ("a" * 64 + ".example.com", "holds the label '{0}'".format("a" * 64)),
    (".".join(["abcdefghi"] * 26), "is not a domain name (1 to 253 characters)"),
])
def test_bad_zone_names_are_refused(name, reason):
    assert reason in refused(zone=dict(name=name, comment=None, adopt=False, delegation_set_id=None))


def test_zone_name_is_normalised_and_a_63_character_label_is_fine():
    assert build_spec(params(zone=dict(name=" PROD.Example.com. ", comment=None, adopt=True, delegation_set_id=None)))["zone"] == {
        "name": ZONE, "comment": None, "adopt": True, "delegation_set_id": None, "id": None}
    label = "a" * 63
    assert build_spec(params(zone=dict(name=label + ".example.com", comment=None, adopt=False, delegation_set_id=None)))["zone"][
        "name"] == label + ".example.com"


def test_delegation_set_id_loses_its_path_and_comment_length_is_checked():
    spec = build_spec(params(zone=dict(name=ZONE, comment="c" * 256, adopt=False, delegation_set_id="/delegationset/N1PA6795SAMPLE")))
    assert spec["zone"]["delegation_set_id"] == "N1PA6795SAMPLE" and spec["zone"]["comment"] == "c" * 256
    assert "zone.comment: at most 256 characters; got 257." == refused(
        zone=dict(name=ZONE, comment="c" * 257, adopt=False, delegation_set_id=None))


@pytest.mark.parametrize("timeout", [-1, None])
def test_wait_timeout_must_be_zero_or_more(timeout):
    assert "wait_timeout: give the seconds to wait, 0 or more; got {0!r}.".format(timeout) == refused(wait_timeout=timeout)


def test_state_absent_ignores_records_and_health_checks():
    spec = build_spec(params(state="absent", records=[record(name="x", type="BOGUS")], health_checks=[check(request_interval=7)]))
    assert spec["state"] == "absent" and spec["records"] is None and spec["health_checks"] is None


def test_unset_lists_mean_leave_alone_and_empty_lists_mean_none():
    spec = build_spec(params())
    assert spec["records"] is None and spec["health_checks"] is None
    spec = build_spec(params(records=[], health_checks=[]))
    assert spec["records"] == [] and spec["health_checks"] == {}


# ---- record names ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, fqdn", [
    ("@", ZONE), ("", ZONE), (None, ZONE), ("app", "app." + ZONE), ("APP", "app." + ZONE), ("api.eu", "api.eu." + ZONE),
    ("app." + ZONE, "app." + ZONE), ("App.Prod.Example.Com.", "app." + ZONE), (ZONE + ".", ZONE),
    ("*", "*." + ZONE), ("*.eu", "*.eu." + ZONE), ("\\052.eu.prod.example.com.", "*.eu." + ZONE),
    ("_dmarc", "_dmarc." + ZONE), ("example.com", "example.com." + ZONE),  # does not end with the zone: relative
])
def test_record_names_relative_or_fully_qualified(name, fqdn):
    assert records_of(record(name=name, type="TXT", values=["x"]))[0]["name"] == fqdn


@pytest.mark.parametrize("name, reason", [
    ("www.other.org.", "records[0].name: 'www.other.org.' is outside the zone prod.example.com; a record's name must be the zone"),
    ("example.com.", "is outside the zone"),
    ("xprod.example.com.", "is outside the zone"),  # a suffix of the text is not a suffix of labels
    ("app*", "records[0].name: 'app*.prod.example.com': * is a wildcard only as the whole leftmost label"),
    ("x.*", "* is a wildcard only as the whole leftmost label"),
    ("-app", "holds the label '-app'; a label is 1 to 63 letters, digits, hyphens or underscores"),
    ("a..b", "holds the label ''"),
    ("b" * 64, "holds the label '{0}'".format("b" * 64)),
    ("_cairn-owner.app", "records[0].name: names starting with _cairn-owner hold the module's ownership records"),
    (".".join(["abcdefghi"] * 24), "is not a domain name (1 to 253 characters)"),
    (".".join(["abcdefghi"] * 23), "is too long for its ownership record _cairn-owner.<name> (at most 240 characters"),
])
def test_bad_record_names_are_refused(name, reason):
    assert reason in refused(records=[record(name=name, type="A", values=["192.0.2.1"])])


def test_a_name_of_240_characters_still_has_room_for_its_ownership_record():
    name = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 31])
    fqdn = records_of(record(name=name, type="A", values=["192.0.2.1"]))[0]["name"]
    assert len(fqdn) == 240 and fqdn.endswith("." + ZONE)
    assert "is too long for its ownership record" in refused(records=[record(name=name + "e", type="A", values=["192.0.2.1"])])


# ---- record sets: values, ttl, alias ----------------------------------------------------------------
@pytest.mark.parametrize("item, reason", [
    (record(name="app", type="SOA", values=["x"]), "records[0].type: 'SOA' is not one of A, AAAA, CAA"),
    (record(name="app", type="A"), "records[0] (app.prod.example.com A): give values (with a ttl) or an alias."),
    (record(name="app", type="A", values=[]), "give values (with a ttl) or an alias."),
    (record(name="@", type="NS", values=["ns-1.awsdns-01.org"]), "the apex NS record belongs to the zone"),
    (record(name="@", type="CNAME", values=["x.example.org"]), "records[0] (prod.example.com CNAME): a CNAME cannot be at the zone apex"),
    (record(name="@", type="CNAME", alias={"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": None}),
     "a CNAME cannot be at the zone apex"),
    (record(name="www", type="CNAME", values=["a.example.org", "b.example.org"]), "www.prod.example.com CNAME).values: a CNAME has exactly one value; got 2."),
    (record(name="app", type="A", ttl=-1, values=["192.0.2.1"]), "records[0] (app.prod.example.com A).ttl: Route 53 accepts 0 to 2147483647 seconds; got -1."),
    (record(name="app", type="A", ttl=2147483648, values=["192.0.2.1"]), "got 2147483648."),
    (record(name="app", type="A", values=["192.0.2.300"]), "records[0] (app.prod.example.com A).values[0]: '192.0.2.300' is not an IPv4 address."),
    (record(name="app", type="A", values=["192.0.2.1", "2001:db8::1"]), ".values[1]: '2001:db8::1' is not an IPv4 address."),
    (record(name="app", type="AAAA", values=["192.0.2.1"]), "'192.0.2.1' is not an IPv6 address."),
    (record(name="www", type="CNAME", values=["bad_host-.example.org"]), ".values[0]: 'bad_host-.example.org' holds the label 'bad_host-'"),
    (record(name="@", type="MX", values=["mail.example.com"]), "'mail.example.com' is not an MX value; give '<priority> <mail server>'"),
    (record(name="@", type="MX", values=["high mail.example.com"]), "is not an MX value"),
    (record(name="_sip._tcp", type="SRV", values=["10 5 sip.example.com"]), "is not an SRV value; give '<priority> <weight> <port> <target>'."),
    (record(name="@", type="CAA", values=["issue amazon.com"]), "is not a CAA value; give '<flags> <tag> \"<value>\"'"),
])
def test_bad_record_sets_are_refused(item, reason):
    assert reason in refused(records=[item])


@pytest.mark.parametrize("extra, removed", [
    ({"ttl": 60}, "remove ttl."), ({"values": ["192.0.2.1"]}, "remove values."), ({"ttl": 0, "values": ["192.0.2.1"]}, "remove ttl and values."),
])
def test_an_alias_has_no_ttl_nor_values(extra, removed):
    message = refused(records=[record(name="app", type="A", alias={"dns_name": ALB, "hosted_zone_id": ALB_ZONE,
                                                                   "evaluate_target_health": None}, **extra)])
    assert message == ("records[0] (app.prod.example.com A): an alias record has no ttl or values (Route 53 answers with the "
                       "target's); " + removed)


@pytest.mark.parametrize("alias, reason", [
    ({"dns_name": ALB}, "records[0] (app.prod.example.com A).alias.hosted_zone_id: required for an alias to " + ALB),
    ({"dns_name": ALB, "hosted_zone_id": "abc"}, ".alias.hosted_zone_id: 'abc' is not a hosted zone id (Z followed by letters and digits)."),
    ({"dns_name": "not a name", "hosted_zone_id": ALB_ZONE}, ".alias.dns_name: 'not a name' holds the label 'not a name'"),
    ({"dns_name": "d1.cloudfront.net", "hosted_zone_id": ALB_ZONE}, "every CloudFront distribution is in zone Z2FDTNDATAQYW2; got Z35SXDOTRQ7X7K."),
    ({"dns_name": "d1.cloudfront.net", "evaluate_target_health": True}, "Route 53 cannot evaluate the health of a CloudFront distribution"),
])
def test_bad_alias_targets_are_refused(alias, reason):
    assert reason in refused(records=[record(name="app", type="A", alias=dict({"hosted_zone_id": None, "evaluate_target_health": None}, **alias))])


def test_an_alias_to_cloudfront_is_an_a_or_aaaa_record():
    assert "records[0] (www.prod.example.com TXT).alias: an alias to CloudFront is an A or AAAA record; got TXT." == refused(
        records=[record(name="www", type="TXT", alias={"dns_name": "d1.cloudfront.net", "hosted_zone_id": None,
                                                       "evaluate_target_health": None})])


def test_alias_defaults_cloudfront_zone_this_zone_and_evaluate_target_health():
    aliases = [r["alias"] for r in records_of(
        record(name="assets", type="A", alias={"dns_name": "D1234.CloudFront.net.", "hosted_zone_id": None, "evaluate_target_health": None}),
        record(name="eu", type="A", alias={"dns_name": ALB, "hosted_zone_id": "/hostedzone/" + ALB_ZONE, "evaluate_target_health": None}),
        record(name="www", type="A", alias={"dns_name": "eu." + ZONE, "hosted_zone_id": None, "evaluate_target_health": None}),
        record(name="app", type="AAAA", failover="PRIMARY", alias={"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": None}),
    )]
    assert aliases == [
        {"dns_name": "d1234.cloudfront.net", "hosted_zone_id": "Z2FDTNDATAQYW2", "evaluate_target_health": False},
        {"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": False},  # plain aliases: false by default
        {"dns_name": "eu." + ZONE, "hosted_zone_id": None, "evaluate_target_health": False},  # this zone's id, once known
        {"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": True},  # failover aliases: true, as AWS asks
    ]


@pytest.mark.parametrize("rtype, given, expected", [
    ("A", ["192.0.2.2", " 192.0.2.1 ", "192.0.2.2"], ["192.0.2.1", "192.0.2.2"]),  # sorted, deduplicated
    ("AAAA", ["2001:DB8:0::1"], ["2001:db8::1"]),
    ("CNAME", ["Target.Example.ORG."], ["target.example.org"]),
    ("MX", ["20  Mail2.Example.com.", "010 mail1.example.com"], ["10 mail1.example.com", "20 mail2.example.com"]),
    ("SRV", ["10 5 5060 SIP.example.com."], ["10 5 5060 sip.example.com"]),
    ("CAA", ['0 ISSUE "amazon.com"'], ['0 issue "amazon.com"']),
    ("TXT", ["v=spf1 -all"], ['"v=spf1 -all"']),
    ("TXT", ['"already quoted"'], ['"already quoted"']),
    ("TXT", ['say "hi" \\o/'], ['"say \\"hi\\" \\\\o/"']),
    ("SPF", ["v=spf1 include:amazonses.com -all"], ['"v=spf1 include:amazonses.com -all"']),
])
def test_values_are_normalised(rtype, given, expected):
    name = "_sip._tcp" if rtype == "SRV" else "www"
    result = records_of(record(name=name, type=rtype, values=given))[0]
    assert result["values"] == expected and result["ttl"] == 300


def test_ttl_zero_and_the_maximum_are_accepted():
    assert [r["ttl"] for r in records_of(record(name="a", type="A", ttl=0, values=["192.0.2.1"]),
                                         record(name="b", type="A", ttl=2147483647, values=["192.0.2.1"]))] == [0, 2147483647]


def test_long_txt_values_are_split_into_255_character_strings():
    assert quote_txt("a" * 300) == '"{0}" "{1}"'.format("a" * 255, "a" * 45)
    assert quote_txt("") == '""'
    # A quote right at the split point: each string is escaped whole, none ends in a lone backslash.
    text = "a" * 254 + '"b'
    assert quote_txt(text) == '"{0}\\"" "b"'.format("a" * 254)
    dkim = records_of(record(name="s1._domainkey", type="TXT", values=["v=DKIM1; k=rsa; p=" + "A" * 400]))[0]
    assert dkim["values"] == ['"v=DKIM1; k=rsa; p={0}" "{1}"'.format("A" * 237, "A" * 163)]


# ---- failover and health check references -----------------------------------------------------------------
def failover(name="app", role="PRIMARY", **fields):
    fields.setdefault("health_check", HC_ID)
    fields.setdefault("values", ["192.0.2.1"])
    return record(name=name, type="A", failover=role, **fields)


@pytest.mark.parametrize("item, reason", [
    (record(name="app", type="A", set_identifier="blue", values=["192.0.2.1"]),
     "records[0] (app.prod.example.com A).set_identifier: only failover records have one here"),
    (failover(set_identifier="x" * 129), ".set_identifier: 1 to 128 characters; got '{0}'.".format("x" * 129)),
    (record(name="app", type="A", health_check=HC_ID, values=["192.0.2.1"]),
     "records[0] (app.prod.example.com A).health_check: a health check decides only between failover records here"),
    (failover(health_check=None),
     "records[0] (app.prod.example.com A).health_check: a PRIMARY failover record needs a health check (or an alias with "
     "evaluate_target_health); without one Route 53 always answers with it and never fails over."),
    (failover(health_check=None, values=None, alias={"dns_name": ALB, "hosted_zone_id": ALB_ZONE, "evaluate_target_health": False}),
     "a PRIMARY failover record needs a health check"),
    (failover(health_check=None, values=None, alias={"dns_name": "d1.cloudfront.net", "hosted_zone_id": None, "evaluate_target_health": None}),
     "a PRIMARY failover record needs a health check"),  # CloudFront's health cannot be evaluated
    (failover(set_identifier="s" * 128),
     "environment, stack and set_identifier together are too long for the ownership record"),
])
def test_bad_failover_records_are_refused(item, reason):
    assert reason in refused(records=[item], environment="e" * 40, stack="s" * 40)


def test_a_health_check_name_must_be_listed():
    assert ("records[0] (app.prod.example.com A).health_check: 'nope' is a name, but health_checks is not given; list the "
            "health check in health_checks or give its id.") == refused(records=[failover(health_check="nope")])
    assert ("records[0] (app.prod.example.com A).health_check: 'nope' is neither a name in health_checks (a, b) nor a health "
            "check id.") == refused(records=[failover(health_check="nope")], health_checks=[check("b"), check("a")])
    assert "neither a name in health_checks (none listed) nor a health check id." in refused(
        records=[failover(health_check="nope")], health_checks=[])
    # A health check id needs no listing; a listed name is kept as the name (its id is known only once it exists).
    assert records_of(failover(health_check=HC_ID))[0]["health_check"] == HC_ID
    assert records_of(failover(health_check="a"), health_checks=[check("a")])[0]["health_check"] == "a"


@pytest.mark.parametrize("items, reason", [
    ([failover(), failover()], "records[1]: app.prod.example.com A app-primary is also records[0]; list each record set once."),
    ([record(name="www", type="A", values=["192.0.2.1"]), record(name="WWW.prod.example.com.", type="A", values=["192.0.2.2"])],
     "records[1]: www.prod.example.com A is also records[0]"),
    ([failover(set_identifier="blue"), failover(role="SECONDARY", set_identifier="blue")],
     "records[1]: app.prod.example.com A blue is also records[0]"),
    ([failover(role="SECONDARY")], "records: the failover records of app.prod.example.com A need exactly one PRIMARY; got 0."),
    ([failover(set_identifier="a"), failover(set_identifier="b")], "need exactly one PRIMARY; got 2."),
    ([failover(), failover(role="SECONDARY", set_identifier="s1"), failover(role="SECONDARY", set_identifier="s2")],
     "records: the failover records of app.prod.example.com A take at most one SECONDARY; got 2."),
    ([failover(), record(name="app", type="A", values=["192.0.2.9"])],
     "records: app.prod.example.com A mixes failover and plain records"),
    ([record(name="www", type="CNAME", values=["x.example.org"]), record(name="www", type="TXT", values=["x"])],
     "records: www.prod.example.com has a CNAME and TXT records; a CNAME cannot share its name with any other type."),
    ([failover(values=None, health_check=HC_ID, alias={"dns_name": "d1.cloudfront.net", "hosted_zone_id": None, "evaluate_target_health": None}),
      failover(role="SECONDARY", values=None, alias={"dns_name": "d2.cloudfront.net", "hosted_zone_id": None, "evaluate_target_health": None})],
     "records: app.prod.example.com A: CloudFront cannot be both the PRIMARY and the SECONDARY"),
])
def test_bad_record_combinations_are_refused(items, reason):
    assert reason in refused(records=items)


def test_a_failover_pair_gets_default_set_identifiers_and_keeps_its_health_checks():
    pair = records_of(failover(health_check="primary"), failover(role="SECONDARY", health_check="dr", values=["192.0.2.2"]),
                      failover(name="@", values=["192.0.2.3"]), health_checks=[check("primary"), check("dr")])
    assert [(r["name"], r["failover"], r["set_identifier"], r["health_check"]) for r in pair] == [
        ("app." + ZONE, "PRIMARY", "app-primary", "primary"), ("app." + ZONE, "SECONDARY", "app-secondary", "dr"),
        (ZONE, "PRIMARY", "apex-primary", HC_ID)]


def test_a_secondary_needs_no_health_check_and_a_primary_alone_is_accepted():
    only = records_of(failover(values=None, health_check=None, alias={"dns_name": ALB, "hosted_zone_id": ALB_ZONE,
                                                                      "evaluate_target_health": None}),
                      failover(role="SECONDARY", health_check=None, values=["192.0.2.2"]))
    assert [(r["failover"], r["health_check"]) for r in only] == [("PRIMARY", None), ("SECONDARY", None)]
    assert records_of(failover())[0]["set_identifier"] == "app-primary"


def test_unknown_values_of_an_earlier_planned_task_pass_the_format_checks():
    unknown_alias = {"dns_name": UNKNOWN, "hosted_zone_id": UNKNOWN, "evaluate_target_health": None}
    items = records_of(failover(values=None, health_check=UNKNOWN, alias=unknown_alias), record(name="b", type="A", values=[UNKNOWN]))
    assert items[0]["alias"] == {"dns_name": UNKNOWN, "hosted_zone_id": UNKNOWN, "evaluate_target_health": True}
    assert items[1]["values"] == [UNKNOWN]
    assert build_spec(params(health_checks=[check(fqdn=UNKNOWN)]))["health_checks"]["prod-alb"]["fqdn"] == UNKNOWN


# ---- health checks ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("item, reason", [
    (check(name=""), "health_checks[0].name: give a name of 1 to 255 characters (it becomes the Name tag)."),
    (check(name="n" * 256), "health_checks[0].name: give a name of 1 to 255 characters"),
    (check(type="UDP"), "health_checks[0] (prod-alb).type: 'UDP' is not one of HTTPS, HTTP, HTTPS_STR_MATCH, HTTP_STR_MATCH, TCP."),
    (check(fqdn="bad name.example.com"), "health_checks[0] (prod-alb).fqdn: 'bad name.example.com' holds the label 'bad name'"),
    (check(fqdn="*.example.com"), "health_checks[0] (prod-alb).fqdn: '*.example.com': * is a wildcard only"),
    (check(request_interval=20), "health_checks[0] (prod-alb).request_interval: Route 53 checks every 10 or 30 seconds only; got 20."),
    (check(request_interval=60), "every 10 or 30 seconds only; got 60."),
    (check(failure_threshold=0), "health_checks[0] (prod-alb).failure_threshold: Route 53 accepts 1 to 10 consecutive checks; got 0."),
    (check(failure_threshold=11), "1 to 10 consecutive checks; got 11."),
    (check(port=0), "health_checks[0] (prod-alb).port: 0 is not a port (1 to 65535)."),
    (check(port=65536), "65536 is not a port (1 to 65535)."),
    (check(type="TCP"), "health_checks[0] (prod-alb).port: a TCP health check needs the port to connect to."),
    (check(type="TCP", port=5432, resource_path="/x"), ".resource_path: a TCP health check requests no path"),
    (check(resource_path="healthz"), ".resource_path: 'healthz' must start with / and have at most 255 characters."),
    (check(resource_path="/" + "p" * 255), "must start with / and have at most 255 characters."),
    (check(type="HTTPS_STR_MATCH"), ".search_string: HTTPS_STR_MATCH needs the string to find in the response body (1 to 255"),
    (check(type="HTTP_STR_MATCH", search_string="s" * 256), ".search_string: HTTP_STR_MATCH needs the string"),
    (check(search_string="ok"), ".search_string: only the HTTP_STR_MATCH and HTTPS_STR_MATCH types search the body."),
    (check(type="HTTP", enable_sni=True), ".enable_sni: SNI is part of TLS; only HTTPS and HTTPS_STR_MATCH health checks use it."),
    (check(regions=["us-east-1", "eu-west-1", "mars-north-1"]), ".regions: mars-north-1 not among Route 53's checker regions"),
    (check(regions=["us-east-1", "us-east-1", "eu-west-1"]), ".regions: a region is listed twice."),
    (check(regions=["us-east-1", "eu-west-1"]), ".regions: Route 53 needs at least 3 checker regions; got 2."),
])
def test_bad_health_checks_are_refused(item, reason):
    assert reason in refused(health_checks=[item])


def test_a_health_check_name_is_listed_once():
    assert "health_checks[1].name: 'prod-alb' is listed twice; every health check needs its own name." == refused(
        health_checks=[check(), check()])


@pytest.mark.parametrize("interval, threshold, port", [(10, 1, 1), (30, 10, 65535)])
def test_the_limits_of_interval_threshold_and_port_are_accepted(interval, threshold, port):
    spec = build_spec(params(health_checks=[check(request_interval=interval, failure_threshold=threshold, port=port)]))
    assert spec["health_checks"]["prod-alb"]["request_interval"] == interval
    assert (spec["health_checks"]["prod-alb"]["failure_threshold"], spec["health_checks"]["prod-alb"]["port"]) == (threshold, port)


@pytest.mark.parametrize("item, expected", [
    (check(type="HTTPS"), {"port": 443, "resource_path": "/", "enable_sni": True, "search_string": None}),
    (check(type="HTTPS", enable_sni=False), {"port": 443, "resource_path": "/", "enable_sni": False, "search_string": None}),
    (check(type="HTTP", resource_path="/healthz"), {"port": 80, "resource_path": "/healthz", "enable_sni": None, "search_string": None}),
    (check(type="HTTP_STR_MATCH", search_string="ok"), {"port": 80, "resource_path": "/", "enable_sni": None, "search_string": "ok"}),
    (check(type="TCP", port=5432), {"port": 5432, "resource_path": None, "enable_sni": None, "search_string": None}),
])
def test_health_check_defaults_by_type(item, expected):
    result = build_spec(params(health_checks=[item]))["health_checks"]["prod-alb"]
    assert {key: result[key] for key in expected} == expected


def test_health_check_fqdn_is_normalised_and_regions_sorted_or_dropped_when_all():
    checks = build_spec(params(health_checks=[
        check("a", fqdn="Web-1.US-East-1.elb.amazonaws.com.", regions=["us-west-2", "eu-west-1", "us-east-1"]),
        check("b", regions=list(reversed(CHECKER_REGIONS)))]))["health_checks"]
    assert checks["a"]["fqdn"] == ALB and checks["a"]["regions"] == ["eu-west-1", "us-east-1", "us-west-2"]
    assert checks["b"]["regions"] is None  # all of them: what AWS uses when none are named


# ---- comparison helpers --------------------------------------------------------------------------------
def test_health_check_config_and_view_round_trip_with_aws_defaults():
    spec = build_spec(params(health_checks=[check(resource_path="/healthz", request_interval=10, regions=["us-west-2", "eu-west-1", "us-east-1"])]))
    config = health_check_config(spec["health_checks"]["prod-alb"])
    assert config == {"Type": "HTTPS", "FullyQualifiedDomainName": ALB, "Port": 443, "RequestInterval": 10, "FailureThreshold": 3,
                      "MeasureLatency": False, "Inverted": False, "Disabled": False, "ResourcePath": "/healthz", "EnableSNI": True,
                      "Regions": ["eu-west-1", "us-east-1", "us-west-2"]}
    view = health_check_view(config)
    assert view == {key: spec["health_checks"]["prod-alb"][key] for key in view}
    # AWS leaves out what was not set: a missing ResourcePath is /, missing Regions are all of them.
    assert health_check_view({"Type": "HTTP", "FullyQualifiedDomainName": ALB.upper() + ".", "Port": 80})["resource_path"] == "/"
    assert health_check_view({"Type": "TCP", "Port": 22, "Regions": list(CHECKER_REGIONS)})["regions"] is None


def test_record_sets_compare_by_meaning():
    written = {"Name": "app.prod.example.com.", "Type": "A", "SetIdentifier": "app-primary", "Failover": "PRIMARY", "HealthCheckId": HC_ID,
               "AliasTarget": {"HostedZoneId": ALB_ZONE, "DNSName": ALB + ".", "EvaluateTargetHealth": True}}
    returned = dict(written, AliasTarget={"HostedZoneId": "/hostedzone/" + ALB_ZONE, "DNSName": "DualStack." + ALB.upper() + ".",
                                          "EvaluateTargetHealth": True})
    assert rrset_meaning(written) == rrset_meaning(returned)
    assert rrset_meaning(written) != rrset_meaning(dict(written, HealthCheckId="other"))
    values = {"Name": "x.", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 A.example.com."}, {"Value": "20 b.example.com"}]}
    assert rrset_meaning(values) == rrset_meaning(dict(values, ResourceRecords=list(reversed(values["ResourceRecords"]))))
    assert rrset_meaning(values) != rrset_meaning(dict(values, TTL=60))


def test_domain_names_compare_without_case_dot_or_octal_escapes():
    assert normalize_domain("\\052.App.Prod.Example.com.") == "*.app.prod.example.com"
    assert normalize_domain(None) == ""


def test_ownership_strings_round_trip_and_other_strings_are_not_ours():
    entry = registry_entry(("prod", "prod us/east,1"), "A", "app-primary")
    assert entry == ("heritage=cairn.platform/route53_dns,environment=prod,stack=prod%20us%2Feast%2C1,type=A,set=app-primary")
    assert parse_registry_value('"{0}"'.format(entry)) == ("prod", "prod us/east,1", "A", "app-primary")
    assert parse_registry_value(registry_entry(("prod", "s"), "TXT", None)) == ("prod", "s", "TXT", None)
    assert parse_registry_value('"heritage=external-dns,external-dns/owner=default"') is None
    assert parse_registry_value('"v=spf1 -all"') is None
