"""The stack configuration: one pydantic model, parsed once by `__main__.py`.

Components never read configuration; they receive the typed values defined here.
Keys are camelCase in `Pulumi.<stack>.yaml` (Pulumi's convention) and snake_case
in Python. Every problem is reported with the full config key, the offending value
and what is allowed. Problems with single keys are reported together; the checks
across keys run once every key is valid, and are reported together too.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.addressing import AddressPlanError, SubnetLayout, Tier, plan_subnets


class Environment(StrEnum):
    PROD = "prod"
    DR = "dr"
    QA = "qa"
    VALIDATION = "validation"
    TRAINING = "training"

    @property
    def is_production_grade(self) -> bool:
        """prod and its warm standby hold production data and get production controls."""
        return self in (Environment.PROD, Environment.DR)


class DataClassification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class NatStrategy(StrEnum):
    """How the app tier reaches the internet (the data tier never does)."""

    ONE_PER_AZ = "onePerAz"
    SINGLE = "single"
    NONE = "none"


class ObjectLockMode(StrEnum):
    COMPLIANCE = "COMPLIANCE"
    GOVERNANCE = "GOVERNANCE"


class ProcessDomain(StrEnum):
    PRODUCTION_SCHEDULING = "production-scheduling"
    INVENTORY = "inventory"
    SHIPPING = "shipping"
    FINANCIAL_POSTING = "financial-posting"
    QUALITY = "quality"


# CloudWatch Logs accepts only these retention periods (PutRetentionPolicy).
CLOUDWATCH_RETENTION_DAYS = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)
PROD_ARCHIVE_RETENTION_DAYS = 2557  # seven years
MIN_AZS = 2
# Addresses a VPN peer can never have on the internet (documentation ranges are
# allowed so that example stacks stay valid).
_NON_ROUTABLE = tuple(
    ipaddress.IPv4Network(cidr)
    for cidr in (
        "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
        "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "240.0.0.0/4",
    )
)
MIN_PROD_AZS = 3


def _ipv4_network(value: str) -> str:
    try:
        return str(ipaddress.IPv4Network(value))
    except ValueError as exc:
        raise ValueError(f"{value!r} is not an IPv4 network in CIDR form (for example 10.20.0.0/16): {exc}") from None


Cidr = Annotated[str, AfterValidator(_ipv4_network)]


class _Section(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        use_enum_values=False,
    )


class SubnetPrefixes(_Section):
    """Prefix length of each tier's subnet in every availability zone."""

    ingress: int = Field(24, ge=16, le=28, description="Public subnets for load balancers and NAT.")
    app: int = Field(20, ge=16, le=28, description="Private application subnets.")
    data: int = Field(24, ge=16, le=28, description="Isolated database subnets.")


class NetworkConfig(_Section):
    vpc_cidr: Cidr = Field(description="VPC range; must not overlap any plant network.")
    nat_strategy: NatStrategy = Field(
        NatStrategy.ONE_PER_AZ, description="onePerAz, single or none (app-tier egress)."
    )
    subnet_prefixes: SubnetPrefixes = Field(
        default_factory=SubnetPrefixes, description="Prefix length of each tier's subnets; all must fit the VPC."
    )


