"""Start-up patch that keeps an ACM certificate's ``InUseBy`` in step with the ELBv2 listeners that use it.

moto 5.2.5 adds a listener to its certificate's ``InUseBy`` when CreateListener names the certificate, and never
removes it: after DeleteListener, DeleteLoadBalancer or a ModifyListener that switches certificates, ACM still
reports the certificate in use, so DeleteCertificate-after-teardown flows (plugins/modules/acm_certificates.py
refuses to delete a certificate in use) can never finish. AWS clears ``InUseBy`` once the load balancer no longer
uses the certificate (https://docs.aws.amazon.com/acm/latest/APIReference/API_CertificateDetail.html).

After each of those operations (and Add/RemoveListenerCertificates) the patch recomputes, for the region, which
listeners use which certificate and rewrites the ELBv2 entries of every certificate's ``InUseBy`` (other entries,
such as classic load balancers, are left alone). moto's entries name listeners, where AWS names load balancers;
that is kept. If the moto internals it wraps are missing (a moto upgrade), it is skipped with one line on stderr.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

PATCHED = "_cairn_elbv2_fidelity"
WRAPPED = ("create_listener", "modify_listener", "delete_listener", "delete_load_balancer",
           "add_listener_certificates", "remove_listener_certificates")


def _log(message: str) -> None:
    print(f"emulator: elbv2_fidelity: {message}", file=sys.stderr, flush=True)


def listener_certificates(backend: Any) -> dict[str, list[str]]:
    """{certificate ARN: [listener ARNs]} of every listener of the backend's region."""
    users: dict[str, list[str]] = {}
    for balancer in backend.load_balancers.values():
        for listener in balancer.listeners.values():
            arns = set(getattr(listener, "certificates", None) or [])
            if getattr(listener, "certificate", None):
                arns.add(listener.certificate)
            for arn in arns:
                users.setdefault(arn, []).append(listener.arn)
    return users


def sync_in_use(backend: Any) -> None:
    from moto.acm.models import acm_backends

    acm = acm_backends[backend.account_id][backend.region_name]
    users = listener_certificates(backend)
    for arn, certificate in getattr(acm, "_certificates", {}).items():
        kept = [user for user in certificate.in_use_by if ":elasticloadbalancing:" not in user or ":listener/" not in user]
        certificate.in_use_by = kept + sorted(users.get(arn, []))


def apply() -> list[str]:
    try:
        from moto.elbv2.models import ELBv2Backend
        from moto.acm.models import CertBundle  # noqa: F401 - only checks that ACM's model is there
    except ImportError as exc:
        _log(f"skipped certificate-in-use: {exc}")
        return []
    missing = [name for name in WRAPPED if not callable(getattr(ELBv2Backend, name, None))]
    if missing:
        _log("skipped certificate-in-use: ELBv2Backend lacks " + ", ".join(missing))
        return []
    for name in WRAPPED:
        original = getattr(ELBv2Backend, name)
        if getattr(original, PATCHED, False):
            continue

        def wrapper(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            try:
                return _original(self, *args, **kwargs)
            finally:
                sync_in_use(self)

        wrapper = functools.wraps(original)(wrapper)
        setattr(wrapper, PATCHED, True)
        setattr(ELBv2Backend, name, wrapper)
    return ["certificate-in-use"]
