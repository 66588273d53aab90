"""A VPC's outcome over a story of checks (pure: no AWS, no sockets).

Each test feeds `conclude` the evidence of one check and the state the previous check stored,
the way the checker does, and asserts what on-call would see: whether an alert goes out, how
loud, and where it says to roll back.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from canary_findings import healthy, rule_targets_failing, unreachable, zone_broken_everywhere
from dns_watchdog.domain.history import VpcState
from dns_watchdog.domain.models import CanaryFindings, CanaryRun, Severity, Verdict
from dns_watchdog.domain.outcome import Rollback, VpcOutcome, conclude
from dns_watchdog.domain.request import ChangeContext, CheckRequest, Resource
from dns_watchdog.domain.vpc import OptionSet, vpc_facts

pytestmark = pytest.mark.unit

VPC = "vpc-0a1b2c3d4e5f60718"
CANARY = "arn:aws:lambda:us-east-1:123456789012:function:vpc-dns-canary-a"
AMAZON = OptionSet("dopt-amazon", ("AmazonProvidedDNS",), "ec2.internal")
DEAD = OptionSet("dopt-dead", ("10.1.1.10",), None)
DC = OptionSet("dopt-dc", ("10.1.2.20",), None)
SWEEP = CheckRequest(trigger="sweep", event_name="ScheduledSweep", resources=())


def associate(option_set: OptionSet, event_id: str = "e-1") -> CheckRequest:
    change = ChangeContext(
        event_id=event_id,
        event_name="AssociateDhcpOptions",
        event_source="ec2.amazonaws.com",
        event_time="2024-05-14T09:15:42Z",
        region="us-east-1",
        account_id="123456789012",
        actor_arn="arn:aws:sts::123456789012:assumed-role/NetworkAdmin/jane",
        actor_type="AssumedRole",
        session_issuer_arn=None,
        source_ip="203.0.113.24",
        requested_option_set_id=option_set.option_set_id,
    )
    return CheckRequest("change", "AssociateDhcpOptions", (Resource("vpc", VPC),), change)


def run(findings: dict[str, object]) -> CanaryRun:
    return CanaryRun(CANARY, "findings", CanaryFindings.model_validate(findings))


def evidence(option_set: OptionSet, *, dead: bool = False) -> CanaryRun:
    facts = vpc_facts(VPC, "10.0.0.0/16", option_set, True)
    servers = list(facts.expected_nameservers)
    return run(unreachable(servers) if dead else healthy(servers))


@dataclass
class Vpc:
    """One VPC through successive checks: the stored state carries over like DynamoDB's."""

    option_set: OptionSet = AMAZON
    stored: VpcState | None = None
    clock: int = 0
    outcomes: list[VpcOutcome] = field(default_factory=list)

    def check(self, request: CheckRequest, *runs: CanaryRun) -> VpcOutcome:
        self.clock += 1
        if request.change and request.change.requested_option_set_id:
            self.option_set = next(
                s
                for s in (AMAZON, DEAD, DC)
                if s.option_set_id == request.change.requested_option_set_id
            )
        outcome = conclude(
            facts=vpc_facts(VPC, "10.0.0.0/16", self.option_set, True),
            runs=runs,
            stored=self.stored,
            request=request,
            now=f"2024-05-14T09:{self.clock:02d}:00Z",
        )
        self.stored = outcome.state
        self.outcomes.append(outcome)
        return outcome


def known(*existing: OptionSet, gone: tuple[str, ...] = ()) -> dict[str, OptionSet | None]:
    described: dict[str, OptionSet | None] = {s.option_set_id: s for s in existing}
    described.update(dict.fromkeys(gone))
    return described


def test_a_healthy_sweep_pages_nobody_and_remembers_the_set_as_good() -> None:
    vpc = Vpc()
    outcome = vpc.check(SWEEP, evidence(AMAZON))
    assert outcome.severity is None
    assert outcome.option_sets_to_describe == ()
    assert (outcome.state.last_good_option_set_id, outcome.state.last_good_verified_at) == (
        "dopt-amazon",
        "2024-05-14T09:01:00Z",
    )


def test_dead_server_pages_critical_once_and_rolls_back_to_the_last_good_set() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    broken = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    assert broken.severity == Severity.CRITICAL
    assert broken.judgement.diagnosis.code == "CONFIGURED_SERVER_UNREACHABLE"
    assert broken.option_sets_to_describe == ("dopt-amazon",)
    assert broken.rollback(known(AMAZON)) == Rollback("last_good", "dopt-amazon")
    # The next sweep finds it still broken: the incident is open, nobody is paged again.
    assert vpc.check(SWEEP, evidence(DEAD, dead=True)).severity is None


