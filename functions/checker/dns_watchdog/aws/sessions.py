"""AWS clients per place (an account in a region): the home account's own credentials, a member
role elsewhere.

Organization mode (a member role name is set): for any account other than the home account the
checker assumes ``arn:<partition>:iam::<account>:role/<member role name>`` with the session
name ``vpc-dns-watchdog-<home account>`` (what the member account's CloudTrail shows), keeps the
credentials per account until `CREDENTIAL_REFRESH_MARGIN` before they expire (`renewal_time`),
and keeps clients per place and service, built with the botocore Config the caller
gives per service.
Single-account mode (no role name): only the home account; any other account is refused.

An AssumeRole failure becomes `MemberAccessDenied` naming the likely cause (role missing or its
trust policy wrong, an SCP deny, the checker's own policy, STS disabled in the region,
throttling after retries), for the caller to make that place UNVERIFIED with the reason. What
raises as is: errors that say the checker's own credentials are unusable (they fail every
account alike, so the run must fail and be retried) and programming errors.

Clients are built from one boto3 session (boto3's default session unless one is given), with
the assumed credentials passed per client: hooks registered on that session (tracing, tests'
routers) see every account's calls. Credentials and clients are cached under locks (one AssumeRole
per account at a time, other accounts not waiting for it), since a check calls canaries from
several threads; boto3 sessions are not safe to build clients from concurrently.

Hand-written rather than botocore's RefreshableCredentials: a refresh there happens inside
whichever later call notices the expiry, so an AssumeRole failure would surface as an error of
an EC2 or Lambda call; here it surfaces when a place's clients are asked for, as that place's
evidence.

A sweep enters a new place with nearly every queue message, so building a place's clients is
per-target work. Member clients come from `MemberClients`: one private botocore session per
execution environment that shares the base session's loader (service models are read and
parsed once) and its event hooks, and serves each service's model with only the operations the
checker calls (`operations`). botocore gives every client a class with one method and one
docstring object per operation of the service's model, rebuilt for each client: for EC2, about
800 operations and most of the ~15 ms of CPU a client costs; with the dozen the checker calls,
about 2 ms. A client the checker has no operation list for gets the whole model. The clients
of at most `MAX_CACHED_PLACES` places are kept (least recently used go first, closed): a
container that sweeps a thousand accounts would otherwise hold every place's clients it ever
met, about 0.6 MB a place with whole models (512 MB after some 700 places).
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import boto3
import botocore.session
from botocore.config import Config

from dns_watchdog.aws.calls import (
    CHECKER_CREDENTIAL_ERRORS,
    THROTTLING_CODES,
    AwsError,
    Retry,
    is_throttled,
    read_error,
)
from dns_watchdog.constants import MEMBER_ROLE_NAME_ENV
from dns_watchdog.domain.errors import AccessProblem, MemberAccessDenied
from dns_watchdog.domain.identity import member_role_arn, role_session_name
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.targets import account_problem

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_ec2 import EC2Client
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_route53profiles import Route53ProfilesClient
    from mypy_boto3_route53resolver import Route53ResolverClient
    from mypy_boto3_sts import STSClient

# IAM's rule for a role name.
_ROLE_NAME = re.compile(r"[\w+=,.@-]{1,64}", re.ASCII)
_PARTITION = re.compile(r"aws(-[a-z]+)*")

# Credentials are renewed this long before they expire. A Lambda invocation lasts at most
# 15 minutes, so credentials handed to a check at its start outlive the whole check.
CREDENTIAL_REFRESH_MARGIN = timedelta(minutes=16)
# The role's session length (the default maximum session duration of an IAM role).
ASSUME_ROLE_DURATION_S = 3600
# AssumeRole throttling is retried here, with full jitter, so the STS client has retries off.
ASSUME_ROLE_MAX_ATTEMPTS = 4
# The STS client's settings. Build it in the checker's region: botocore then uses the regional
# endpoint, whose session tokens are valid in opt-in regions too (the global endpoint's are not).
STS_CLIENT_CONFIG = Config(
    connect_timeout=5, read_timeout=10, retries={"mode": "standard", "total_max_attempts": 1}
)

# How much of STS's message a denial quotes (an SCP deny names the role and the policy type).
_MAX_MESSAGE_CHARS = 300
# The places whose clients are kept (3 clients each: about 0.36 MB and 3,000 objects the garbage
# collector walks). A sweep seldom brings a container back to a place within the credentials'
# life; the home place and a change's place are the ones met again.
MAX_CACHED_PLACES = 16
# botocore's name for the API model a client class is generated from.
_SERVICE_MODEL = "service-2"


def renewal_time(obtained: datetime, expiration: datetime) -> datetime:
    """When credentials obtained at `obtained` are renewed: `CREDENTIAL_REFRESH_MARGIN` before
    they expire, or halfway through their life if they live less than twice the margin (so
    short-lived credentials are not asked for again on every call)."""
    return max(expiration - CREDENTIAL_REFRESH_MARGIN, obtained + (expiration - obtained) / 2)


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class AssumedCredentials:
    """One member account's temporary credentials."""

    access_key_id: str
    # Never in a repr: a logged object must not leak the secret.
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    expiration: datetime


