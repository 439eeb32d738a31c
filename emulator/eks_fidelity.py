"""A partial model of Amazon EKS (REST-JSON, API version 2017-11-01) on top of moto's EKS backend.

moto 5.2.5 has EKS clusters, managed node groups and Fargate profiles, but no route for add-ons, access
entries, cluster/node group version updates or DescribeUpdate/ListUpdates; UpdateClusterConfig answers the
cluster instead of an ``update``; DescribeCluster has no clusterSecurityGroupId, vpcId or accessConfig; node
group sizes are not checked. This model answers (routed by the SigV4 signing name ``eks``):

- add-ons: CreateAddon, DescribeAddon, UpdateAddon, DeleteAddon, ListAddons, DescribeAddonVersions;
- access entries: CreateAccessEntry, DescribeAccessEntry, UpdateAccessEntry, DeleteAccessEntry,
  ListAccessEntries, AssociateAccessPolicy, DisassociateAccessPolicy, ListAssociatedAccessPolicies,
  ListAccessPolicies;
- updates: UpdateClusterVersion, UpdateClusterConfig, UpdateNodegroupVersion, UpdateNodegroupConfig,
  DescribeUpdate, ListUpdates (every update completes at once, status Successful);
- CreateCluster, DescribeCluster, DeleteCluster, CreateNodegroup, CreateFargateProfile: through moto's
  backend (its objects stay the single source of truth), with EKS's validation and the fields moto lacks;
- TagResource, UntagResource, ListTagsForResource for add-on, access entry, node group and Fargate profile
  ARNs (moto tags clusters only).

Every other request goes to moto unchanged (ListClusters, DescribeNodegroup, DeleteNodegroup, the Fargate
reads and deletes, cluster tags); operations neither this model nor moto serves answer 501 NotImplemented.
Faithful to the EKS API reference (https://docs.aws.amazon.com/eks/latest/APIReference/) and botocore's
service model (botocore/data/eks/2017-11-01/service-2.json), which supplies the routes and the input
shapes; moto's own serializer renders moto's objects. Error messages are EKS's where known, else ours.

One deviation by design: a cluster's ``endpoint`` is ``http://<request Host header>/_eks/<region>/<name>``,
served by emulator/kube_api.py, not ``https://<id>.<gr7>.<region>.eks.amazonaws.com``.

The model keeps its state on moto's objects (so moto's reset and DeleteCluster drop it); it checks the
moto internals it relies on at start-up and, if they moved, hands every request to moto (one line on stderr).
emulator/README.md lists what is modelled and what is not.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import functools
import ipaddress
import json
import re
import sys
import threading
import time
import uuid
from typing import Any, Callable, NamedTuple

from emulator.restjson import RestJsonRoutes

from emulator.access_analyzer import Request, Response

SIGNING_NAME = "eks"
BOTOCORE_SERVICE = "eks"
EXTRAS = "_cairn_eks"  # attribute of moto's Cluster holding this model's state of the cluster

# Kubernetes versions EKS offers (standard + extended support) and the default of CreateCluster.
SUPPORTED_VERSIONS = ("1.29", "1.30", "1.31", "1.32", "1.33", "1.34")
DEFAULT_VERSION = "1.33"
# Amazon EKS optimized AMI release of a node group per Kubernetes minor (illustrative, not the latest).
RELEASE_VERSIONS = {minor: f"{minor}.0-20250101" for minor in SUPPORTED_VERSIONS}
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
AUTHENTICATION_MODES = ("CONFIG_MAP", "API_AND_CONFIG_MAP", "API")  # in the only order EKS allows changes
ACCESS_ENTRY_MODES = ("API", "API_AND_CONFIG_MAP")
ENTRY_TYPES = ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX")
# Kubernetes identity EKS gives the node entries it manages (username, groups).
NODE_IDENTITIES = {
    "EC2_LINUX": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes"]),
    "EC2_WINDOWS": ("system:node:{{EC2PrivateDNSName}}", ["system:nodes", "eks:kube-proxy-windows"]),
    "FARGATE_LINUX": ("system:node:{{SessionName}}", ["system:node-proxier"]),
    "EC2": ("system:node:{{EC2PrivateDNSName}}", []),
    "HYBRID_LINUX": ("system:node:{{SessionName}}", ["system:nodes"]),
    "HYPERPOD_LINUX": ("system:node:hyperpod-{{SessionName}}", ["system:nodes"]),
}
RESERVED_USERNAME_PREFIXES = ("system:", "eks:", "aws:", "amazon:", "iam:")
# Cluster access policies (a subset of ListAccessPolicies): arn:<partition>:eks::aws:cluster-access-policy/<name>.
ACCESS_POLICIES = ("AmazonEKSAdminPolicy", "AmazonEKSAdminViewPolicy", "AmazonEKSAutoNodePolicy", "AmazonEKSBlockStoragePolicy",
                   "AmazonEKSClusterAdminPolicy", "AmazonEKSComputePolicy", "AmazonEKSEditPolicy", "AmazonEKSLoadBalancingPolicy",
                   "AmazonEKSNetworkingPolicy", "AmazonEKSViewPolicy")
CLUSTER_ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"

# Add-on versions: the same strings as cairn.platform.eks_addons' PINNED_ADDON_VERSIONS (plugins/modules/eks_addons.py,
# real eksbuild versions from the EKS user guide and `aws eks describe-addon-versions`). A version is compatible with
# the Kubernetes minors that list it here and is the default version for them.
ADDON_VERSIONS = {
    "1.30": {"vpc-cni": "v1.20.1-eksbuild.3", "coredns": "v1.11.4-eksbuild.24", "kube-proxy": "v1.30.14-eksbuild.8",
             "aws-ebs-csi-driver": "v1.52.1-eksbuild.1", "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
             "adot": "v0.109.0-eksbuild.2"},
    "1.31": {"vpc-cni": "v1.20.1-eksbuild.3", "coredns": "v1.11.4-eksbuild.24", "kube-proxy": "v1.31.10-eksbuild.8",
             "aws-ebs-csi-driver": "v1.52.1-eksbuild.1", "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
             "adot": "v0.109.0-eksbuild.2"},
    "1.32": {"vpc-cni": "v1.20.1-eksbuild.3", "coredns": "v1.11.4-eksbuild.24", "kube-proxy": "v1.32.6-eksbuild.8",
             "aws-ebs-csi-driver": "v1.52.1-eksbuild.1", "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
             "adot": "v0.131.0-eksbuild.1"},
    "1.33": {"vpc-cni": "v1.20.1-eksbuild.3", "coredns": "v1.12.4-eksbuild.1", "kube-proxy": "v1.33.3-eksbuild.6",
             "aws-ebs-csi-driver": "v1.52.1-eksbuild.1", "amazon-cloudwatch-observability": "v4.7.0-eksbuild.1",
             "adot": "v0.131.0-eksbuild.1"},
}
# name -> (type, requiresIamPermissions, defaultNamespace), as DescribeAddonVersions reports them.
ADDONS = {
    "vpc-cni": ("networking", True, "kube-system"),
    "coredns": ("networking", False, "kube-system"),
    "kube-proxy": ("networking", False, "kube-system"),
    "aws-ebs-csi-driver": ("storage", True, "kube-system"),
    "amazon-cloudwatch-observability": ("observability", True, "amazon-cloudwatch"),
    "adot": ("observability", True, "opentelemetry-operator-system"),
}

CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")
ROLE_OR_USER_ARN = re.compile(r"^arn:([^:]+):iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)$")
STS_ARN = re.compile(r"^arn:([^:]+):sts::(\d{12}):(assumed-role|user)/([^/]+)(?:/.*)?$")
EKS_ARN = re.compile(r"^arn:([^:]+):eks:([^:]+):(\d{12}):(cluster|nodegroup|fargateprofile|addon|access-entry)/(.+)$")
ADDON_VERSION = re.compile(r"^v(\d+)\.(\d+)\.(\d+)-eksbuild\.(\d+)$")
MINOR = re.compile(r"^1\.(\d+)$")


def _log(message: str) -> None:
    print(f"emulator: eks_fidelity: {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# Errors (restJson1: x-amzn-ErrorType header + {"message": ..., "clusterName": ...} body)
# --------------------------------------------------------------------------------------------
class EksError(Exception):
    def __init__(self, code: str, status: int, message: str, **fields: Any):
        super().__init__(message)
        self.code, self.status = code, status
        self.body = {key: value for key, value in fields.items() if value is not None}
        self.body["message"] = message


def invalid_parameter(message: str, **fields: Any) -> EksError:
    return EksError("InvalidParameterException", 400, message, **fields)


def invalid_request(message: str, **fields: Any) -> EksError:
    return EksError("InvalidRequestException", 400, message, **fields)


def not_found(message: str, **fields: Any) -> EksError:
    return EksError("ResourceNotFoundException", 404, message, **fields)


def in_use(message: str, **fields: Any) -> EksError:
    return EksError("ResourceInUseException", 409, message, **fields)


def from_moto(error: Any) -> EksError:
    """A moto EKSError (exceptions.py: TYPE, STATUS, description = JSON of its fields) as ours."""
    try:
        fields = json.loads(error.description)
    except (TypeError, ValueError):
        fields = {"message": str(error)}
    message = fields.pop("message", "") or ""
    return EksError(error.TYPE, error.STATUS, message, **fields)


# --------------------------------------------------------------------------------------------
# The REST-JSON protocol, from botocore's model of the real API
# --------------------------------------------------------------------------------------------
ROUTES = RestJsonRoutes(BOTOCORE_SERVICE)
match = ROUTES.match


def service_model() -> Any:
    return ROUTES.model


def parse_input(operation: str, labels: dict[str, str], query: dict[str, list[str]], body: bytes) -> dict[str, Any]:
    shape = service_model().operation_model(operation).input_shape
    try:
        document = json.loads(body) if body.strip() else {}
    except ValueError as exc:
        raise invalid_parameter("The request body is not valid JSON.") from exc
    if not isinstance(document, dict):
        raise invalid_parameter("The request body must be a JSON object.")
    params: dict[str, Any] = {}
    for name, member in (shape.members.items() if shape else ()):
        location = member.serialization.get("location")
        key = member.serialization.get("name", name)
        if location == "uri":
            if key in labels:
                params[name] = labels[key]
        elif location == "querystring":
            if key in query:
                values = query[key]
                if member.type_name == "list":
                    params[name] = values
                elif member.type_name == "integer":
                    try:
                        params[name] = int(values[0])
                    except ValueError as exc:
                        raise invalid_parameter(f"{key} must be an integer.") from exc
                elif member.type_name == "boolean":
                    params[name] = values[0].lower() == "true"
                else:
                    params[name] = values[0]
        elif location is None and name in document:
            params[name] = document[name]
    for name in (shape.required_members if shape else ()):
        if params.get(name) in (None, ""):
            raise invalid_parameter(f"{name} is required.")
    return params


def _now() -> float:
    return round(time.time(), 3)


def _json(payload: Any, status: int = 200) -> Response:
    return Response(status, [("Content-Type", "application/json")], json.dumps(payload).encode())


def _error(error: EksError) -> Response:
    return Response(error.status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", error.code)],
                    json.dumps(error.body).encode())


def render_moto(operation: str, result: dict[str, Any]) -> dict[str, Any]:
    """moto's own rendering of its objects for ``operation`` (moto.core.serialize, as moto's responses do)."""
    from moto.core.serialize import XFormedAttributePicker, get_serializer_class
    from moto.core.utils import get_service_model

    model = get_service_model(BOTOCORE_SERVICE)
    serializer = get_serializer_class(BOTOCORE_SERVICE, "rest-json")(
        operation_model=model.operation_model(operation), pretty_print=False, value_picker=XFormedAttributePicker())
    return json.loads(serializer.serialize(result)["body"] or "{}")


def paginate(items: list[Any], params: dict[str, Any], low: int = 1, high: int = 100) -> tuple[list[Any], str | None]:
    """One page and the next token (opaque: base64 of the offset), as EKS's list calls page."""
    size = params.get("maxResults", high)
    if not low <= size <= high:
        raise invalid_parameter(f"maxResults must be between {low} and {high}.")
    start = 0
    if params.get("nextToken"):
        try:
            start = int(base64.b64decode(params["nextToken"], validate=True).decode())
        except (ValueError, binascii.Error) as exc:
            raise invalid_parameter("The nextToken is not valid.") from exc
    page = items[start:start + size]
    following = start + size
    return page, (base64.b64encode(str(following).encode()).decode() if following < len(items) else None)