def test_the_fix_sends_one_recovered_and_no_rollback() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    fixed = vpc.check(associate(DC, "e-2"), evidence(DC))
    assert fixed.severity == Severity.RECOVERED
    assert fixed.rollback(known(AMAZON, DEAD)) == Rollback("none_needed")
    assert vpc.check(SWEEP, evidence(DC)).severity is None


def test_rollback_skips_a_broken_previous_set_for_the_last_good_one() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    worse = vpc.check(associate(DC, "e-2"), evidence(DC, dead=True))
    assert worse.severity == Severity.CRITICAL
    assert worse.history.previous == "dopt-dead"
    assert set(worse.option_sets_to_describe) == {"dopt-dead", "dopt-amazon"}
    assert worse.rollback(known(AMAZON, DEAD)) == Rollback("last_good", "dopt-amazon")


def test_a_deleted_last_good_set_falls_back_to_the_previous_one_and_says_so() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    broken = vpc.check(associate(DEAD), evidence(DEAD, dead=True))
    advice = broken.rollback(known(gone=("dopt-amazon",)))
    assert advice == Rollback("previous", "dopt-amazon", last_good_gone=True)


def test_when_the_current_set_is_the_last_good_one_there_is_nothing_to_roll_back() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    broken = vpc.check(SWEEP, evidence(AMAZON, dead=True))
    assert broken.severity == Severity.CRITICAL
    assert broken.rollback(known()) == Rollback("current_is_last_good")


def test_a_vpc_first_seen_broken_has_no_known_rollback() -> None:
    broken = Vpc(option_set=DEAD).check(SWEEP, evidence(DEAD, dead=True))
    assert broken.severity == Severity.CRITICAL
    assert broken.option_sets_to_describe == ()
    assert broken.rollback(known()) == Rollback("unknown")


def test_a_zone_broken_everywhere_is_not_blamed_on_the_option_set() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    outcome = vpc.check(SWEEP, run(zone_broken_everywhere(["10.0.0.2"])))
    assert outcome.judgement.verdict == Verdict.DEGRADED
    assert outcome.severity == Severity.WARNING
    assert outcome.rollback(known(AMAZON)) == Rollback("not_option_set")


def test_a_forward_rule_with_dead_targets_fails_the_vpc_without_a_rollback() -> None:
    # Given a healthy VPC, then the canary finds a Resolver rule whose targets are dead
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    outcome = vpc.check(SWEEP, run(rule_targets_failing(["10.0.0.2"])))

    # Then DNS has failed for the VPC, but the option set is not to blame: no rollback
    assert outcome.judgement.verdict == Verdict.FAILED
    assert outcome.judgement.diagnosis.code == "RESOLVER_RULE_TARGETS_FAILING"
    assert outcome.judgement.diagnosis.failing_hop == "rule_target"
    assert outcome.severity == Severity.CRITICAL
    assert outcome.rollback(known(AMAZON)) == Rollback("not_option_set")


def test_every_option_set_change_is_announced_even_when_healthy() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    outcome = vpc.check(associate(DC), evidence(DC))
    assert outcome.severity == Severity.INFO
    assert outcome.rollback(known(AMAZON)) == Rollback("none_needed")
    assert outcome.state.previous_option_set_id == "dopt-amazon"
    assert outcome.state.last_good_option_set_id == "dopt-dc"


def test_one_canarys_ok_does_not_vouch_for_another_that_could_not_verify() -> None:
    vpc = Vpc()
    vpc.check(SWEEP, evidence(AMAZON))
    crashed = CanaryRun(CANARY + "-b", "error", detail="it crashed")
    outcome = vpc.check(associate(DEAD), evidence(DEAD), crashed)
    assert outcome.judgement.verdict == Verdict.OK
    assert "could not verify with: vpc-dns-canary-a-b" in outcome.judgement.notes
    # dopt-dead is not remembered as good: the rollback target stays the verified set
    assert outcome.state.last_good_option_set_id == "dopt-amazon"


def test_disagreeing_canaries_are_named_and_the_worst_wins() -> None:
    vpc = Vpc()
    other = CanaryRun(CANARY + "-b", "findings", evidence(DEAD).findings)
    outcome = vpc.check(associate(DEAD), evidence(DEAD, dead=True), other)
    assert outcome.judgement.verdict == Verdict.FAILED
    assert any(
        note.startswith("canaries disagree: vpc-dns-canary-a-b found DNS healthy")
        for note in outcome.judgement.notes
    )