# The services `AccountSessions.clients` builds for each place (the Route 53 ones for discovery:
# `discovery_clients`).
_PLACE_SERVICES = ("ec2", "lambda", "resourcegroupstaggingapi")
_DISCOVERY_SERVICES = ("route53", "route53resolver", "route53profiles", "cloudwatch")


@dataclass(frozen=True)
class PlaceClients:
    """The clients a check needs in one account and region."""

    account: str
    region: str
    ec2: EC2Client
    lambda_: LambdaClient
    tagging: ResourceGroupsTaggingAPIClient


@dataclass(frozen=True)
class DiscoveryClients:
    """The clients discovery of a VPC's own DNS needs in one account and region (Route 53 is
    global: its client signs for us-east-1 whatever the place's region)."""

    route53: Route53Client
    resolver: Route53ResolverClient
    profiles: Route53ProfilesClient
    # The outbound endpoints' metrics (flow/endpoint_health.py).
    cloudwatch: CloudWatchClient


class _OperationsLoader:
    """A botocore loader that serves the models of `operations`' services with only those
    operations, and everything else as `base` does (whose caches it shares)."""

    def __init__(self, base: Any, operations: Mapping[str, Collection[str]]) -> None:
        self._base = base
        self._operations = {service: frozenset(names) for service, names in operations.items()}
        self._models: dict[tuple[str, str | None], dict[str, Any]] = {}
        self._lock = threading.Lock()

    def load_service_model(
        self, service_name: str, type_name: str, api_version: str | None = None
    ) -> Any:
        model = self._base.load_service_model(service_name, type_name, api_version=api_version)
        kept = self._operations.get(service_name)
        if type_name != _SERVICE_MODEL or kept is None:
            return model
        with self._lock:
            slim = self._models.get((service_name, api_version))
            if slim is None:
                unknown = kept - model["operations"].keys()
                if unknown:
                    raise ValueError(f"not {service_name} operations: {sorted(unknown)}")
                operations = {name: model["operations"][name] for name in sorted(kept)}
                slim = {**model, "operations": operations}
                self._models[(service_name, api_version)] = slim
            return slim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._base, name)


class MemberClients:
    """Builds clients from one private botocore session sharing `base`'s loader and event hooks
    (hooks registered on `base` later still reach clients built afterwards), with the service
    models cut down to `operations` (module docstring)."""

    def __init__(
        self, base: boto3.session.Session, operations: Mapping[str, Collection[str]]
    ) -> None:
        core = botocore.session.Session()
        # boto3 exposes its botocore session only as `_session`; the loader is one of its parts.
        loader = base._session.get_component("data_loader")
        core.register_component("data_loader", _OperationsLoader(loader, operations))
        core.register_component("event_emitter", base.events)
        self._core = core

    def build(
        self, service: str, region: str, config: Config | None, credentials: AssumedCredentials
    ) -> Any:
        return self._core.create_client(
            service,
            region_name=region,
            config=config,
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
        )


