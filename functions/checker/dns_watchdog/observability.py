"""The checker's one Logger, Metrics and Tracer (Powertools), created in one place."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

DEFAULT_SERVICE = "vpc-dns-watchdog"

# Powertools reads its own POWERTOOLS_* settings; only the defaults are ours.
SERVICE_NAME = os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE
METRICS_NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or DEFAULT_SERVICE

logger = Logger(service=SERVICE_NAME)
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME)
