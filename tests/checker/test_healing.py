"""Self-healing's guard rails (pure): when the watchdog may put the last good option set back.

Each test plays a short story through `conclude` (healthy, then a bad association) and asks
`plan_heal` what self-healing would do, the way the checker does after judging the change; what
the alert then says about it is the alert view's sentence (render/view.py).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from dns_watchdog.domain.healing import (
    HealMode,
    HealPlan,
    HealReport,
    OptionSetMismatch,
    is_own_change,
    plan_heal,
)
from dns_watchdog.domain.identity import Caller, OwnIdentity
from dns_watchdog.domain.models import Verdict
from dns_watchdog.domain.outcome import Rollback, VpcOutcome, conclude
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.request import CheckRequest
from dns_watchdog.domain.vpc import OptionSet, vpc_facts
from dns_watchdog.render.view import AlertContext, build_view
from test_outcome import AMAZON, DC, DEAD, SWEEP, VPC, Vpc, associate, evidence

pytestmark = pytest.mark.unit

OWN_ROLE = "arn:aws:iam::123456789012:role/vpc-dns-watchdog-CheckerRole-AbC123"
OWN = OwnIdentity(OWN_ROLE)
WEEK_S = 7 * 24 * 3600.0
# The option sets the checker found described (all exist unless a test says otherwise).
KNOWN: dict[str, OptionSet | None] = {AMAZON.option_set_id: AMAZON, DEAD.option_set_id: DEAD}


def broken_after_association(request: CheckRequest | None = None) -> VpcOutcome:
    """A VPC verified healthy on AmazonProvidedDNS, then associated with a dead server."""
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    return vpc.check(request or associate(DEAD), evidence(DEAD, dead=True))


def plan(
    outcome: VpcOutcome,
    request: CheckRequest | None = None,
    *,
    mode: HealMode = "on",
    opted_in: bool = True,
    max_age_s: float = WEEK_S,
    healed_incident: str | None = None,
    known: dict[str, OptionSet | None] | None = None,
) -> HealPlan | None:
    return plan_heal(
        outcome,
        outcome.rollback(KNOWN if known is None else known),
        request or associate(DEAD),
        mode=mode,
        opted_in=opted_in,
        own=OWN,
        max_age_s=max_age_s,
        healed_incident=healed_incident,
        now="2024-05-14T09:02:00Z",
    )


def said(outcome: VpcOutcome, report: HealReport, request: CheckRequest | None = None) -> str:
    """The sentence the alert about `outcome` says about self-healing."""
    context = AlertContext(
        request or associate(DEAD), Place(None, "us-east-1"), "now", healing=report
    )
    sentence = build_view(outcome, KNOWN, context).healing_sentence
    assert sentence is not None
    return sentence


def test_a_failed_association_heals_to_the_last_good_set() -> None:
    outcome = broken_after_association()
    healing = plan(outcome)
    assert healing is not None
    assert healing.act
    assert not healing.dry_run
    assert healing.option_set_id == AMAZON.option_set_id
    assert healing.incident_started_at == outcome.decision.incident_started_at


def test_dry_run_says_what_it_would_do_and_does_not_act() -> None:
    healing = plan(broken_after_association(), mode="dry-run")
    assert healing is not None
    assert not healing.act
    assert healing.dry_run
    assert healing.option_set_id == AMAZON.option_set_id
    report = HealReport(healing)
    sentence = said(broken_after_association(), report)
    assert sentence.startswith("Self-healing (dry run): would have associated dopt-amazon")
    assert sentence.endswith("nothing was changed.")
    assert not report.healed


def test_off_says_nothing() -> None:
    assert plan(broken_after_association(), mode="off") is None


def test_sweeps_and_manual_checks_never_heal() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    vpc.option_set = DEAD
    outcome = vpc.check(SWEEP, evidence(DEAD, dead=True))
    assert outcome.judgement.verdict == Verdict.FAILED
    assert plan(outcome, SWEEP) is None


def test_the_watchdogs_own_association_never_heals() -> None:
    # Given the association was made by the checker's role (an assumed-role session of it)
    request = associate(DEAD)
    assert request.change is not None
    own = replace(
        request,
        change=replace(
            request.change,
            actor_arn="arn:aws:sts::123456789012:assumed-role/"
            "vpc-dns-watchdog-CheckerRole-AbC123/vpc-dns-watchdog-checker",
            session_issuer_arn=OWN_ROLE,
        ),
    )
    healing = plan(broken_after_association(own), own)
    assert healing is not None
    assert not healing.act
    assert "own association" in healing.reason
    assert is_own_change(own, OWN)
    assert not is_own_change(associate(DEAD), OWN)


def test_at_most_once_per_incident() -> None:
    outcome = broken_after_association()
    healing = plan(outcome, healed_incident=outcome.decision.incident_started_at)
    assert healing is not None
    assert not healing.act
    assert "already acted once in this incident" in healing.reason
    # an earlier incident's heal does not hold this one back
    again = plan(outcome, healed_incident="2024-01-01T00:00:00Z")
    assert again is not None
    assert again.act


def test_a_vpc_that_did_not_opt_in_is_not_touched() -> None:
    healing = plan(broken_after_association(), opted_in=False)
    assert healing is not None
    assert not healing.act
    assert healing.reason == f"{VPC} is not tagged dhcp-watchdog:self-heal=true"


def test_a_last_good_set_verified_too_long_ago_is_not_trusted() -> None:
    # Given the last good set was verified a minute before the failure
    healing = plan(broken_after_association(), max_age_s=30)
    assert healing is not None
    assert not healing.act
    assert healing.reason == (
        "dopt-amazon was last verified healthy 2024-05-14T09:01:00Z, longer ago than the 30 s "
        "allowed"
    )
    assert plan(broken_after_association(), max_age_s=7 * 24 * 3600) is not None


def test_a_last_good_set_that_no_longer_exists_is_not_used() -> None:
    outcome = broken_after_association()
    healing = plan(outcome, known={AMAZON.option_set_id: None})
    assert healing is not None
    assert not healing.act
    # held back by the rollback advice itself, which the alert words once
    assert healing.held_by == Rollback("previous", AMAZON.option_set_id, last_good_gone=True)
    assert said(outcome, HealReport(healing)) == (
        "Self-healing did not act: the last option set verified healthy, dopt-amazon (verified "
        "2024-05-14T09:01:00Z), no longer exists."
    )


def test_never_to_the_set_that_just_failed() -> None:
    # Given the dead set was itself once verified healthy (its server died later), the VPC then
    # moved to another set that failed, and the dead set is associated again
    vpc = Vpc(option_set=DEAD)
    vpc.check(SWEEP, evidence(DEAD))
    vpc.check(associate(DC, "e-0"), evidence(DC, dead=True))
    outcome = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    assert outcome.history.last_good == DEAD.option_set_id
    healing = plan(outcome)
    assert healing is not None
    assert not healing.act
    assert healing.held_by == Rollback("current_is_last_good")
    assert said(outcome, HealReport(healing)) == (
        "Self-healing did not act: the current one, dopt-dead, is the last option set verified "
        "healthy (verified 2024-05-14T09:01:00Z)."
    )


def test_no_heal_without_a_critical() -> None:
    # A healthy association is announced as INFO: nothing to heal
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    outcome = vpc.check(associate(AMAZON), evidence(AMAZON))
    assert plan(outcome, associate(AMAZON)) is None


@pytest.mark.parametrize(
    ("report", "sentence"),
    [
        (
            {"associated_at": "2024-05-14T09:02:03Z", "verified_verdict": Verdict.OK},
            "Rolled back automatically to dopt-amazon at 2024-05-14T09:02:03Z; verified OK.",
        ),
        (
            {
                "associated_at": "2024-05-14T09:02:03Z",
                "verified_verdict": Verdict.FAILED,
                "verified_diagnosis": "CONFIGURED_SERVER_UNREACHABLE",
            },
            "Rolled back automatically to dopt-amazon at 2024-05-14T09:02:03Z; verified FAILED "
            "(CONFIGURED_SERVER_UNREACHABLE).",
        ),
        (
            {"error": "AssociateDhcpOptions dopt-amazon -> vpc-1 failed: UnauthorizedOperation"},
            "Self-healing could not roll back to dopt-amazon: AssociateDhcpOptions dopt-amazon -> "
            "vpc-1 failed: UnauthorizedOperation.",
        ),
    ],
)
def test_the_report_says_what_happened(report: dict[str, object], sentence: str) -> None:
    outcome = broken_after_association()
    healing = plan(outcome)
    assert healing is not None
    result = HealReport(healing, **report)  # type: ignore[arg-type]
    assert said(outcome, result) == sentence
    assert result.healed is (report.get("verified_verdict") == Verdict.OK)
    context = AlertContext(associate(DEAD), Place(None, "us-east-1"), "now", healing=result)
    document = build_view(outcome, KNOWN, context).healing_document()
    assert document is not None
    assert document["healed"] is result.healed
    assert document["summary"] == sentence


def judged_on(option_set: OptionSet, request: CheckRequest, stored: Vpc) -> VpcOutcome:
    """The outcome of `request` for a VPC on `option_set`, after the story `stored` told."""
    return conclude(
        facts=vpc_facts(VPC, "10.0.0.0/16", option_set, True),
        runs=[evidence(option_set, dead=option_set == DEAD)],
        stored=stored.stored,
        request=request,
        now="2024-05-14T09:30:00Z",
    )


def test_an_event_about_a_vpc_whose_set_never_changed_heals_nothing() -> None:
    # Given the VPC was verified healthy, then found FAILED on the dead set by a sweep (the
    # association's own event never arrived)
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    vpc.option_set = DEAD
    vpc.check(SWEEP, evidence(DEAD, dead=True))
    # When a hand-made AssociateDhcpOptions event with a made-up id names another set
    forged = associate(DC, "e-forged")
    outcome = judged_on(DEAD, forged, vpc)
    healing = plan(outcome, forged)

    # Then nothing is associated, and the alert says why
    assert healing is not None
    assert not healing.act
    assert healing.mismatch == OptionSetMismatch("unchanged", DEAD.option_set_id)
    assert said(outcome, HealReport(healing), forged) == (
        f"Self-healing did not act: {VPC} was already on dopt-dead when last checked: the event "
        "changed nothing the watchdog saw."
    )
    # and the same event naming the current set is not even announced (set and verdict are
    # unchanged: domain/coalesce.py), so self-healing has nothing to act on
    replayed = associate(DEAD, "e-replayed")
    replay = judged_on(DEAD, replayed, vpc)
    assert replay.severity is None
    assert plan(replay, replayed) is None


def test_an_event_naming_another_set_than_the_vpcs_heals_nothing() -> None:
    # Given the VPC moved from its healthy set to the dead one, but the event names a third set
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    mislabelled = associate(DC, "e-mislabelled")
    outcome = judged_on(DEAD, mislabelled, vpc)

    healing = plan(outcome, mislabelled)

    assert healing is not None
    assert not healing.act
    assert healing.mismatch == OptionSetMismatch("not_requested", "dopt-dead", "dopt-dc")
    assert said(outcome, HealReport(healing), mislabelled) == (
        f"Self-healing did not act: {VPC} is on dopt-dead, not on dopt-dc, the option set the "
        "event names."
    )


def test_a_vpc_that_moved_during_the_check_is_left_as_it_is() -> None:
    outcome = broken_after_association()
    healing = plan(outcome)
    assert healing is not None
    # When the checker, right before associating, finds the VPC on another set
    held = replace(
        healing, act=False, mismatch=OptionSetMismatch("moved", "dopt-dc", DEAD.option_set_id)
    )
    assert said(outcome, HealReport(held)) == (
        f"Self-healing did not act: {VPC} moved to dopt-dc while it was checked (it was judged "
        "on dopt-dead): that change stands, nothing was associated."
    )


HOME = "123456789012"
MEMBER = "222222222222"
MEMBER_ROLE = "vpc-dns-watchdog-member"
ORGANIZATION = OwnIdentity(OWN_ROLE, MEMBER_ROLE)
MEMBER_SESSION = f"arn:aws:sts::{MEMBER}:assumed-role/{MEMBER_ROLE}/vpc-dns-watchdog-{HOME}"


@pytest.mark.parametrize(
    ("caller", "account", "own"),
    [
        # home: a session of the checker role (any session name: only Lambda assumes it)
        (
            Caller(f"arn:aws:sts::{HOME}:assumed-role/vpc-dns-watchdog-CheckerRole-AbC123/fn"),
            HOME,
            True,
        ),
        (
            Caller(
                f"arn:aws:sts::{HOME}:assumed-role/vpc-dns-watchdog-CheckerRole-AbC123/fn", OWN_ROLE
            ),
            None,
            True,
        ),
        # member: the member role with the watchdog's session name, in that account
        (Caller(MEMBER_SESSION), MEMBER, True),
        (Caller(MEMBER_SESSION, f"arn:aws:iam::{MEMBER}:role/{MEMBER_ROLE}"), MEMBER, True),
        # a role named like the checker role in another account is somebody else
        (
            Caller(f"arn:aws:sts::{MEMBER}:assumed-role/vpc-dns-watchdog-CheckerRole-AbC123/fn"),
            MEMBER,
            False,
        ),
        # the member role under another session name, or recorded in another account
        (Caller(f"arn:aws:sts::{MEMBER}:assumed-role/{MEMBER_ROLE}/alice"), MEMBER, False),
        (Caller(MEMBER_SESSION), "333333333333", False),
        # the member role's name in the home account is not the checker role
        (
            Caller(f"arn:aws:sts::{HOME}:assumed-role/{MEMBER_ROLE}/vpc-dns-watchdog-{HOME}"),
            HOME,
            False,
        ),
        # a session issuer that is another role
        (Caller(MEMBER_SESSION, f"arn:aws:iam::{MEMBER}:role/other"), MEMBER, False),
        (Caller("arn:aws:iam::123456789012:user/alice"), HOME, False),
        (Caller(None), HOME, False),
    ],
)
def test_own_calls_are_told_by_account_role_and_session_name(
    caller: Caller, account: str | None, own: bool
) -> None:
    assert ORGANIZATION.made(caller, account) is own


def test_single_account_mode_has_no_member_sessions() -> None:
    assert not OWN.made(Caller(MEMBER_SESSION), MEMBER)