def _minor(version: str) -> int:
    found = MINOR.match(version or "")
    if not found:
        raise invalid_parameter(f"Unsupported Kubernetes version {version}.")
    return int(found.group(1))


def _addon_version_key(version: str) -> tuple[int, ...]:
    found = ADDON_VERSION.match(version)
    return tuple(int(part) for part in found.groups()) if found else (0,)


@functools.lru_cache(maxsize=1)
def addon_catalog() -> dict[str, dict[str, list[str]]]:
    """add-on -> version -> compatible Kubernetes minors (newest version first)."""
    catalog: dict[str, dict[str, list[str]]] = {name: {} for name in ADDONS}
    for minor, pinned in ADDON_VERSIONS.items():
        for name, version in pinned.items():
            catalog[name].setdefault(version, []).append(minor)
    return {name: dict(sorted(versions.items(), key=lambda item: _addon_version_key(item[0]), reverse=True))
            for name, versions in catalog.items()}


def _cidr(value: str) -> str:
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise invalid_parameter(f"The CIDR block {value} is invalid.") from exc
    return str(network)


def _make_certificate_authority(name: str) -> str:
    """base64 of a PEM self-signed CA certificate (what certificateAuthority.data holds on EKS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kubernetes")])
    start = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)
    certificate = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(start)
                   .not_valid_after(start + datetime.timedelta(days=3650))
                   .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                   .sign(key, hashes.SHA256()))
    return base64.b64encode(certificate.public_bytes(serialization.Encoding.PEM)).decode()


# --------------------------------------------------------------------------------------------
# State kept on moto's Cluster objects
# --------------------------------------------------------------------------------------------
class Extras:
    """This model's part of one cluster: add-ons, access entries, updates."""

    def __init__(self) -> None:
        self.addons: dict[str, dict[str, Any]] = {}
        self.access_entries: dict[str, dict[str, Any]] = {}  # principal ARN -> entry (with "policies")
        self.updates: list[dict[str, Any]] = []  # {"update": ..., "nodegroup": name|None, "addon": name|None}


class Context(NamedTuple):
    account_id: str
    region: str
    partition: str
    host: str
    access_key: str


