"""The canary's one Powertools Logger (no Metrics/Tracer: they would call AWS APIs)."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger

from dns_canary.constants import DEFAULT_SERVICE_NAME, ENV_SERVICE_NAME

logger = Logger(service=os.environ.get(ENV_SERVICE_NAME, DEFAULT_SERVICE_NAME))
