"""Publishing alerts to SNS."""

from __future__ import annotations

from typing import TYPE_CHECKING

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

    from dns_watchdog.alerts import Alert

# botocore's standard retry mode handles throttling and transient errors before we give up.
SNS_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5})


class AlertPublishError(RuntimeError):
    """SNS did not take the alert even after retries; the invocation must fail and be retried."""


class AlertPublisher:
    def __init__(self, topic_arn: str, client: SNSClient | None = None) -> None:
        self._topic_arn = topic_arn
        self._sns = client or boto3.client("sns", config=SNS_CLIENT_CONFIG)

    def publish(self, alert: Alert) -> str:
        """Publish the alert; return the SNS message id."""
        try:
            response = self._sns.publish(
                TopicArn=self._topic_arn,
                Subject=alert.subject,
                Message=alert.sns_message(),
                MessageStructure="json",
                MessageAttributes={
                    name: {"DataType": "String", "StringValue": value}
                    for name, value in alert.attributes.items()
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise AlertPublishError(
                f"could not publish the {alert.attributes.get('severity')} alert for "
                f"{alert.attributes.get('vpc_id')} to {self._topic_arn}: {exc}"
            ) from exc
        return response["MessageId"]
