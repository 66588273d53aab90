"""Publishing alerts to SNS, once per alert decision.

What is published is described here by what the publisher reads (`PublishableAlert`,
`PublishableChat`), so this adapter needs nothing from the renderers that build them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
)
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from dns_watchdog.domain.errors import AwsCallFailed

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

# botocore's standard retry mode handles throttling and transient errors before we give up.
SNS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})
# A decided alert is remembered as long as EventBridge may retry the event behind it (24 hours).
PUBLISHED_TTL_S = 25 * 60 * 60


class PublishableAlert(Protocol):
    """An alert as SNS takes it (render.alert.Alert)."""

    @property
    def subject(self) -> str: ...

    @property
    def attributes(self) -> Mapping[str, str | int]:
        """SNS message attributes: a str is sent as DataType String, an int as Number."""
        ...

    def sns_message(self) -> str:
        """The MessageStructure=json body."""
        ...


class PublishableChat(Protocol):
    """A chat custom notification as SNS takes it (render.chat.ChatNotification)."""

    @property
    def document(self) -> Mapping[str, Any]: ...

    def sns_message(self) -> str:
        """The whole message: the notification's JSON document."""
        ...


def _attribute(value: str | int) -> MessageAttributeValueTypeDef:
    """One message attribute: numbers as DataType Number (filter policies' "numeric" matches
    only those), everything else as String."""
    if isinstance(value, int) and not isinstance(value, bool):
        return {"DataType": "Number", "StringValue": str(value)}
    return {"DataType": "String", "StringValue": str(value)}


class AlertPublishError(AwsCallFailed):
    """SNS did not take the alert even after retries; the invocation must fail and be retried."""


def _replayed(response: Any, idempotent_data: DataRecord) -> Any:
    return {**response, "replayed": True} if isinstance(response, dict) else response


class AlertPublisher:
    """Publishes alerts; with a persistence layer, each alert decision at most once.

    The record of a published alert (Powertools idempotency, in the state table) lets a retry
    whose state write failed, or a concurrent delivery that decided the same alert from the same
    stored state, skip the page that already went out. A failed publish leaves no record, so the
    retry publishes.

    With a chat topic, each alert is also published there as an Amazon Q Developer custom
    notification, remembered apart: a retry after a failed chat publish does not page twice.
    """

    def __init__(
        self,
        topic_arn: str,
        client: SNSClient | None = None,
        *,
        persistence: BasePersistenceLayer | None = None,
        chat_topic_arn: str | None = None,
    ) -> None:
        self._topic_arn = topic_arn
        self.chat_topic_arn = chat_topic_arn
        self._sns = client or boto3.client("sns", config=SNS_CLIENT_CONFIG)
        self._once = None
        self._chat_once = None
        # Registered with the Lambda context by the runtime, like the change events' config.
        self.idempotency = IdempotencyConfig(
            expires_after_seconds=PUBLISHED_TTL_S, response_hook=_replayed
        )
        if persistence is not None:
            self._once = idempotent_function(
                data_keyword_argument="alert_key",
                persistence_store=persistence,
                config=self.idempotency,
            )(self._publish_keyed)
            self._chat_once = idempotent_function(
                data_keyword_argument="chat_key",
                persistence_store=persistence,
                config=self.idempotency,
            )(self._publish_chat_keyed)

    def publish_once(self, alert: PublishableAlert, alert_key: str) -> str | None:
        """Publish unless this alert decision was already published; return the message id,
        or None when it was (or is being) published by an earlier or concurrent invocation."""
        if self._once is None:
            return self.publish(alert)
        try:
            outcome = self._once(alert_key=alert_key, alert=alert)
        except IdempotencyAlreadyInProgressError:
            return None
        return None if outcome.get("replayed") else str(outcome["message_id"])

    def _publish_keyed(self, alert_key: str, alert: PublishableAlert) -> dict[str, str]:
        return {"message_id": self.publish(alert)}

    def publish_chat_once(self, notification: PublishableChat, alert_key: str) -> str | None:
        """Publish the chat document of an alert decision once; None when there is no chat topic
        or it was (or is being) published already."""
        if self.chat_topic_arn is None:
            return None
        if self._chat_once is None:
            return self.publish_chat(notification)
        try:
            outcome = self._chat_once(chat_key=f"{alert_key}#chat", notification=notification)
        except IdempotencyAlreadyInProgressError:
            return None
        return None if outcome.get("replayed") else str(outcome["message_id"])

    def _publish_chat_keyed(self, chat_key: str, notification: PublishableChat) -> dict[str, str]:
        return {"message_id": self.publish_chat(notification)}

    def publish_chat(self, notification: PublishableChat) -> str:
        """Publish the custom notification as the whole message (chat reads no other body)."""
        if self.chat_topic_arn is None:
            raise ValueError("no chat topic is configured")
        try:
            response = self._sns.publish(
                TopicArn=self.chat_topic_arn, Message=notification.sns_message()
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertPublishError(
                f"could not publish the chat notification {notification.document['id']} to "
                f"{self.chat_topic_arn}: {exc}"
            ) from exc
        return response["MessageId"]

    def publish(self, alert: PublishableAlert) -> str:
        """Publish the alert; return the SNS message id."""
        try:
            response = self._sns.publish(
                TopicArn=self._topic_arn,
                Subject=alert.subject,
                Message=alert.sns_message(),
                MessageStructure="json",
                MessageAttributes={
                    name: _attribute(value) for name, value in alert.attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertPublishError(
                f"could not publish the {alert.attributes.get('severity')} alert for "
                f"{alert.attributes.get('vpc_id')} to {self._topic_arn}: {exc}"
            ) from exc
        return response["MessageId"]