class AccountSessions:
    """Clients for a place: default credentials at home, the member role elsewhere."""

    def __init__(
        self,
        *,
        home_account: str,
        partition: str,
        member_role_name: str,
        sts_client: STSClient,
        session: boto3.session.Session | None = None,
        client_configs: Mapping[str, Config] | None = None,
        operations: Mapping[str, Collection[str]] | None = None,
        max_cached_places: int = MAX_CACHED_PLACES,
        clock: Callable[[], datetime] = _utc_now,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
        max_attempts: int = ASSUME_ROLE_MAX_ATTEMPTS,
        base_delay_s: float = 0.2,
        max_delay_s: float = 5.0,
        duration_s: int = ASSUME_ROLE_DURATION_S,
    ) -> None:
        if problem := account_problem(home_account):
            raise ValueError(f"home {problem}")
        if not _PARTITION.fullmatch(partition):
            raise ValueError(f"partition {partition!r} is not an AWS partition (like aws)")
        if member_role_name and not _ROLE_NAME.fullmatch(member_role_name):
            raise ValueError(
                f"member role name {member_role_name!r} is not an IAM role name "
                "(1-64 of letters, digits and +=,.@_-; a name, not an ARN)"
            )
        self.home_account = home_account
        self.partition = partition
        self.member_role_name = member_role_name
        self.session_name = role_session_name(home_account)
        self._sts = sts_client
        self._session = session
        self._configs = dict(client_configs or {})
        self._operations = dict(operations or {})
        self._member_clients: MemberClients | None = None
        self._max_cached_places = max(1, max_cached_places)
        self._clock = clock
        self._retry = Retry(
            max_attempts=max(1, max_attempts),
            base_delay_s=base_delay_s,
            max_delay_s=max_delay_s,
            sleep=sleep,
            jitter=jitter,
        )
        self._duration_s = duration_s
        self._lock = threading.Lock()
        self._account_locks: dict[str, threading.Lock] = {}
        # Per account: the credentials and when to renew them.
        self._credentials: dict[str, tuple[AssumedCredentials, datetime]] = {}
        # Per (place, service), least recently used first: the credentials it was built with.
        self._clients: OrderedDict[tuple[Place, str], tuple[AssumedCredentials | None, Any]] = (
            OrderedDict()
        )

    @property
    def organization_mode(self) -> bool:
        return bool(self.member_role_name)

    def role_arn(self, account: str) -> str:
        return member_role_arn(self.partition, account, self.member_role_name)

    def credentials(self, account: str) -> AssumedCredentials | None:
        """The member account's credentials (assumed or cached); None for the home account.

        Raises MemberAccessDenied when the account cannot be entered.
        """
        if problem := account_problem(account):
            raise ValueError(problem)
        if account == self.home_account:
            return None
        if not self.organization_mode:
            raise MemberAccessDenied(
                account,
                (
                    f"the watchdog runs in single-account mode ({MEMBER_ROLE_NAME_ENV} is not "
                    f"set), so it checks only its own account {self.home_account}, not {account}"
                ),
                problem=AccessProblem.SINGLE_ACCOUNT_MODE,
            )
        # One AssumeRole per account at a time; other accounts' threads do not wait for it.
        with self._lock:
            account_lock = self._account_locks.setdefault(account, threading.Lock())
        with account_lock:
            cached = self._credentials.get(account)
            if cached is not None and self._clock() < cached[1]:
                return cached[0]
            obtained = self._clock()
            fresh = self._assume(account)
            self._credentials[account] = (fresh, renewal_time(obtained, fresh.expiration))
            return fresh

    def client(self, service: str, account: str, region: str) -> Any:
        """A `service` client acting in `account` and `region` (cached; rebuilt when the
        account's credentials are renewed). Raises MemberAccessDenied."""
        return self._client(service, Place(account, region), self.credentials(account))

    def clients(self, place: Place) -> PlaceClients:
        """The EC2, Lambda and tagging clients of one place (a place without an account is in
        the home account). Raises MemberAccessDenied."""
        account = place.account or self.home_account
        place = Place(account, place.region)
        credentials = self.credentials(account)
        return PlaceClients(
            account=account,
            region=place.region,
            ec2=self._client("ec2", place, credentials),
            lambda_=self._client("lambda", place, credentials),
            tagging=self._client("resourcegroupstaggingapi", place, credentials),
        )

    def discovery_clients(self, place: Place) -> DiscoveryClients:
        """The Route 53, Resolver, Profiles and CloudWatch clients of one place. Raises
        MemberAccessDenied."""
        account = place.account or self.home_account
        place = Place(account, place.region)
        credentials = self.credentials(account)
        return DiscoveryClients(
            route53=self._client("route53", place, credentials),
            resolver=self._client("route53resolver", place, credentials),
            profiles=self._client("route53profiles", place, credentials),
            cloudwatch=self._client("cloudwatch", place, credentials),
        )

    def _client(self, service: str, place: Place, credentials: AssumedCredentials | None) -> Any:
        key = (place, service)
        with self._lock:
            cached = self._clients.get(key)
            if cached is not None and cached[0] is credentials:
                self._clients.move_to_end(key)
                return cached[1]
            client = self._build(service, place.region, credentials)
            self._clients[key] = (credentials, client)
            self._clients.move_to_end(key)
            self._evict()
            return client

    def _evict(self) -> None:
        """Let the clients of the least recently used places go, beyond `max_cached_places`
        (a place has the services of `_PLACE_SERVICES`, and those of discovery when it is on)."""
        while len({place for place, _ in self._clients}) > self._max_cached_places:
            oldest = next(iter(self._clients))[0]
            for key in [key for key in self._clients if key[0] == oldest]:
                _, client = self._clients.pop(key)
                client.close()  # its connections; a later call would open new ones

    def _build(self, service: str, region: str, credentials: AssumedCredentials | None) -> Any:
        session = self._base_session()
        config = self._configs.get(service)
        if credentials is None:  # the home account: the base session's own credentials
            return session.client(
                service,  # type: ignore[call-overload]  # the stubs type each literal service name
                region_name=region,
                config=config,
            )
        if self._member_clients is None:
            self._member_clients = MemberClients(session, self._operations)
        return self._member_clients.build(service, region, config, credentials)

    def _base_session(self) -> boto3.session.Session:
        session = self._session
        if session is None:  # boto3's default session, as `boto3.client` would use it
            if boto3.DEFAULT_SESSION is None:
                boto3.setup_default_session()
            session = boto3.DEFAULT_SESSION
        assert session is not None
        return session

    def _assume(self, account: str) -> AssumedCredentials:
        """The member role's credentials; AssumeRole throttling is retried, with full jitter."""
        role_arn = self.role_arn(account)
        tried = self._retry.call(
            lambda: self._sts.assume_role(
                RoleArn=role_arn,
                RoleSessionName=self.session_name,
                DurationSeconds=self._duration_s,
            ),
            retry_if=is_throttled,
        )
        if tried.failure is not None:
            error = read_error(tried.failure, message_limit=_MAX_MESSAGE_CHARS)
            if error.code in CHECKER_CREDENTIAL_ERRORS:
                raise tried.failure
            raise self._refusal(account, role_arn, error, tried.attempts) from tried.failure
        found = tried.result()["Credentials"]
        return AssumedCredentials(
            access_key_id=found["AccessKeyId"],
            secret_access_key=found["SecretAccessKey"],
            session_token=found["SessionToken"],
            expiration=found["Expiration"],
        )

    def _refusal(
        self, account: str, role_arn: str, error: AwsError, attempts: int
    ) -> MemberAccessDenied:
        if error.transport:
            return MemberAccessDenied(
                account,
                f"STS could not be reached to assume {role_arn} ({error.code}: {error.message})",
                problem=AccessProblem.UNREACHABLE,
                role_arn=role_arn,
            )
        return assume_role_failure(
            account,
            role_arn,
            error.code,
            error.message,
            attempts=attempts,
            sts_region=self._region(),
        )

    def _region(self) -> str:
        return str(self._sts.meta.region_name or "")


