"""Every name and limit of the canary that crosses a boundary, owned here and nowhere else.

Environment variable names and defaults (the template sets them), the probe plan's limits (the
checker builds plans within them), the caps that keep the answer well under Lambda's 6 MB
response limit, and the protocol facts the probe loop and the diagnosis rely on.
docs/canary-contract.md documents each of them; tests import them from here.
"""

from __future__ import annotations

from typing import Final

# --- environment variables (settings.py reads them, the templates set them) --------------------
ENV_RESOLV_CONF_PATH: Final = "RESOLV_CONF_PATH"
ENV_AMAZON_DNS_SERVER: Final = "AMAZON_DNS_SERVER"
ENV_AMAZON_DNS_SERVER_IPV6: Final = "AMAZON_DNS_SERVER_IPV6"
ENV_PROBE_NAMES: Final = "PROBE_NAMES"
ENV_DEADLINE_MS: Final = "CANARY_DEADLINE_MS"
ENV_PROBE_MAX_LATENCY_MS: Final = "PROBE_MAX_LATENCY_MS"
ENV_DEADLINE_MARGIN_MS: Final = "DEADLINE_MARGIN_MS"
ENV_DNS_PORT: Final = "DNS_PORT"
ENV_REGION: Final = "AWS_REGION"
ENV_DEFAULT_REGION: Final = "AWS_DEFAULT_REGION"
ENV_SERVICE_NAME: Final = "POWERTOOLS_SERVICE_NAME"
SETTING_VARIABLES: Final = (
    ENV_RESOLV_CONF_PATH,
    ENV_AMAZON_DNS_SERVER,
    ENV_AMAZON_DNS_SERVER_IPV6,
    ENV_PROBE_NAMES,
    ENV_DEADLINE_MS,
    ENV_PROBE_MAX_LATENCY_MS,
    ENV_DEADLINE_MARGIN_MS,
    ENV_DNS_PORT,
)

# --- defaults ------------------------------------------------------------------------------------
DEFAULT_RESOLV_CONF_PATH: Final = "/etc/resolv.conf"
DEFAULT_AMAZON_DNS_SERVER: Final = "169.254.169.253"
# The Amazon resolver's IPv6 address on Nitro (Amazon VPC User Guide, "Understanding Amazon DNS"),
# asked instead of the IPv4 one when resolv.conf names IPv6 servers only.
DEFAULT_AMAZON_DNS_SERVER_IPV6: Final = "fd00:ec2::253"
DEFAULT_PROBE_NAMES: Final = "sts.{region}.amazonaws.com,lambda.{region}.amazonaws.com"
DEFAULT_DEADLINE_MS: Final = 1500
DEFAULT_MAX_LATENCY_MS: Final = 500
DEFAULT_DEADLINE_MARGIN_MS: Final = 250
DEFAULT_DNS_PORT: Final = 53
DEFAULT_SERVICE_NAME: Final = "vpc-dns-watchdog"

# --- probe plan limits (plan.py validates, the checker builds plans within them) ---------------
MAX_PROBES: Final = 50
MIN_DEADLINE_MS: Final = 100
MAX_DEADLINE_MS: Final = 60_000
MAX_LATENCY_MS: Final = 60_000
# A Lambda function's default timeout (3 s): a lookup slower than this fails such a function
# whatever the probe's own latency budget says, so it is a failure, not a slowdown.
LAMBDA_DEFAULT_TIMEOUT_MS: Final = 3000
MAX_EXPECTED_NAMESERVERS: Final = 4
MAX_PATTERN_LENGTH: Final = 512
MAX_CIDRS: Final = 16
MAX_NAME_LENGTH: Final = 253
MAX_LABEL_LENGTH: Final = 63
RECORD_TYPES: Final = ("A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT")
ADDRESS_TYPES: Final = ("A", "AAAA")
EXPECTED_RCODES: Final = ("NOERROR", "NXDOMAIN")

