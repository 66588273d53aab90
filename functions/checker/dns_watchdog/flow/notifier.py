"""Alerts out: one view of the facts, rendered for people, machines and chat, published once.

Renderers for optional channels are imported when first used: a stack without a chat topic
never loads the chat renderer, and only preflights load the preflight renderer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dns_watchdog import constants as names
from dns_watchdog.aws.chat_pace import ChatPace
from dns_watchdog.aws.publisher import AlertPublisher
from dns_watchdog.domain.errors import MemberAccessDenied
from dns_watchdog.domain.lint import LintFinding
from dns_watchdog.domain.outcome import VpcOutcome
from dns_watchdog.domain.place import Place
from dns_watchdog.domain.preflight import VpcPrediction
from dns_watchdog.domain.request import CheckRequest, PreflightRequest
from dns_watchdog.domain.rollback import RollbackReport
from dns_watchdog.domain.vpc import OptionSet
from dns_watchdog.domain.workloads import BlastRadius
from dns_watchdog.flow import telemetry
from dns_watchdog.flow.budget import RunBudget
from dns_watchdog.observability import count, logger
from dns_watchdog.render.alert import build_access_warning, render_alert
from dns_watchdog.render.view import AlertContext, build_view

# The log lines of a publication: (already published before, published now).
_ALERT_LINES = ("Alert already published", "Alert published")
_PREFLIGHT_LINES = ("Preflight warning already published", "Preflight warning published")
_ROLLBACK_LINES = ("Rollback record already published", "Rollback record published")


# The longest a chat post waits for a slot of the channel's rate (aws/chat_pace.py).
CHAT_WAIT_MAX_S = 10.0


class Notifier:
    """Publishes each decided alert once (the publisher remembers what went out); chat posts
    wait for a slot of the channel's rate when `chat_pace` is given."""

    def __init__(self, publisher: AlertPublisher, chat_pace: ChatPace | None = None) -> None:
        self._publisher = publisher
        self._chat_pace = chat_pace

    @property
    def chat_enabled(self) -> bool:
        return self._publisher.chat_topic_arn is not None

    def page(
        self,
        outcome: VpcOutcome,
        known: Mapping[str, OptionSet | None],
        context: AlertContext,
        budget: RunBudget | None = None,
    ) -> bool:
        """Publish the outcome's alert unless it already went out; say whether it did now."""
        view = build_view(outcome, known, context)
        alert = render_alert(view)
        if alert.document["shortened"]:
            # The alert shows part of the evidence and points at these lines for the rest.
            telemetry.log_full_findings(outcome)
        message_id = self._publisher.publish_once(alert, outcome.alert_key)
        extra = {"vpc_id": outcome.facts.vpc_id, "subject": alert.subject}
        if self.chat_enabled:
            from dns_watchdog.render.chat import render_chat  # noqa: PLC0415

            # After the page: a broken chat topic fails the run (retried) but never holds it up.
            chat = render_chat(view)
            self._pace(budget, extra)
            chat_id = self._publisher.publish_chat_once(chat, outcome.alert_key)
            logger.info("Chat notification", extra={**extra, "message_id": chat_id})
        return self._published(message_id, extra, outcome.alert_key, _ALERT_LINES)

    def warn_before_association(
        self,
        request: PreflightRequest,
        candidate: OptionSet,
        lint: Sequence[LintFinding],
        breaking: Sequence[VpcPrediction],
        region: str,
        budget: RunBudget | None = None,
        *,
        blasts: Mapping[str, BlastRadius] | None = None,
    ) -> bool:
        """After CreateDhcpOptions: one WARNING when a watched VPC would break, else nothing
        (`blasts`: what is hit in the VPCs whose workloads were read)."""
        from dns_watchdog.render.preflight import build_preflight_warning  # noqa: PLC0415

        extra = {"option_set_id": candidate.option_set_id, "event_id": request.event_id}
        if not breaking:
            logger.info("New option set looks safe for every watched VPC: no alert", extra=extra)
            return False
        alert = build_preflight_warning(
            candidate.option_set_id,
            candidate.domain_name_servers,
            list(lint),
            list(breaking),
            request.change,
            region,
            blasts=blasts or {},
        )
        key = f"preflight#{candidate.option_set_id}#{request.event_id}"
        message_id = self._publisher.publish_once(alert, key)
        if self.chat_enabled:
            from dns_watchdog.render.chat import (  # noqa: PLC0415
                build_preflight_chat_notification,
            )

            chat = build_preflight_chat_notification(
                alert, candidate.option_set_id, [p.facts.vpc_id for p in breaking], region
            )
            self._pace(budget, extra)
            chat_id = self._publisher.publish_chat_once(chat, key)
            logger.info("Chat notification", extra={**extra, "message_id": chat_id})
        return self._published(message_id, extra, key, _PREFLIGHT_LINES)

    def warn_no_access(
        self, request: CheckRequest, refused: MemberAccessDenied, place: Place
    ) -> bool:
        """A change in a place the checker cannot enter: one WARNING, so it is not silent."""
        alert = build_access_warning(
            request, refused.account, place.region, refused.reason, str(refused.problem)
        )
        key = f"access#{refused.account}#{place.region}#{request.event_id}"
        return self._publisher.publish_once(alert, key) is not None

    def _pace(self, budget: RunBudget | None, extra: Mapping[str, object]) -> None:
        """Wait for a slot of the chat channel's rate, within the run's spare time."""
        if self._chat_pace is None:
            return
        budget = budget or RunBudget()
        deadline = budget.monotonic() + budget.slice_s(CHAT_WAIT_MAX_S)
        unpaced = self._chat_pace.claim(deadline)
        if unpaced is not None:
            logger.warning("Chat post not paced", extra={**extra, "reason": unpaced})

    def record_rollback(
        self, report: RollbackReport, request_id: str | None, budget: RunBudget | None = None
    ) -> bool:
        """A rollback somebody asked for: its record on the alert topic (a refusal changed
        nothing, so it is only returned and logged), and in chat (a refusal too when the
        request came from the chat button: that is where its requester looks)."""
        from dns_watchdog.render.rollback import (  # noqa: PLC0415
            build_rollback_chat,
            build_rollback_record,
        )

        place = report.place
        key = f"rollback#{place.account or ''}#{place.region}#{report.plan.vpc_id}#{request_id}"
        extra = {"vpc_id": report.plan.vpc_id, "status": report.status}
        published = False
        if report.status != "refused":
            alert = build_rollback_record(report, request_id)
            message_id = self._publisher.publish_once(alert, key)
            published = self._published(message_id, extra, key, _ROLLBACK_LINES)
        if self.chat_enabled and (report.status != "refused" or report.request.via_chat):
            chat = build_rollback_chat(report, request_id)
            self._pace(budget, extra)
            chat_id = self._publisher.publish_chat_once(chat, key)
            logger.info("Chat notification", extra={**extra, "message_id": chat_id})
        return published

    @staticmethod
    def _published(
        message_id: str | None, extra: Mapping[str, object], key: str, lines: tuple[str, str]
    ) -> bool:
        already, published = lines
        if message_id is None:
            logger.info(already, extra={**extra, "key": key})
            return False
        count(names.METRIC_ALERTS_PUBLISHED, 1)
        logger.info(published, extra={**extra, "message_id": message_id})
        return True
