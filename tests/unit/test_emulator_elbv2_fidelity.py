"""The emulator's ELBv2/ACM patch (emulator/elbv2_fidelity.py), checked with boto3 through the launcher: a certificate's
InUseBy names the listeners that use it, and is cleared when they stop using it or are deleted (moto 5.2.5 never
cleared it)."""

from __future__ import annotations

import boto3

from support.network import vpc_with_subnets


def in_use_by(acm, arn):
    return acm.describe_certificate(CertificateArn=arn)["Certificate"]["InUseBy"]


def test_the_launcher_applied_the_patch(emulator):
    assert "elbv2_fidelity: skipped" not in emulator.log_path.read_text(errors="replace")


def test_in_use_by_follows_listeners(aws_env):
    acm = boto3.client("acm", region_name="us-east-1")
    elb = boto3.client("elbv2", region_name="us-east-1")
    first = acm.request_certificate(DomainName="a.example.com")["CertificateArn"]
    second = acm.request_certificate(DomainName="b.example.com")["CertificateArn"]
    _vpc, subnets = vpc_with_subnets(region="us-east-1", cidr="10.90.0.0/16")
    lb = elb.create_load_balancer(Name="fidelity", Subnets=subnets, Type="application")["LoadBalancers"][0]["LoadBalancerArn"]
    action = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}]
    listener = elb.create_listener(LoadBalancerArn=lb, Protocol="HTTPS", Port=443, Certificates=[{"CertificateArn": first}],
                                   DefaultActions=action)["Listeners"][0]["ListenerArn"]
    assert in_use_by(acm, first) == [listener]

    elb.modify_listener(ListenerArn=listener, Certificates=[{"CertificateArn": second}])
    assert in_use_by(acm, first) == [] and in_use_by(acm, second) == [listener]

    elb.delete_load_balancer(LoadBalancerArn=lb)
    assert in_use_by(acm, second) == []
    acm.delete_certificate(CertificateArn=second)