# --- where a probe came from (plan `probes[].source`, `probes[].targets`) ---------------------
SOURCE_CONFIGURED: Final = "configured"
SOURCE_PRIVATE_ZONE: Final = "private_zone"
SOURCE_FORWARD_RULE: Final = "forward_rule"
SOURCE_SYSTEM_RULE: Final = "system_rule"
SOURCE_ENDPOINT: Final = "endpoint"
SOURCE_FIREWALL: Final = "firewall"
SOURCE_KINDS: Final = (
    SOURCE_CONFIGURED,
    SOURCE_PRIVATE_ZONE,
    SOURCE_FORWARD_RULE,
    SOURCE_SYSTEM_RULE,
    SOURCE_ENDPOINT,
    SOURCE_FIREWALL,
)
# Names only the Amazon resolver answers (private zones, rules, endpoint private DNS): custom
# servers must forward them to it.
AMAZON_ONLY_KINDS: Final = (
    SOURCE_PRIVATE_ZONE,
    SOURCE_FORWARD_RULE,
    SOURCE_SYSTEM_RULE,
    SOURCE_ENDPOINT,
)
# An AWS id (hosted zone, resolver rule, VPC endpoint, firewall rule group, profile): the
# Route 53 Resolver model's ResourceId is 1 to 64 characters.
MAX_SOURCE_ID_LENGTH: Final = 64
SOURCE_ID_PATTERN: Final = r"[A-Za-z0-9._:/-]+"
# A forward rule's targets: the botocore model (route53resolver 2018-04-01, TargetList) sets a
# minimum of 1 and no maximum, so the canary sets its own: at most this many per probe, and at
# most MAX_TARGET_HOPS target queries per plan (each is one more exchange of the run and one
# more entry in the answer).
MAX_TARGETS_PER_PROBE: Final = 6
MAX_TARGET_HOPS: Final = 40

# --- resolv.conf ---------------------------------------------------------------------------------
# glibc reads at most three nameserver lines (MAXNS) and ignores the rest.
MAX_NAMESERVERS: Final = 3
# EC2 accepts at most four servers in an option set's domain-name-servers; more configured lines
# cannot come from an option set, and each one multiplies the queries of a run.
MAX_CONFIGURED_SERVERS: Final = 4
MAX_RESOLV_CONF_BYTES: Final = 64 * 1024
MAX_PROBLEMS: Final = 20

# --- the answer's size (Lambda's synchronous response is at most 6 MB) -------------------------
MAX_ANSWERS_PER_RESULT: Final = 16
MAX_ANSWER_CHARS: Final = 256
MAX_DETAIL_CHARS: Final = 300
MAX_LISTED: Final = 6
# An instance's name from its hostname.bind / NSID answer (untrusted text from the server).
MAX_IDENTITY_CHARS: Final = 64

# --- the probe loop ------------------------------------------------------------------------------
# UDP retransmit interval: max(MIN_ATTEMPT_S, deadline / ATTEMPTS_PER_DEADLINE).
MIN_ATTEMPT_S: Final = 0.2
ATTEMPTS_PER_DEADLINE: Final = 3
# TCP fallbacks: at most this many connections per server, queries pipelined on them (RFC 7766),
# so a burst of truncated answers never overflows a server's listen queue (BIND's default is 10:
# half of it), while servers that answer a connection's queries one after another (dnsmasq)
# still answer 50 truncated names within a 500 ms budget.
MAX_TCP_CONNECTIONS_PER_SERVER: Final = 5
# A server that closes a connection with queries still queued gets this many new connections.
MAX_TCP_RECONNECTS_PER_SERVER: Final = 4
# Datagrams read per socket event before the loop looks at the clock again (a flood must not
# hold the canary past its expiry).
MAX_DATAGRAMS_PER_READ: Final = 16
MAX_UDP_MESSAGE: Final = 65535