class Plant(_Section):
    """A manufacturing site and how it reaches the app tier."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$", description="Lower-case slug, used in resource names.")
    cidr: Cidr = Field(description="The plant's network range.")
    connectivity: Literal["vpn", "none"] = Field(description="vpn: site-to-site VPN; none: no private path.")
    customer_gateway_ip: str | None = Field(None, description="Public IPv4 of the plant's VPN device (vpn only).")
    bgp_asn: int | None = Field(
        None, ge=1, le=4294967294, description="BGP ASN of the plant's VPN device (vpn only)."
    )

    @field_validator("customer_gateway_ip")
    @classmethod
    def _public_ipv4(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            address = ipaddress.IPv4Address(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an IPv4 address") from None
        if any(address in network for network in _NON_ROUTABLE) or address.is_multicast:
            raise ValueError(f"{value} is not a public address; a customer gateway needs the device's public IP")
        return value

    @model_validator(mode="after")
    def _vpn_fields(self) -> Plant:
        if self.connectivity == "vpn":
            missing = [
                key
                for key, value in (("customerGatewayIp", self.customer_gateway_ip), ("bgpAsn", self.bgp_asn))
                if value is None
            ]
            if missing:
                raise ValueError(f"connectivity vpn needs {' and '.join(missing)}")
        elif self.customer_gateway_ip is not None or self.bgp_asn is not None:
            raise ValueError("customerGatewayIp and bgpAsn apply only to connectivity vpn")
        return self


class RecoveryObjective(_Section):
    """How much data (RPO) and time (RTO) a process domain can afford to lose."""

    rpo_minutes: int = Field(gt=0, description="Recovery point objective in minutes (positive).")
    rto_minutes: int = Field(gt=0, description="Recovery time objective in minutes (positive).")


class LogArchiveConfig(_Section):
    retention_days: int | None = Field(
        None, gt=0,
        description="Object Lock retention of the audit archive; default 2557 (7 years) in prod and dr, 365 elsewhere.",
    )
    object_lock_mode: ObjectLockMode | None = Field(
        None, description="COMPLIANCE (required in prod; default in prod and dr) or GOVERNANCE (default elsewhere)."
    )
    cloudwatch_retention_days: int | None = Field(
        None, alias="cloudWatchRetentionDays",
        description="Retention of CloudWatch log groups; default 365 in prod and dr, 90 elsewhere.",
    )

    @field_validator("cloudwatch_retention_days")
    @classmethod
    def _cloudwatch_value(cls, value: int | None) -> int | None:
        if value is not None and value not in CLOUDWATCH_RETENTION_DAYS:
            allowed = ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
            raise ValueError(f"{value} is not a CloudWatch Logs retention period; allowed: {allowed}")
        return value


class StackConfig(_Section):
    """Everything a stack may configure, under the project's namespace."""

    environment: Environment = Field(description="Stack role; prod and dr get production controls (protect, COMPLIANCE lock).")
    owner: str = Field(min_length=1, description="Owning team; becomes the Owner tag.")
    cost_center: str = Field(min_length=1, description="Becomes the CostCenter tag.")
    data_classification: DataClassification = Field(
        DataClassification.CONFIDENTIAL, description="DataClassification tag of the stack's resources."
    )
    region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="Primary AWS region.")
    dr_region: str = Field(pattern=r"^[a-z]{2}(-[a-z]+)+-\d$", description="Region for disaster-recovery copies.")
    availability_zones: int = Field(ge=MIN_AZS, le=6, description="AZ count: at least 2, at least 3 in prod.")
    network: NetworkConfig = Field(description="VPC range, NAT strategy and tier sizing.")
    plants: tuple[Plant, ...] = Field((), description="Manufacturing sites and how each reaches the app tier.")
    process_domains: dict[ProcessDomain, RecoveryObjective] = Field(
        description="RPO and RTO per process domain; every domain must be declared."
    )
    log_archive: LogArchiveConfig = Field(
        default_factory=LogArchiveConfig, description="Audit archive retention and Object Lock mode."
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> StackConfig:
        problems: list[str] = []
        if self.environment is Environment.PROD and self.availability_zones < MIN_PROD_AZS:
            problems.append(
                f"availabilityZones: prod needs at least {MIN_PROD_AZS} availability zones, got {self.availability_zones}"
            )
        if self.region == self.dr_region:
            problems.append(f"drRegion: must differ from region ({self.region}) so one regional outage cannot take both")
        missing = [domain.value for domain in ProcessDomain if domain not in self.process_domains]
        if missing:
            problems.append(f"processDomains: missing {', '.join(missing)}; declare RPO and RTO for every domain")
        if self.environment is Environment.PROD and self.log_archive.object_lock_mode not in (
            None,
            ObjectLockMode.COMPLIANCE,
        ):
            problems.append(
                f"logArchive.objectLockMode: prod requires COMPLIANCE, got {self.log_archive.object_lock_mode.value}"
            )
        problems.extend(self._cidr_problems())
        try:
            self.subnet_layout()
        except AddressPlanError as exc:
            problems.append(f"network.subnetPrefixes: {exc}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def _cidr_problems(self) -> list[str]:
        problems = []
        vpc = ipaddress.IPv4Network(self.network.vpc_cidr)
        names = [plant.name for plant in self.plants]
        for duplicate in sorted({name for name in names if names.count(name) > 1}):
            problems.append(f"plants: the name {duplicate} is used more than once")
        for index, plant in enumerate(self.plants):
            plant_net = ipaddress.IPv4Network(plant.cidr)
            if plant_net.overlaps(vpc):
                problems.append(
                    f"plants[{index}].cidr: {plant.cidr} ({plant.name}) overlaps network.vpcCidr {self.network.vpc_cidr}"
                )
            for other_index, other in enumerate(self.plants[:index]):
                if plant_net.overlaps(ipaddress.IPv4Network(other.cidr)):
                    problems.append(
                        f"plants[{index}].cidr: {plant.cidr} ({plant.name}) overlaps "
                        f"plants[{other_index}].cidr {other.cidr} ({other.name})"
                    )
        return problems

    # Derived values: one place for every environment-dependent default.

    def subnet_layout(self) -> SubnetLayout:
        prefixes = self.network.subnet_prefixes
        return plan_subnets(
            self.network.vpc_cidr,
            self.availability_zones,
            {Tier.INGRESS: prefixes.ingress, Tier.APP: prefixes.app, Tier.DATA: prefixes.data},
        )

    @property
    def archive_retention_days(self) -> int:
        if self.log_archive.retention_days is not None:
            return self.log_archive.retention_days
        return PROD_ARCHIVE_RETENTION_DAYS if self.environment.is_production_grade else 365

    @property
    def object_lock_mode(self) -> ObjectLockMode:
        if self.log_archive.object_lock_mode is not None:
            return self.log_archive.object_lock_mode
        return ObjectLockMode.COMPLIANCE if self.environment.is_production_grade else ObjectLockMode.GOVERNANCE

    @property
    def cloudwatch_retention_days(self) -> int:
        if self.log_archive.cloudwatch_retention_days is not None:
            return self.log_archive.cloudwatch_retention_days
        return 365 if self.environment.is_production_grade else 90

    @property
    def protect_stateful(self) -> bool:
        """Stateful resources of prod and dr are protected against `pulumi destroy`."""
        return self.environment.is_production_grade


class ConfigError(Exception):
    """The stack configuration is invalid; `problems` holds one message per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid stack configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems


def parse_stack_config(namespace: str, raw: Mapping[str, Any]) -> StackConfig:
    """Builds the model from Pulumi's flat config map (`namespace:key` -> value).

    Values are what the Pulumi engine hands a program: scalars as strings, objects
    and arrays as JSON text. Keys of other namespaces (aws:, pulumi:) are ignored.
    Raises ConfigError naming each bad key as `namespace:key.path`.
    """
    prefix = f"{namespace}:"
    data: dict[str, Any] = {}
    for key, value in raw.items():
        if key.startswith(prefix):
            data[key[len(prefix):]] = _decode(value)
    try:
        return StackConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([line for error in exc.errors() for line in _describe(namespace, error)]) from None


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _describe(namespace: str, error: Any) -> list[str]:
    location = [part for part in error["loc"]]
    path = _format_path(location)
    if error["type"] == "extra_forbidden":
        parent_model = _model_at(location[:-1])
        hint = ""
        if parent_model is not None:
            valid = [field.alias or name for name, field in parent_model.model_fields.items()]
            close = difflib.get_close_matches(str(location[-1]), valid, n=1)
            hint = f"; did you mean {_format_path([*location[:-1], close[0]])}?" if close else ""
            hint += f" Valid keys here: {', '.join(sorted(valid))}"
        return [f"{namespace}:{path}: unknown key{hint}"]
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "value_error" and not location:
        # Cross-field problems already carry their own key paths, one per line.
        return [f"{namespace}:{line}" for line in message.splitlines()]
    if error["type"] == "missing":
        return [f"{namespace}:{path}: required key is missing"]
    if error["type"] == "enum":
        return [f"{namespace}:{path}: {error['input']!r} is not allowed; {message[0].lower()}{message[1:]}"]
    return [f"{namespace}:{path}: {message} (got {error.get('input')!r})"]


def _format_path(location: list[Any]) -> str:
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            alias = to_camel(str(part)) if "_" in str(part) else str(part)
            path += f".{alias}" if path else alias
    return path


def _model_at(location: list[Any]) -> type[BaseModel] | None:
    """The model class that owns the key at `location`, for 'did you mean' hints."""
    model: Any = StackConfig
    for part in location:
        if isinstance(part, int) or model is None:
            continue
        field = _field_by_key(model, str(part))
        if field is None:
            return None
        model = _inner_model(field.annotation)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _field_by_key(model: type[BaseModel], key: str) -> Any:
    for name, field in model.model_fields.items():
        if key in (name, field.alias):
            return field
    return None


def _inner_model(annotation: Any) -> Any:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        inner = _inner_model(arg)
        if inner is not None:
            return inner
    return None


def config_json_schema() -> dict[str, Any]:
    """JSON Schema of the project's config keys, for editors validating stack files."""
    return StackConfig.model_json_schema(by_alias=True)
