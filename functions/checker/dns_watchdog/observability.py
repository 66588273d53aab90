"""The checker's one Logger, Metrics and Tracer (Powertools), created in one place.

The Tracer is built on first use, not at import: building it imports the X-Ray SDK and patches
botocore (about 250 ms), which events that are rejected or ignored never need. `tracer()` is
called once the checker is about to do real work, before its AWS clients are created.
"""

from __future__ import annotations

import functools
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit

from dns_watchdog import constants as names

# Powertools reads its own POWERTOOLS_* settings; only the defaults are ours.
SERVICE_NAME = os.environ.get(names.SERVICE_NAME_ENV) or names.DEFAULT_SERVICE_NAME
METRICS_NAMESPACE = os.environ.get(names.METRICS_NAMESPACE_ENV) or names.DEFAULT_METRICS_NAMESPACE

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)


def detailed_metrics() -> bool:
    """DETAILED_METRICS is "true" (read here, like the names above: metrics are counted before
    the checker's settings are loaded, for rejected events). Otherwise only alarmed metrics."""
    return os.environ.get(names.DETAILED_METRICS_ENV, "").strip().lower() == "true"


def count(name: str, value: float = 1) -> None:
    """Count `name`: as a CloudWatch metric when an alarm needs it or DETAILED_METRICS is on."""
    if name in names.ALARMED_METRICS or detailed_metrics():
        metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)


@functools.cache
def tracer() -> Tracer:
    """The one Tracer (POWERTOOLS_TRACE_DISABLED turns its segments off, as Powertools says)."""
    return Tracer(service=SERVICE_NAME)