def assume_role_failure(
    account: str,
    role_arn: str,
    code: str,
    message: str,
    *,
    attempts: int = 1,
    sts_region: str = "",
) -> MemberAccessDenied:
    """The likely cause of an AssumeRole error, in words on-call can act on."""
    said = f" (STS {code}: {message})" if message else f" (STS {code})"
    lowered = message.lower()
    if code in THROTTLING_CODES:
        problem = AccessProblem.THROTTLED
        reason = f"STS throttled AssumeRole of {role_arn} {attempts} times in a row{said}"
    elif code == "RegionDisabledException":
        problem = AccessProblem.REGION_DISABLED
        where = f"region {sts_region}" if sts_region else "the STS endpoint's region"
        reason = (
            f"STS is not activated in {where} for account {account}: activate the region "
            f"in the account's IAM settings{said}"
        )
    elif code == "AccessDenied" and (
        "service control policy" in lowered or "resource control policy" in lowered
    ):
        problem = AccessProblem.ORGANIZATION_POLICY_DENY
        reason = (
            f"an SCP (explicit deny in an organization policy) blocks sts:AssumeRole of "
            f"{role_arn}{said}"
        )
    elif code == "AccessDenied" and (
        "identity-based policy" in lowered
        or "permissions boundary" in lowered
        or "session policy" in lowered
    ):
        problem = AccessProblem.CHECKER_POLICY
        reason = (
            f"the checker's own policy does not allow sts:AssumeRole of {role_arn} (an account "
            f"outside the organization fails its aws:ResourceOrgID condition){said}"
        )
    elif code == "AccessDenied":
        problem = AccessProblem.ROLE_MISSING_OR_UNTRUSTED
        reason = (
            f"role missing or trust policy wrong: {role_arn} does not exist, or its trust policy "
            f"does not admit the checker's role (deploy the member template to the account){said}"
        )
    else:
        problem = AccessProblem.OTHER
        reason = f"AssumeRole of {role_arn} failed{said}"
    return MemberAccessDenied(account, reason, problem=problem, role_arn=role_arn)
