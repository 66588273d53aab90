"""Who the watchdog is in CloudTrail (pure): its own calls, told apart from everyone else's.

A call is the watchdog's own only when account, role and session name agree together:

- in the home account (the account of `CHECKER_ROLE_ARN`), a session of the checker role
  itself: `arn:<partition>:sts::<home>:assumed-role/<checker role name>/<any session>` (only
  Lambda may assume that role, so its session name says nothing more);
- in a member account (organization mode), a session of the member role opened by the checker:
  `arn:<partition>:sts::<member>:assumed-role/<MEMBER_ROLE_NAME>/vpc-dns-watchdog-<home>`
  (`role_session_name`; aws/sessions.py opens every member session with that name).

A role merely *named* like the checker role in another account, the member role's name used in
the home account, or the member role with another session name, are not the watchdog.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dns_watchdog.constants import ROLE_SESSION_NAME_PREFIX

# STS's limits on RoleSessionName.
ROLE_SESSION_NAME_MAX_LENGTH = 64
_ROLE_SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]", re.ASCII)
# An assumed-role session as CloudTrail's userIdentity.arn shows it.
_SESSION_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):sts::(?P<account>\d{12}):"
    r"assumed-role/(?P<role>[\w+=,.@-]{1,64})/(?P<session>[\w+=,.@-]{2,64})",
    re.ASCII,
)
_ROLE_ARN = re.compile(
    r"arn:(?P<partition>aws(?:-[a-z]+)*):iam::(?P<account>\d{12}):role/(?:[\w+=,.@/-]*/)?"
    r"(?P<role>[\w+=,.@-]{1,64})",
    re.ASCII,
)


def role_session_name(home_account: str) -> str:
    """The session name that identifies the watchdog, within STS's length and character set."""
    name = _ROLE_SESSION_NAME_CHARS.sub("-", f"{ROLE_SESSION_NAME_PREFIX}{home_account}")
    return name[:ROLE_SESSION_NAME_MAX_LENGTH]


def member_role_arn(partition: str, account: str, role_name: str) -> str:
    return f"arn:{partition}:iam::{account}:role/{role_name}"


@dataclass(frozen=True)
class Caller:
    """Who made a call, as CloudTrail recorded it (userIdentity.arn and its session issuer)."""

    actor_arn: str | None
    session_issuer_arn: str | None = None


@dataclass(frozen=True)
class OwnIdentity:
    """The watchdog's identities: the checker role at home, its sessions of the member role."""

    checker_role_arn: str
    # Organization mode only ("" in single-account mode: no member session is the watchdog's).
    member_role_name: str = ""

    @property
    def home_account(self) -> str:
        match = _ROLE_ARN.fullmatch(self.checker_role_arn)
        if match is None:
            raise ValueError(f"{self.checker_role_arn!r} is not an IAM role ARN")
        return match["account"]

    def made(self, caller: Caller, account: str | None) -> bool:
        """Whether the watchdog made a call recorded in `account` (None: the home account)."""
        role = _ROLE_ARN.fullmatch(self.checker_role_arn)
        session = _SESSION_ARN.fullmatch(caller.actor_arn or "")
        if role is None or session is None:
            return False
        home = role["account"]
        account = account or home
        if session["account"] != account or session["partition"] != role["partition"]:
            return False
        if account == home:
            expected_issuer = self.checker_role_arn
            ours = session["role"] == role["role"]
        else:
            expected_issuer = member_role_arn(role["partition"], account, self.member_role_name)
            ours = (
                bool(self.member_role_name)
                and session["role"] == self.member_role_name
                and session["session"] == role_session_name(home)
            )
        # The session issuer, when recorded, must be that very role too.
        issuer = caller.session_issuer_arn
        return ours and (issuer is None or issuer == expected_issuer)
