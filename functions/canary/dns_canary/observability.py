"""The canary's one Powertools Logger (no Metrics/Tracer: they would call AWS APIs)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", "vpc-dns-watchdog"))
