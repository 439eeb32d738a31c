"""The emulator's CloudFront fidelity patch (emulator/cloudfront_fidelity.py), checked with boto3 through the launcher.

The CloudFront API reference (Origin) has an origin answer its OriginAccessControlId and S3OriginConfig as written;
moto 5.2.5 dropped both. The guard that skips the patch when moto's internals move is checked in a separate
interpreter, so this test process's moto is never patched.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parents[2]


def run_python(code):
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def test_the_launcher_applied_the_patch(emulator):
    assert "cloudfront_fidelity: skipped" not in emulator.log_path.read_text(errors="replace")


def test_an_origin_answers_its_origin_access_control_and_s3_settings(aws_env):
    cf = boto3.client("cloudfront", region_name="us-east-1")
    oac = cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": "assets", "SigningProtocol": "sigv4", "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})
    oac_id = oac["OriginAccessControl"]["Id"]
    origins = [{"Id": "s3", "DomainName": "assets.s3.us-east-1.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""},
                "OriginAccessControlId": oac_id},
               {"Id": "api", "DomainName": "api.example.com", "CustomOriginConfig": {
                   "HTTPPort": 80, "HTTPSPort": 443, "OriginProtocolPolicy": "https-only"}}]
    config = {"CallerReference": "fidelity", "Comment": "", "Enabled": True, "Origins": {"Quantity": 2, "Items": origins},
              "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "https-only",
                                       "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}}
    created = cf.create_distribution(DistributionConfig=config)
    dist_id = created["Distribution"]["Id"]
    for answer in (created["Distribution"]["DistributionConfig"], cf.get_distribution_config(Id=dist_id)["DistributionConfig"],
                   cf.get_distribution(Id=dist_id)["Distribution"]["DistributionConfig"],
                   cf.list_distributions()["DistributionList"]["Items"][0]):
        s3_origin, api_origin = answer["Origins"]["Items"]
        assert s3_origin["OriginAccessControlId"] == oac_id
        assert s3_origin["S3OriginConfig"] == {"OriginAccessIdentity": ""}
        assert "S3OriginConfig" not in api_origin and not api_origin.get("OriginAccessControlId")

    # An update replaces the origin's settings, as CloudFront does.
    config = cf.get_distribution_config(Id=dist_id)
    changed = config["DistributionConfig"]
    changed["Origins"]["Items"][0].pop("OriginAccessControlId")
    cf.update_distribution(Id=dist_id, IfMatch=config["ETag"], DistributionConfig=changed)
    assert not cf.get_distribution_config(Id=dist_id)["DistributionConfig"]["Origins"]["Items"][0].get("OriginAccessControlId")


def test_apply_twice_patches_once():
    done = run_python("from emulator import cloudfront_fidelity\n"
                      "print(cloudfront_fidelity.apply(), cloudfront_fidelity.apply())\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['origin-access-control'] ['origin-access-control']"
    assert done.stderr == ""


def test_a_moved_moto_internal_skips_the_patch_with_a_log_line():
    done = run_python("from moto.cloudfront import models\n"
                      "del models.Origin\n"
                      "from emulator import cloudfront_fidelity\n"
                      "print(cloudfront_fidelity.apply())\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert "cloudfront_fidelity: skipped origin-access-control: moto.cloudfront.models.Origin is gone" in done.stderr