def check_internals() -> str | None:
    """None when the moto internals this model relies on look as expected, else why not."""
    import importlib
    import inspect

    needed = {"moto.core.serialize": ("XFormedAttributePicker", "get_serializer_class"), "moto.core.utils": ("get_service_model",),
              "moto.ec2.models": ("ec2_backends",), "moto.eks.models": ("eks_backends", "EKSBackend", "Cluster", "Nodegroup"),
              "moto.eks.exceptions": ("EKSError",), "moto.eks.responses": ("EKSResponse",), "moto.sts.models": ("sts_backends",)}
    for module_name, names in needed.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            return f"import failed: {exc}"
        missing = [name for name in names if not hasattr(module, name)]
        if missing:
            return f"{module_name} has no {', '.join(missing)}"
    eks_models = importlib.import_module("moto.eks.models")
    expected = {
        "EKSBackend.create_cluster": ("name", "role_arn", "resources_vpc_config", "version", "logging", "tags", "encryption_config"),
        "EKSBackend.create_nodegroup": ("cluster_name", "node_role", "nodegroup_name", "subnets", "scaling_config", "version"),
        "EKSBackend.create_fargate_profile": ("fargate_profile_name", "cluster_name", "selectors", "pod_execution_role_arn"),
        "EKSBackend.update_nodegroup_config": ("cluster_name", "nodegroup_name", "labels", "taints", "scaling_config", "update_config"),
        "EKSBackend.delete_cluster": ("name",),
    }
    for qualified, names in expected.items():
        function = getattr(eks_models.EKSBackend, qualified.split(".")[1], None)
        if function is None or not set(names) <= set(inspect.signature(function).parameters):
            return f"{qualified} is not as expected"
    for cls, attributes in ((eks_models.Cluster, ("resources_vpc_config", "identity", "certificate_authority", "nodegroups",
                                                  "fargate_profiles", "logging", "version", "tags", "arn")),
                            (eks_models.Nodegroup, ("scaling_config", "version", "release_version", "node_role", "tags", "arn",
                                                    "update_config", "resources", "remote_access", "disk_size", "ami_type")),
                            (eks_models.FargateProfile, ("pod_execution_role_arn", "tags", "fargate_profile_arn"))):
        try:
            source = inspect.getsource(cls.__init__)
        except (OSError, TypeError):  # no source shipped: the checks of the methods above must do
            continue
        missing = [name for name in attributes if f"self.{name}" not in source]
        if missing:
            return f"{cls.__name__} has no {', '.join(missing)}"
    return None


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
class EksModel:
    """EKS operations moto lacks or answers wrongly; ``handle`` returns None for moto's."""

    WANTS_CONTEXT = True  # emulator/server.py passes the Host header and the access key

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.disabled = check_internals()
        if self.disabled:
            _log(f"disabled (moto answers every EKS request): {self.disabled}")
        self.operations: dict[str, Callable[[Context, dict[str, Any]], Any]] = {
            "CreateCluster": self.create_cluster, "DescribeCluster": self.describe_cluster, "DeleteCluster": self.delete_cluster,
            "UpdateClusterConfig": self.update_cluster_config, "UpdateClusterVersion": self.update_cluster_version,
            "CreateNodegroup": self.create_nodegroup, "UpdateNodegroupConfig": self.update_nodegroup_config,
            "UpdateNodegroupVersion": self.update_nodegroup_version, "CreateFargateProfile": self.create_fargate_profile,
            "DescribeUpdate": self.describe_update, "ListUpdates": self.list_updates,
            "CreateAddon": self.create_addon, "DescribeAddon": self.describe_addon, "UpdateAddon": self.update_addon,
            "DeleteAddon": self.delete_addon, "ListAddons": self.list_addons, "DescribeAddonVersions": self.describe_addon_versions,
            "CreateAccessEntry": self.create_access_entry, "DescribeAccessEntry": self.describe_access_entry,
            "UpdateAccessEntry": self.update_access_entry, "DeleteAccessEntry": self.delete_access_entry,
            "ListAccessEntries": self.list_access_entries, "AssociateAccessPolicy": self.associate_access_policy,
            "DisassociateAccessPolicy": self.disassociate_access_policy,
            "ListAssociatedAccessPolicies": self.list_associated_access_policies, "ListAccessPolicies": self.list_access_policies,
            "TagResource": self.tag_resource, "UntagResource": self.untag_resource, "ListTagsForResource": self.list_tags_for_resource,
        }

    def reset(self) -> None:
        """Nothing of ours to forget: the state lives on moto's objects, which moto's reset drops."""

    # -- dispatch --------------------------------------------------------------------------------
    def handle(self, request: Request, host: str = "", access_key: str = "") -> Response | None:
        if self.disabled:
            return None
        operation, labels = match(request.method, request.raw_path)
        if operation is None:
            return None  # moto's 404, as for any unknown route
        handler = self.operations.get(operation)
        if handler is None:
            if operation in _moto_operations():
                return None
            return _error(EksError("NotImplemented", 501, f"{operation} is not modelled by the emulator (emulator/README.md)."))
        context = Context(request.account_id, request.region, request.partition, host or "localhost", access_key)
        try:
            params = parse_input(operation, labels, request.query, request.body)
            with self._lock:
                answer = handler(context, params)
        except EksError as error:
            return _error(error)
        if answer is None:
            return None
        return _json(answer)

    # -- moto lookups ----------------------------------------------------------------------------
    @staticmethod
    def backend(context: Context) -> Any:
        from moto.eks.models import eks_backends

        return eks_backends[context.account_id][context.region]

    @staticmethod
    def ec2(context: Context) -> Any:
        from moto.ec2.models import ec2_backends

        return ec2_backends[context.account_id][context.region]

    def cluster(self, context: Context, name: str) -> Any:
        cluster = self.backend(context).clusters.get(name)
        if cluster is None:
            raise not_found(f"No cluster found for name: {name}.", clusterName=name)
        return cluster

    @staticmethod
    def extras(cluster: Any) -> Extras:
        extras = getattr(cluster, EXTRAS, None)
        if extras is None:
            extras = Extras()
            setattr(cluster, EXTRAS, extras)
            if getattr(cluster, "access_config", None) is None:
                cluster.access_config = {"authenticationMode": "CONFIG_MAP", "bootstrapClusterCreatorAdminPermissions": True}
        return extras

    @staticmethod
    def nodegroup(cluster: Any, name: str) -> Any:
        nodegroup = cluster.nodegroups.get(name)
        if nodegroup is None:
            raise not_found(f"No node group found for name: {name}.", clusterName=cluster.name, nodegroupName=name)
        return nodegroup

    @staticmethod
    def endpoint(context: Context, name: str) -> str:
        return f"http://{context.host}/_eks/{context.region}/{name}"

    def render_cluster(self, context: Context, operation: str, cluster: Any) -> dict[str, Any]:
        self.extras(cluster)
        answer = render_moto(operation, {"cluster": cluster})
        answer["cluster"]["endpoint"] = self.endpoint(context, cluster.name)  # per request: the Host the client used
        return answer

    def record_update(self, cluster: Any, kind: str, params: list[tuple[str, str]], nodegroup: str | None = None,
                      addon: str | None = None) -> dict[str, Any]:
        update = {"id": str(uuid.uuid4()), "status": "Successful", "type": kind,
                  "params": [{"type": name, "value": value} for name, value in params], "createdAt": _now(), "errors": []}
        self.extras(cluster).updates.append({"update": update, "nodegroup": nodegroup, "addon": addon})
        return {"update": update}

    def caller_principal(self, context: Context) -> str:
        """The IAM ARN of the caller (the role of an assumed-role session), as EKS records the cluster creator."""
        from moto.sts.models import sts_backends

        _user_id, arn, _account = sts_backends[context.account_id][context.partition].get_caller_identity(context.access_key, context.region)
        found = STS_ARN.match(arn)
        if found:
            kind = "role" if found.group(3) == "assumed-role" else "user"
            return f"arn:{found.group(1)}:iam::{found.group(2)}:{kind}/{found.group(4)}"
        return arn

    # -- clusters --------------------------------------------------------------------------------
    def _vpc_of(self, context: Context, subnet_ids: list[str], security_group_ids: list[str]) -> str:
        """The VPC of the subnets (EKS: at least two subnets, in two Availability Zones, of one VPC)."""
        ec2 = self.ec2(context)
        vpcs, zones = set(), set()
        for subnet_id in subnet_ids:
            try:
                subnet = ec2.get_subnet(subnet_id)
            except Exception as exc:  # moto's InvalidSubnetIdError
                raise invalid_parameter(f"The subnet ID '{subnet_id}' does not exist") from exc
            vpcs.add(subnet.vpc_id)
            zones.add(subnet.availability_zone)
        if len(vpcs) > 1:
            raise invalid_parameter("Subnets must all belong to the same VPC.")
        if len(zones) < 2:
            raise invalid_parameter("Subnets specified must be in at least two different AZs")
        for group_id in security_group_ids:
            group = ec2.get_security_group_from_id(group_id)
            if group is None:
                raise invalid_parameter(f"The security group '{group_id}' does not exist")
            if group.vpc_id not in vpcs:
                raise invalid_parameter(f"Security group {group_id} does not belong to the cluster's VPC.")
        return vpcs.pop()

    @staticmethod
    def _endpoint_access(config: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        public = config.get("endpointPublicAccess", current.get("endpointPublicAccess", True))
        private = config.get("endpointPrivateAccess", current.get("endpointPrivateAccess", False))
        if not public and not private:
            raise invalid_parameter("Unsupported endpoint access configuration: enable the public or the private endpoint, or both.")
        cidrs = config.get("publicAccessCidrs")
        cidrs = [_cidr(cidr) for cidr in cidrs] if cidrs else list(current.get("publicAccessCidrs") or ["0.0.0.0/0"])
        return {"endpointPublicAccess": bool(public), "endpointPrivateAccess": bool(private), "publicAccessCidrs": cidrs}

    @staticmethod
    def _enabled_log_types(logging: dict[str, Any] | None, current: set[str]) -> set[str]:
        enabled = set(current)
        for setup in (logging or {}).get("clusterLogging") or []:
            for log_type in setup.get("types") or []:
                if log_type not in LOG_TYPES:
                    raise invalid_parameter(f"Unknown log type {log_type}; valid types: {', '.join(LOG_TYPES)}.")
                (enabled.add if setup.get("enabled") else enabled.discard)(log_type)
        return enabled

    @staticmethod
    def _logging(enabled: set[str]) -> dict[str, Any]:
        setups = []
        if enabled:
            setups.append({"types": [t for t in LOG_TYPES if t in enabled], "enabled": True})
        if len(enabled) < len(LOG_TYPES):
            setups.append({"types": [t for t in LOG_TYPES if t not in enabled], "enabled": False})
        return {"clusterLogging": setups}

    @staticmethod
    def _log_types_of(cluster: Any) -> set[str]:
        return {t for setup in (cluster.logging or {}).get("clusterLogging") or [] if setup.get("enabled") for t in setup.get("types") or []}

    def create_cluster(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        name = params["name"]
        if not CLUSTER_NAME.match(name):
            raise invalid_parameter(f"The cluster name {name} is invalid: 1-100 letters, digits, hyphens and underscores, "
                                    "starting with a letter or digit.")
        backend = self.backend(context)
        if name in backend.clusters:
            raise in_use(f"Cluster already exists with name: {name}", clusterName=name)
        version = params.get("version") or DEFAULT_VERSION
        if version not in SUPPORTED_VERSIONS:
            raise invalid_parameter(f"unsupported Kubernetes version {version}")
        vpc_request = params.get("resourcesVpcConfig") or {}
        subnet_ids = list(vpc_request.get("subnetIds") or [])
        security_group_ids = list(vpc_request.get("securityGroupIds") or [])
        vpc_id = self._vpc_of(context, subnet_ids, security_group_ids)
        access = dict(self._endpoint_access(vpc_request, {}))
        access_request = params.get("accessConfig") or {}
        mode = access_request.get("authenticationMode") or "CONFIG_MAP"
        if mode not in AUTHENTICATION_MODES:
            raise invalid_parameter(f"Unsupported authentication mode {mode}.")
        bootstrap = access_request.get("bootstrapClusterCreatorAdminPermissions", True)
        enabled_logs = self._enabled_log_types(params.get("logging"), set())
        for config in params.get("encryptionConfig") or []:
            if config.get("resources") != ["secrets"] or not (config.get("provider") or {}).get("keyArn"):
                raise invalid_parameter("encryptionConfig must name resources [\"secrets\"] and a provider keyArn.")
        network = dict(params.get("kubernetesNetworkConfig") or {})
        if network.get("serviceIpv4Cidr"):
            network["serviceIpv4Cidr"] = _cidr(network["serviceIpv4Cidr"])
        network.setdefault("serviceIpv4Cidr", "172.20.0.0/16")
        network.setdefault("ipFamily", "ipv4")
        try:
            cluster = backend.create_cluster(
                name=name, role_arn=params.get("roleArn") or "", version=version,
                resources_vpc_config={"subnetIds": subnet_ids, "securityGroupIds": security_group_ids, **access},
                kubernetes_network_config=network, logging=self._logging(enabled_logs),
                client_request_token=params.get("clientRequestToken"), tags=dict(params.get("tags") or {}),
                encryption_config=params.get("encryptionConfig") or [], remote_network_config=params.get("remoteNetworkConfig"))
        except Exception as exc:
            from moto.eks.exceptions import EKSError

            if isinstance(exc, EKSError):
                raise from_moto(exc) from exc
            raise
        # What moto lacks: a cluster security group in the VPC, per-cluster OIDC issuer, a real CA, access config.
        suffix = uuid.uuid4().hex[:10]
        sg_name = f"eks-cluster-sg-{name}-{suffix}"
        group = self.ec2(context).create_security_group(
            sg_name, "EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, "
            "as well as any managed workloads.", vpc_id=vpc_id,
            tags={"Name": sg_name, "aws:eks:cluster-name": name, f"kubernetes.io/cluster/{name}": "owned"})
        cluster.resources_vpc_config = {"subnetIds": subnet_ids, "securityGroupIds": security_group_ids,
                                        "clusterSecurityGroupId": group.id, "vpcId": vpc_id, **access}
        cluster.identity = {"oidc": {"issuer": f"https://oidc.eks.{context.region}.amazonaws.com/id/{uuid.uuid4().hex.upper()}"}}
        cluster.certificate_authority = {"data": _make_certificate_authority(name)}
        cluster.endpoint = self.endpoint(context, name)
        cluster.access_config = {"bootstrapClusterCreatorAdminPermissions": bool(bootstrap), "authenticationMode": mode}
        cluster.health = {"issues": []}
        self.extras(cluster)
        principal = self.caller_principal(context)
        if bootstrap and mode in ACCESS_ENTRY_MODES and ROLE_OR_USER_ARN.match(principal):
            entry = self._new_entry(context, cluster, principal, "STANDARD", [], None, {})
            entry["policies"][self.policy_arn(context, CLUSTER_ADMIN_POLICY)] = self._association(
                self.policy_arn(context, CLUSTER_ADMIN_POLICY), {"type": "cluster", "namespaces": []})
        return self.render_cluster(context, "CreateCluster", cluster)

    def describe_cluster(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        return self.render_cluster(context, "DescribeCluster", self.cluster(context, params["name"]))

    def delete_cluster(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["name"])
        if cluster.nodegroups:
            raise in_use("Cluster has nodegroups attached", clusterName=cluster.name, nodegroupName=",".join(cluster.nodegroups))
        if cluster.fargate_profiles:
            raise in_use("Cluster has fargate profiles attached", clusterName=cluster.name)
        self.backend(context).delete_cluster(name=cluster.name)
        group_id = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")
        if group_id:
            try:
                self.ec2(context).delete_security_group(group_id=group_id)
            except Exception:  # already gone or referenced: EKS retries; nothing to report here  # noqa: BLE001
                pass
        cluster.status = "DELETING"
        return self.render_cluster(context, "DeleteCluster", cluster)

    def update_cluster_config(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["name"])
        self.extras(cluster)
        given = [key for key in params if key not in ("name", "clientRequestToken")]
        vpc_request = params.get("resourcesVpcConfig") or {}
        kinds = []
        if any(key in vpc_request for key in ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs")):
            kinds.append("EndpointAccessUpdate")
        if any(key in vpc_request for key in ("subnetIds", "securityGroupIds")):
            kinds.append("VpcConfigUpdate")
        if "logging" in params:
            kinds.append("LoggingUpdate")
        if "accessConfig" in params:
            kinds.append("AccessConfigUpdate")
        unmodelled = [key for key in given if key not in ("resourcesVpcConfig", "logging", "accessConfig")]
        unmodelled += [f"resourcesVpcConfig.{key}" for key in vpc_request
                       if key not in ("endpointPublicAccess", "endpointPrivateAccess", "publicAccessCidrs", "subnetIds", "securityGroupIds")]
        if unmodelled:
            raise EksError("NotImplemented", 501, f"UpdateClusterConfig of {', '.join(unmodelled)} is not modelled by the emulator.")
        if not kinds:
            raise invalid_parameter("No changes needed: the request names no configuration to update.", clusterName=cluster.name)
        if len(kinds) > 1:
            raise invalid_parameter("Only one type of update can be allowed.", clusterName=cluster.name)
        kind = kinds[0]
        vpc = dict(cluster.resources_vpc_config or {})
        if kind == "EndpointAccessUpdate":
            access = self._endpoint_access(vpc_request, vpc)
            if all(vpc.get(key) == value for key, value in access.items()):
                raise invalid_parameter(
                    f"Cluster is already at the desired configuration with endpointPrivateAccess: {str(access['endpointPrivateAccess']).lower()}"
                    f" , endpointPublicAccess: {str(access['endpointPublicAccess']).lower()}, and Public Endpoint Restrictions: "
                    f"[{', '.join(access['publicAccessCidrs'])}]", clusterName=cluster.name)
            vpc.update(access)
            cluster.resources_vpc_config = vpc
            update_params = [("EndpointPublicAccess", str(access["endpointPublicAccess"]).lower()),
                             ("EndpointPrivateAccess", str(access["endpointPrivateAccess"]).lower()),
                             ("PublicAccessCidrs", json.dumps(access["publicAccessCidrs"]))]
        elif kind == "VpcConfigUpdate":
            subnet_ids = list(vpc_request.get("subnetIds") or vpc.get("subnetIds") or [])
            security_group_ids = list(vpc_request["securityGroupIds"] if "securityGroupIds" in vpc_request else vpc.get("securityGroupIds") or [])
            if self._vpc_of(context, subnet_ids, security_group_ids) != vpc.get("vpcId"):
                raise invalid_parameter("Subnets must be in the same VPC as the subnets the cluster was created with.")
            vpc.update(subnetIds=subnet_ids, securityGroupIds=security_group_ids)
            cluster.resources_vpc_config = vpc
            update_params = [("Subnets", json.dumps(subnet_ids)), ("SecurityGroups", json.dumps(security_group_ids))]
        elif kind == "LoggingUpdate":
            current = self._log_types_of(cluster)
            enabled = self._enabled_log_types(params["logging"], current)
            if enabled == current:
                raise invalid_parameter("No changes needed for the logging config provided", clusterName=cluster.name)
            cluster.logging = self._logging(enabled)
            update_params = [("ClusterLogging", json.dumps(params["logging"].get("clusterLogging") or []))]
        else:
            mode = (params["accessConfig"] or {}).get("authenticationMode")
            current = cluster.access_config["authenticationMode"]
            if mode not in AUTHENTICATION_MODES or AUTHENTICATION_MODES.index(mode) <= AUTHENTICATION_MODES.index(current):
                raise invalid_parameter(f"Unsupported authentication mode update from {current} to {mode}", clusterName=cluster.name)
            cluster.access_config = {**cluster.access_config, "authenticationMode": mode}
            if current not in ACCESS_ENTRY_MODES:  # entries for the roles of existing managed nodes and Fargate profiles
                for nodegroup in cluster.nodegroups.values():
                    self._node_entry(context, cluster, nodegroup.node_role, "EC2_LINUX")
                for profile in cluster.fargate_profiles.values():
                    self._node_entry(context, cluster, profile.pod_execution_role_arn, "FARGATE_LINUX")
            update_params = [("AuthenticationMode", mode)]
        return self.record_update(cluster, kind, update_params)

    def update_cluster_version(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["name"])
        target = params["version"]
        current = cluster.version
        if target not in SUPPORTED_VERSIONS or _minor(target) != _minor(current) + 1:
            raise invalid_parameter(f"Unsupported Kubernetes minor version update from {current} to {target}", clusterName=cluster.name)
        behind = sorted(name for name, nodegroup in cluster.nodegroups.items() if nodegroup.version != current)
        if behind:
            raise invalid_request(f"Nodegroups {', '.join(behind)} must be updated to match cluster version {current} before "
                                  "updating cluster version", clusterName=cluster.name)
        cluster.version = target
        return self.record_update(cluster, "VersionUpdate", [("Version", target), ("PlatformVersion", cluster.platformVersion)])

    # -- node groups and Fargate profiles --------------------------------------------------------
    @staticmethod
    def _check_scaling(scaling: dict[str, Any], **fields: Any) -> None:
        low, high, desired = scaling.get("minSize"), scaling.get("maxSize"), scaling.get("desiredSize")
        if low is None or high is None or desired is None:
            raise invalid_parameter("scalingConfig needs minSize, maxSize and desiredSize.", **fields)
        if low < 0:
            raise invalid_parameter(f"Minimum capacity {low} can't be less than 0", **fields)
        if high < 1:
            raise invalid_parameter(f"Maximum capacity {high} can't be less than 1", **fields)
        if low > high:
            raise invalid_parameter(f"Minimum capacity {low} can't be greater than maximum capacity {high}", **fields)
        if desired < low:
            raise invalid_parameter(f"Desired capacity {desired} can't be less than minimum capacity {low}", **fields)
        if desired > high:
            raise invalid_parameter(f"Desired capacity {desired} can't be greater than maximum capacity {high}", **fields)

    @staticmethod
    def _check_update_config(config: dict[str, Any] | None, **fields: Any) -> None:
        if not config:
            return
        if "maxUnavailable" in config and "maxUnavailablePercentage" in config:
            raise invalid_parameter("Specify either maxUnavailable or maxUnavailablePercentage, not both.", **fields)
        for key in ("maxUnavailable", "maxUnavailablePercentage"):
            if key in config and not 1 <= config[key] <= 100:
                raise invalid_parameter(f"{key} must be between 1 and 100.", **fields)

    def create_nodegroup(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        name = params["nodegroupName"]
        fields = {"clusterName": cluster.name, "nodegroupName": name}
        if name in cluster.nodegroups:
            raise in_use(f"NodeGroup already exists with name {name} and cluster name {cluster.name}", **fields)
        scaling = dict(params.get("scalingConfig") or {"minSize": 1, "maxSize": 2, "desiredSize": 2})
        scaling.setdefault("desiredSize", scaling.get("minSize"))
        self._check_scaling(scaling, **fields)
        self._check_update_config(params.get("updateConfig"), **fields)
        capacity = params.get("capacityType") or "ON_DEMAND"
        if capacity not in ("ON_DEMAND", "SPOT", "CAPACITY_BLOCK"):
            raise invalid_parameter(f"Unsupported capacity type {capacity}.", **fields)
        version = params.get("version") or cluster.version
        if version != cluster.version:
            raise invalid_parameter(f"Requested Nodegroup Kubernetes version {version} must match the cluster's Kubernetes "
                                    f"version {cluster.version}", **fields)
        if not params.get("subnets"):
            raise invalid_parameter("subnets is required.", **fields)
        try:
            nodegroup = self.backend(context).create_nodegroup(
                cluster_name=cluster.name, node_role=params["nodeRole"], nodegroup_name=name, subnets=list(params["subnets"]),
                scaling_config=scaling, disk_size=params.get("diskSize"), instance_types=params.get("instanceTypes"),
                ami_type=params.get("amiType") or ("AL2_x86_64" if _minor(version) < 30 else "AL2023_x86_64_STANDARD"),
                remote_access=params.get("remoteAccess"), labels=dict(params.get("labels") or {}),
                taints=list(params.get("taints") or []), tags=dict(params.get("tags") or {}),
                client_request_token=params.get("clientRequestToken"), launch_template=params.get("launchTemplate"),
                capacity_type=capacity, version=version, release_version=params.get("releaseVersion") or RELEASE_VERSIONS[version])
        except Exception as exc:
            from moto.eks.exceptions import EKSError

            if isinstance(exc, EKSError):
                raise from_moto(exc) from exc
            raise
        nodegroup.scaling_config = scaling  # moto falls back to one shared default dict
        nodegroup.instance_types = list(params.get("instanceTypes") or ["t3.medium"])
        nodegroup.disk_size = None if params.get("launchTemplate") else int(params.get("diskSize") or 20)
        nodegroup.remote_access = params.get("remoteAccess")
        nodegroup.update_config = dict(params.get("updateConfig") or {"maxUnavailable": 1})
        nodegroup.node_repair_config = params.get("nodeRepairConfig")
        nodegroup.resources = {"autoScalingGroups": [{"name": f"eks-{name}-{nodegroup.uuid}"}]}
        if params.get("remoteAccess"):
            nodegroup.resources["remoteAccessSecurityGroup"] = f"sg-{uuid.uuid4().hex[:17]}"
        self.extras(cluster)
        if cluster.access_config["authenticationMode"] in ACCESS_ENTRY_MODES:
            self._node_entry(context, cluster, nodegroup.node_role, "EC2_LINUX")
        return render_moto("CreateNodegroup", {"nodegroup": nodegroup})

    def update_nodegroup_config(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        nodegroup = self.nodegroup(cluster, params["nodegroupName"])
        fields = {"clusterName": cluster.name, "nodegroupName": nodegroup.nodegroup_name}
        scaling = params.get("scalingConfig")
        if scaling:
            self._check_scaling({**nodegroup.scaling_config, **scaling}, **fields)
        self._check_update_config(params.get("updateConfig"), **fields)
        update_params: list[tuple[str, str]] = []
        labels, taints = params.get("labels") or {}, params.get("taints") or {}
        if labels.get("addOrUpdateLabels"):
            update_params.append(("LabelsToAdd", json.dumps(labels["addOrUpdateLabels"])))
        if labels.get("removeLabels"):
            update_params.append(("LabelsToRemove", json.dumps(labels["removeLabels"])))
        if taints.get("addOrUpdateTaints"):
            update_params.append(("TaintsToAdd", json.dumps(taints["addOrUpdateTaints"])))
        if taints.get("removeTaints"):
            update_params.append(("TaintsToRemove", json.dumps(taints["removeTaints"])))
        for key, name in (("minSize", "MinSize"), ("maxSize", "MaxSize"), ("desiredSize", "DesiredSize")):
            if scaling and key in scaling:
                update_params.append((name, str(scaling[key])))
        for key, name in (("maxUnavailable", "MaxUnavailable"), ("maxUnavailablePercentage", "MaxUnavailablePercentage")):
            if key in (params.get("updateConfig") or {}):
                update_params.append((name, str(params["updateConfig"][key])))
        if "nodeRepairConfig" in params:
            update_params.append(("NodeRepairEnabled", str(bool((params["nodeRepairConfig"] or {}).get("enabled"))).lower()))
        if not update_params:
            raise invalid_parameter("No changes needed: the request names no configuration to update.", **fields)
        self.backend(context).update_nodegroup_config(
            cluster_name=cluster.name, nodegroup_name=nodegroup.nodegroup_name, labels=labels or None, taints=taints or None,
            scaling_config=scaling, update_config=None, node_repair_config=params.get("nodeRepairConfig"))
        if params.get("updateConfig"):  # replaces the setting (maxUnavailable and the percentage exclude each other)
            nodegroup.update_config = dict(params["updateConfig"])
        return self.record_update(cluster, "ConfigUpdate", update_params, nodegroup=nodegroup.nodegroup_name)

    def update_nodegroup_version(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        nodegroup = self.nodegroup(cluster, params["nodegroupName"])
        fields = {"clusterName": cluster.name, "nodegroupName": nodegroup.nodegroup_name}
        target = params.get("version") or cluster.version
        if target not in SUPPORTED_VERSIONS or _minor(target) > _minor(cluster.version):
            raise invalid_parameter(f"Requested Kubernetes version {target} is newer than the cluster's version {cluster.version}", **fields)
        if _minor(target) < _minor(nodegroup.version):
            raise invalid_parameter(f"Requested Kubernetes version {target} is older than the node group's version {nodegroup.version}: "
                                    "a node group cannot be rolled back", **fields)
        release = params.get("releaseVersion") or RELEASE_VERSIONS[target]
        nodegroup.version, nodegroup.release_version = target, release
        nodegroup.modified_at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return self.record_update(cluster, "VersionUpdate", [("Version", target), ("ReleaseVersion", release)],
                                  nodegroup=nodegroup.nodegroup_name)

    def create_fargate_profile(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        from moto.eks.exceptions import EKSError

        try:
            profile = self.backend(context).create_fargate_profile(
                fargate_profile_name=params["fargateProfileName"], cluster_name=cluster.name, selectors=params.get("selectors") or [],
                pod_execution_role_arn=params["podExecutionRoleArn"], subnets=params.get("subnets"),
                client_request_token=params.get("clientRequestToken"), tags=dict(params.get("tags") or {}))
        except EKSError as exc:
            raise from_moto(exc) from exc
        self.extras(cluster)
        if cluster.access_config["authenticationMode"] in ACCESS_ENTRY_MODES:
            self._node_entry(context, cluster, profile.pod_execution_role_arn, "FARGATE_LINUX")
        return render_moto("CreateFargateProfile", {"fargateProfile": profile})

    # -- updates ---------------------------------------------------------------------------------
    def _updates(self, context: Context, params: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
        cluster = self.cluster(context, params["name"])
        nodegroup, addon = params.get("nodegroupName"), params.get("addonName")
        if nodegroup:
            self.nodegroup(cluster, nodegroup)
        if addon:
            self._addon(cluster, addon)
        return cluster, [u for u in self.extras(cluster).updates if u["nodegroup"] == nodegroup and u["addon"] == addon]

    def describe_update(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster, updates = self._updates(context, params)
        for found in updates:
            if found["update"]["id"] == params["updateId"]:
                return {"update": found["update"]}
        raise not_found(f"No update found for ID: {params['updateId']}", clusterName=cluster.name,
                        nodegroupName=params.get("nodegroupName"), addonName=params.get("addonName"))

    def list_updates(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        _cluster, updates = self._updates(context, params)
        page, token = paginate([u["update"]["id"] for u in updates], params)
        return {"updateIds": page, **({"nextToken": token} if token else {})}

    # -- add-ons ---------------------------------------------------------------------------------
    @staticmethod
    def _addon(cluster: Any, name: str) -> dict[str, Any]:
        addon = EksModel.extras(cluster).addons.get(name)
        if addon is None:
            raise not_found(f"No addon: {name} found in cluster: {cluster.name}", clusterName=cluster.name, addonName=name)
        return addon

    @staticmethod
    def _check_addon_version(cluster: Any, name: str, version: str | None) -> str:
        catalog = addon_catalog()
        if name not in catalog:
            raise invalid_parameter(f"Addon {name} specified is not supported", clusterName=cluster.name, addonName=name)
        if version is None:
            default = ADDON_VERSIONS.get(cluster.version, {}).get(name)
            if default is None:
                raise invalid_parameter(f"Addon {name} has no version for Kubernetes {cluster.version} in the emulator's table",
                                        clusterName=cluster.name, addonName=name)
            return default
        if cluster.version not in catalog[name].get(version, []):
            raise invalid_parameter("Addon version specified is not supported", clusterName=cluster.name, addonName=name)
        return version

    @staticmethod
    def _configuration(value: str | None, **fields: Any) -> str | None:
        if not value:
            return None
        try:
            parsed = json.loads(value)
        except ValueError:
            try:
                import yaml

                parsed = yaml.safe_load(value)
            except Exception as exc:  # noqa: BLE001  (no YAML either)
                raise invalid_parameter("ConfigurationValue provided in request is not supported: the value is neither JSON "
                                        "nor YAML", **fields) from exc
        if not isinstance(parsed, dict):
            raise invalid_parameter("ConfigurationValue provided in request is not supported: Json schema validation failed "
                                    "with error: the configuration must be an object", **fields)
        return value

    @staticmethod
    def _role_arn(value: str | None, **fields: Any) -> str | None:
        if not value:
            return None
        found = ROLE_OR_USER_ARN.match(value)
        if not found or found.group(3) != "role":
            raise invalid_parameter(f"Invalid Role Arn: '{value}'", **fields)
        return value

    def create_addon(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        name = params["addonName"]
        fields = {"clusterName": cluster.name, "addonName": name}
        extras = self.extras(cluster)
        if name in extras.addons:
            raise in_use("Addon already exists.", **fields)
        version = self._check_addon_version(cluster, name, params.get("addonVersion"))
        if params.get("resolveConflicts", "NONE") not in ("OVERWRITE", "NONE", "PRESERVE"):
            raise invalid_parameter(f"Unsupported resolveConflicts {params['resolveConflicts']}.", **fields)
        now = _now()
        addon = {
            "addonName": name, "clusterName": cluster.name, "status": "ACTIVE", "addonVersion": version,
            "health": {"issues": []},
            "addonArn": f"arn:{context.partition}:eks:{context.region}:{context.account_id}:addon/{cluster.name}/{name}/{uuid.uuid4()}",
            "createdAt": now, "modifiedAt": now, "tags": dict(params.get("tags") or {}), "publisher": "eks", "owner": "aws",
        }
        role = self._role_arn(params.get("serviceAccountRoleArn"), **fields)
        if role:
            addon["serviceAccountRoleArn"] = role
        configuration = self._configuration(params.get("configurationValues"), **fields)
        if configuration:
            addon["configurationValues"] = configuration
        namespace = (params.get("namespaceConfig") or {}).get("namespace")
        if namespace:
            addon["namespaceConfig"] = {"namespace": namespace}
        extras.addons[name] = addon
        return {"addon": addon}

    def describe_addon(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        return {"addon": self._addon(self.cluster(context, params["clusterName"]), params["addonName"])}

    def update_addon(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        addon = self._addon(cluster, params["addonName"])
        fields = {"clusterName": cluster.name, "addonName": addon["addonName"]}
        changes: dict[str, Any] = {}
        update_params: list[tuple[str, str]] = []
        if params.get("addonVersion"):
            version = self._check_addon_version(cluster, addon["addonName"], params["addonVersion"])
            if _addon_version_key(version) < _addon_version_key(addon["addonVersion"]):
                raise invalid_parameter(f"Updating addon {addon['addonName']} from {addon['addonVersion']} to {version} is a "
                                        "downgrade, which is not supported", **fields)
            changes["addonVersion"] = version
            update_params.append(("AddonVersion", version))
        if params.get("serviceAccountRoleArn"):
            changes["serviceAccountRoleArn"] = self._role_arn(params["serviceAccountRoleArn"], **fields)
            update_params.append(("ServiceAccountRoleArn", params["serviceAccountRoleArn"]))
        if params.get("resolveConflicts"):
            if params["resolveConflicts"] not in ("OVERWRITE", "NONE", "PRESERVE"):
                raise invalid_parameter(f"Unsupported resolveConflicts {params['resolveConflicts']}.", **fields)
            update_params.append(("ResolveConflicts", params["resolveConflicts"]))
        if "configurationValues" in params:  # "" removes the configuration
            changes["configurationValues"] = self._configuration(params["configurationValues"], **fields)
            update_params.append(("ConfigurationValues", params["configurationValues"]))
        for key, value in changes.items():
            if value is None:
                addon.pop(key, None)
            else:
                addon[key] = value
        addon["modifiedAt"] = _now()
        return self.record_update(cluster, "AddonUpdate", update_params, addon=addon["addonName"])

    def delete_addon(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        addon = self._addon(cluster, params["addonName"])
        extras = self.extras(cluster)
        del extras.addons[addon["addonName"]]
        extras.updates = [u for u in extras.updates if u["addon"] != addon["addonName"]]
        return {"addon": {**addon, "status": "DELETING", "modifiedAt": _now()}}

    def list_addons(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        page, token = paginate(sorted(self.extras(cluster).addons), params)
        return {"addons": page, **({"nextToken": token} if token else {})}

    def describe_addon_versions(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        kubernetes = params.get("kubernetesVersion")
        answer = []
        for name, versions in addon_catalog().items():
            kind, iam, namespace = ADDONS[name]
            if params.get("addonName") and params["addonName"] != name:
                continue
            if params.get("types") and kind not in params["types"]:
                continue
            if params.get("publishers") and "eks" not in params["publishers"]:
                continue
            if params.get("owners") and "aws" not in params["owners"]:
                continue
            infos = []
            for version, minors in versions.items():
                shown = [m for m in minors if kubernetes in (None, m)]
                if not shown:
                    continue
                infos.append({
                    "addonVersion": version, "architecture": ["amd64", "arm64"],
                    "computeTypes": ["ec2"] if name in ("kube-proxy", "vpc-cni", "aws-ebs-csi-driver") else ["ec2", "fargate"],
                    "compatibilities": [{"clusterVersion": m, "platformVersions": ["*"],
                                         "defaultVersion": ADDON_VERSIONS[m][name] == version} for m in shown],
                    "requiresConfiguration": False, "requiresIamPermissions": iam,
                })
            if infos:
                answer.append({"addonName": name, "type": kind, "addonVersions": infos, "publisher": "eks", "owner": "aws",
                               "defaultNamespace": namespace})
        page, token = paginate(answer, params)
        return {"addons": page, **({"nextToken": token} if token else {})}

    # -- access entries --------------------------------------------------------------------------
    @staticmethod
    def policy_arn(context: Context, name: str) -> str:
        return f"arn:{context.partition}:eks::aws:cluster-access-policy/{name}"

    @staticmethod
    def _association(policy_arn: str, scope: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        return {"policyArn": policy_arn, "accessScope": scope, "associatedAt": now, "modifiedAt": now}

    def _entries(self, cluster: Any) -> dict[str, dict[str, Any]]:
        extras = self.extras(cluster)
        mode = cluster.access_config["authenticationMode"]
        if mode not in ACCESS_ENTRY_MODES:
            raise invalid_request("The cluster's authentication mode must be set to one of [API, API_AND_CONFIG_MAP] to perform "
                                  "this operation.", clusterName=cluster.name)
        return extras.access_entries

    def _entry(self, cluster: Any, principal: str) -> dict[str, Any]:
        entry = self._entries(cluster).get(principal)
        if entry is None:
            raise not_found("The specified principalArn could not be found. You can view your available access entries with "
                            "'list-access-entries'.", clusterName=cluster.name)
        return entry

    def _new_entry(self, context: Context, cluster: Any, principal: str, kind: str, groups: list[str], username: str | None,
                   tags: dict[str, str]) -> dict[str, Any]:
        found = ROLE_OR_USER_ARN.match(principal)
        partition, account, principal_kind, principal_name = found.groups()
        if username is None:
            if kind != "STANDARD":
                username, default_groups = NODE_IDENTITIES[kind]
                groups = list(default_groups)
            elif principal_kind == "role":
                username = f"arn:{partition}:sts::{account}:assumed-role/{principal_name}/{{{{SessionName}}}}"
            else:
                username = principal
        now = _now()
        entry = {
            "clusterName": cluster.name, "principalArn": principal, "kubernetesGroups": list(groups),
            "accessEntryArn": (f"arn:{context.partition}:eks:{context.region}:{context.account_id}:access-entry/{cluster.name}/"
                               f"{principal_kind}/{account}/{principal_name}/{uuid.uuid4()}"),
            "createdAt": now, "modifiedAt": now, "tags": dict(tags), "username": username, "type": kind, "policies": {},
        }
        self.extras(cluster).access_entries[principal] = entry
        return entry

    def _node_entry(self, context: Context, cluster: Any, role_arn: str, kind: str) -> None:
        """The entry EKS creates for the role of a managed node group / Fargate profile (if none exists)."""
        if role_arn and ROLE_OR_USER_ARN.match(role_arn) and role_arn not in self.extras(cluster).access_entries:
            self._new_entry(context, cluster, role_arn, kind, [], None, {})

    @staticmethod
    def _public_entry(entry: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in entry.items() if key != "policies"}

    def create_access_entry(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entries = self._entries(cluster)
        principal = params["principalArn"]
        kind = params.get("type") or "STANDARD"
        found = ROLE_OR_USER_ARN.match(principal)
        if not found:
            raise invalid_parameter(f"The specified principalArn is invalid: {principal}. Only IAM roles and users are supported.",
                                    clusterName=cluster.name)
        if kind not in ENTRY_TYPES:
            raise invalid_parameter(f"The specified type {kind} is invalid. Valid types: {', '.join(ENTRY_TYPES)}.", clusterName=cluster.name)
        groups, username = list(params.get("kubernetesGroups") or []), params.get("username")
        if kind != "STANDARD":
            if found.group(3) != "role" or found.group(2) != context.account_id:
                raise invalid_parameter(f"Access entries of type {kind} need an IAM role of the cluster's account.", clusterName=cluster.name)
            if groups or username:
                raise invalid_parameter(f"kubernetesGroups and username cannot be specified for access entries of type {kind}.",
                                        clusterName=cluster.name)
        elif username is not None and (not username or username.startswith(RESERVED_USERNAME_PREFIXES)):
            raise invalid_parameter(f"The username {username!r} is invalid: it cannot start with "
                                    f"{', '.join(RESERVED_USERNAME_PREFIXES)}.", clusterName=cluster.name)
        if any(group.startswith("system:") for group in groups):
            raise invalid_parameter("kubernetesGroups cannot start with system:.", clusterName=cluster.name)
        if principal in entries:
            raise in_use("The specified access entry resource is already in use on this cluster.", clusterName=cluster.name)
        entry = self._new_entry(context, cluster, principal, kind, groups, username, params.get("tags") or {})
        return {"accessEntry": self._public_entry(entry)}

    def describe_access_entry(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        return {"accessEntry": self._public_entry(self._entry(cluster, params["principalArn"]))}

    def update_access_entry(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entry = self._entry(cluster, params["principalArn"])
        groups, username = params.get("kubernetesGroups"), params.get("username")
        if entry["type"] != "STANDARD" and (groups or username):
            raise invalid_parameter(f"kubernetesGroups and username cannot be specified for access entries of type {entry['type']}.",
                                    clusterName=cluster.name)
        if username is not None and (not username or username.startswith(RESERVED_USERNAME_PREFIXES)):
            raise invalid_parameter(f"The username {username!r} is invalid: it cannot start with "
                                    f"{', '.join(RESERVED_USERNAME_PREFIXES)}.", clusterName=cluster.name)
        if groups is not None:
            if any(group.startswith("system:") for group in groups):
                raise invalid_parameter("kubernetesGroups cannot start with system:.", clusterName=cluster.name)
            entry["kubernetesGroups"] = list(groups)
        if username is not None:
            entry["username"] = username
        entry["modifiedAt"] = _now()
        return {"accessEntry": self._public_entry(entry)}

    def delete_access_entry(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entry = self._entry(cluster, params["principalArn"])
        del self._entries(cluster)[entry["principalArn"]]
        return {}

    def list_access_entries(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entries = self._entries(cluster)
        policy = params.get("associatedPolicyArn")
        principals = sorted(p for p, e in entries.items() if policy is None or policy in e["policies"])
        page, token = paginate(principals, params)
        return {"accessEntries": page, **({"nextToken": token} if token else {})}

    def associate_access_policy(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entry = self._entry(cluster, params["principalArn"])
        policy = params["policyArn"]
        if policy not in {self.policy_arn(context, name) for name in ACCESS_POLICIES}:
            raise invalid_parameter(f"The specified policyArn is invalid: {policy}", clusterName=cluster.name)
        if entry["type"] != "STANDARD":
            raise invalid_parameter(f"Access policies can only be associated with access entries of type STANDARD, not {entry['type']}.",
                                    clusterName=cluster.name)
        scope = dict(params.get("accessScope") or {})
        namespaces = list(scope.get("namespaces") or [])
        if scope.get("type") == "cluster" and namespaces:
            raise invalid_parameter("namespaces cannot be specified for an access scope of type cluster.", clusterName=cluster.name)
        if scope.get("type") == "namespace" and not namespaces:
            raise invalid_parameter("At least one namespace is required for an access scope of type namespace.", clusterName=cluster.name)
        if scope.get("type") not in ("cluster", "namespace"):
            raise invalid_parameter("The access scope type must be cluster or namespace.", clusterName=cluster.name)
        scope = {"type": scope["type"], "namespaces": namespaces}
        existing = entry["policies"].get(policy)
        if existing:  # associating again changes the scope
            existing.update(accessScope=scope, modifiedAt=_now())
        else:
            entry["policies"][policy] = self._association(policy, scope)
        return {"clusterName": cluster.name, "principalArn": entry["principalArn"], "associatedAccessPolicy": entry["policies"][policy]}

    def disassociate_access_policy(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entry = self._entry(cluster, params["principalArn"])
        if params["policyArn"] not in entry["policies"]:
            raise not_found(f"The policy {params['policyArn']} is not associated with the access entry.", clusterName=cluster.name)
        del entry["policies"][params["policyArn"]]
        return {}

    def list_associated_access_policies(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        cluster = self.cluster(context, params["clusterName"])
        entry = self._entry(cluster, params["principalArn"])
        page, token = paginate(sorted(entry["policies"].values(), key=lambda p: p["policyArn"]), params)
        return {"clusterName": cluster.name, "principalArn": entry["principalArn"], "associatedAccessPolicies": page,
                **({"nextToken": token} if token else {})}

    def list_access_policies(self, context: Context, params: dict[str, Any]) -> dict[str, Any]:
        policies = [{"name": name, "arn": self.policy_arn(context, name)} for name in ACCESS_POLICIES]
        page, token = paginate(policies, params)
        return {"accessPolicies": page, **({"nextToken": token} if token else {})}

    # -- tags of the resources moto does not tag -------------------------------------------------
    def _tagged(self, context: Context, arn: str) -> dict[str, str] | None:
        """The tags dict of the resource ``arn`` names; None for a cluster ARN (moto's)."""
        found = EKS_ARN.match(arn)
        if not found:
            raise EksError("BadRequestException", 400, f"Invalid ARN: {arn}")
        if found.group(4) == "cluster":
            return None
        if found.group(2) != context.region or found.group(3) != context.account_id:
            raise EksError("NotFoundException", 404, "Resource was not found")
        for cluster in self.backend(context).clusters.values():
            for nodegroup in cluster.nodegroups.values():
                if nodegroup.arn == arn:
                    return nodegroup.tags
            for profile in cluster.fargate_profiles.values():
                if profile.fargate_profile_arn == arn:
                    return profile.tags
            extras = self.extras(cluster)
            for addon in extras.addons.values():
                if addon["addonArn"] == arn:
                    return addon["tags"]
            for entry in extras.access_entries.values():
                if entry["accessEntryArn"] == arn:
                    return entry["tags"]
        raise EksError("NotFoundException", 404, "Resource was not found")

    def tag_resource(self, context: Context, params: dict[str, Any]) -> dict[str, Any] | None:
        tags = self._tagged(context, params["resourceArn"])
        if tags is None:
            return None
        new = params.get("tags") or {}
        for key, value in new.items():
            if key.lower().startswith("aws:") or not 1 <= len(key) <= 128 or len(value) > 256:
                raise EksError("BadRequestException", 400, f"Invalid tag: {key}")
        if len({**tags, **new}) > 50:
            raise EksError("BadRequestException", 400, "A resource can have at most 50 tags.")
        tags.update(new)
        return {}

    def untag_resource(self, context: Context, params: dict[str, Any]) -> dict[str, Any] | None:
        tags = self._tagged(context, params["resourceArn"])
        if tags is None:
            return None
        for key in params.get("tagKeys") or []:
            tags.pop(key, None)
        return {}

    def list_tags_for_resource(self, context: Context, params: dict[str, Any]) -> dict[str, Any] | None:
        tags = self._tagged(context, params["resourceArn"])
        return None if tags is None else {"tags": dict(tags)}


@functools.lru_cache(maxsize=1)
def _moto_operations() -> frozenset[str]:
    """Operations moto's EKS responses implement (the rest, if not ours, answer 501)."""
    from moto.eks.responses import EKSResponse

    model = service_model()
    import botocore

    return frozenset(name for name in model.operation_names if hasattr(EKSResponse, botocore.xform_name(name)))
