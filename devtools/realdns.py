"""Real DNS server software (unbound, BIND 9, NSD, Samba, PowerDNS Recursor, Knot Resolver,
dnsdist, dnsmasq) in a private network namespace.

The realdns test tier and the TCP benchmark run the canary against the servers VPC owners really
run, not against the lab's imitations. Everything lives in one network namespace this module
creates (``ip netns add``): its own loopback interface, the servers bound to ``127.53.X.Y``
addresses on it, ``iptables`` rules for the drop/reject cases. No packet can leave it, the host's
resolver configuration is never touched, and :meth:`RealDnsWorld.close` stops every process by
PID, deletes the namespace and the temporary directory.

The DNS world inside (the port is 53 everywhere):

    127.53.1.1      NSD, the root zone: delegates amazonaws.com, corp.example and bogus.example
                    to 127.53.1.2; lame.example to 127.53.1.2 (which does not serve it: a lame
                    delegation); deadauth.example to 127.53.1.9 (dropped: a dead authoritative)
    127.53.1.2      NSD, authoritative for those zones (large answers: bigNN.corp.example)
    127.53.0.2/.3   unbound, recursive from the root: the "Amazon resolver" and AmazonProvidedDNS
                    at the VPC base + 2 (the configured server of the default option set)
    127.53.2.1/.2   BIND 9, recursive, forwarding to 127.53.0.3 (a healthy custom server;
                    TCP to .2 is dropped); 127.53.3.1 the same BIND as a domain controller with
                    recursion off; 127.53.7.1 forwarding to a slow upstream; 127.53.8.1 answering
                    corp.example from its public view (split horizon)
    127.53.3.2      NSD serving a private root zone: NXDOMAIN for every AWS name
    127.53.4.1      unbound refusing everyone; 127.53.4.2 unbound refusing the relayed queries
    127.53.5.1      unbound, DNSSEC-validating, with a trust anchor bogus.example does not match
    127.53.6.1      unbound rate-limiting each client to a few queries per second
    127.53.7.2      the DNS lab's server, answering 600 ms late (the slow upstream)
    127.53.9.1      nothing listens (a dead server); 127.53.9.2 dropped (a black hole)
    127.53.10.1     unbound with TCP disabled
    127.53.11.1     unbound, recursive from the root on its own: a corporate resolver that answers
                    public names but not the VPC's private zone corp.internal
    127.53.12.1-.3  Samba 4 AD domain controllers (internal DNS server only, realm
                    ad.corp.example, provisioned once per world): .1 with a working
                    `dns forwarder` (127.53.0.3), .2 whose forwarder is black-holed (127.53.9.2),
                    .3 with forwarders [black-holed, 127.53.0.3] (forwarded names answered
                    only after Samba's forwarder timeout, about 10 s)
    127.53.13.1/.2  PowerDNS Recursor forwarding to 127.53.0.3; .2 `allow-from` excludes every
                    client of the world (it drops their queries without answering)
    127.53.13.3/.4  Knot Resolver (kresd) forwarding to 127.53.0.3; .4 refuses every client of
                    the world (a `view:addr` policy)
    127.53.13.5-.7  dnsdist, round robin: .5 over both backends below; .6 over backend a with
                    an ACL that excludes every client of the world (dnsdist drops them by
                    default); .7 over backend a and a dead one (127.53.9.1, nothing listens)
                    with health checks off
    127.53.13.10/.11  unbound forwarding to 127.53.0.3, dnsdist's backends, each with its own
                    `identity` / `nsid` (resolver-backend-a, resolver-backend-b)
    (the servers of 127.53.13.* start on the first RealDnsWorld.start_resolvers() call)
    127.53.0.10+    dnsmasq, one per forwarder: plays the Lambda forwarder 169.254.78.1

The "Amazon resolver" alone serves the private hosted zone corp.internal (app.corp.internal) and
applies a forward rule for onprem.example whose one target is the black hole 127.53.9.2.

corp.example holds one AAAA record (v6.corp.example) for the IPv6 scenarios; their IPv6 servers
(unique local addresses in the same namespace) are added by devtools/realdns_ipv6.py.

The canary runs in a child process entered into the namespace (``ip netns exec``) with a
generated resolv.conf (``python -m devtools.realdns canary`` reads its spec on stdin).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parent.parent
CANARY_DIR = REPO_ROOT / "functions" / "canary"
REGION = "us-east-1"
STS = f"sts.{REGION}.amazonaws.com"
LAMBDA = f"lambda.{REGION}.amazonaws.com"
DB = "db.corp.example"
BIG_NAMES = tuple(f"big{i:02d}.corp.example" for i in range(1, 51))
SVC_NAMES = tuple(f"svc{i:02d}.corp.example" for i in range(20))
BIG_ANSWER_RECORDS = 40  # 40 A records: about 700 bytes, truncated over UDP (512)
BINARIES = {
    "unbound": "/usr/sbin/unbound",
    "named": "/usr/sbin/named",
    "nsd": "/usr/sbin/nsd",
    "dnsmasq": "/usr/sbin/dnsmasq",
    "iptables": "/usr/sbin/iptables",
    "ip6tables": "/usr/sbin/ip6tables",
    "ip": "/usr/sbin/ip",
    "ss": "/usr/bin/ss",
    "samba": "/usr/sbin/samba",
    "samba-tool": "/usr/bin/samba-tool",
    "pdns_recursor": "/usr/sbin/pdns_recursor",
    "kresd": "/usr/sbin/kresd",
    "dnsdist": "/usr/bin/dnsdist",
}
# Debian packages that provide them (make realdns-deps installs these).
PACKAGES = (
    "unbound",
    "bind9",
    "nsd",
    "dnsmasq-base",
    "iptables",
    "iproute2",
    "samba",
    "samba-ad-dc",
    "samba-ad-provision",
    "pdns-recursor",
    "knot-resolver",
    "dnsdist",
)

# Addresses inside the namespace.
ROOT = "127.53.1.1"
AUTH = "127.53.1.2"
DEAD_AUTH = "127.53.1.9"
AMAZON = "127.53.0.2"
AMAZON_BASE_PLUS_2 = "127.53.0.3"
BIND_FORWARDING = "127.53.2.1"
BIND_TCP_DROPPED = "127.53.2.2"
BIND_DC_NO_RECURSION = "127.53.3.1"
NSD_PRIVATE_ROOT = "127.53.3.2"
UNBOUND_REFUSE_ALL = "127.53.4.1"
UNBOUND_REFUSE_RELAYED = "127.53.4.2"
UNBOUND_VALIDATING = "127.53.5.1"
UNBOUND_RATE_LIMITED = "127.53.6.1"
BIND_SLOW = "127.53.7.1"
LAB_SLOW_UPSTREAM = "127.53.7.2"
BIND_SPLIT_HORIZON = "127.53.8.1"
DEAD = "127.53.9.1"
BLACKHOLE = "127.53.9.2"
UNBOUND_NO_TCP = "127.53.10.1"
UNBOUND_CORP_RECURSIVE = "127.53.11.1"
PRIVATE_ZONE = "corp.internal"
PRIVATE_NAME = f"app.{PRIVATE_ZONE}"
RULE_DOMAIN = "onprem.example"
RULE_NAME = f"db.{RULE_DOMAIN}"
RULE_DEAD_TARGET = BLACKHOLE
SAMBA_DC = "127.53.12.1"
SAMBA_DC_DEAD_FORWARDER = "127.53.12.2"
SAMBA_DC_SLOW_FORWARDING = "127.53.12.3"
PDNS_RECURSOR = "127.53.13.1"
PDNS_RECURSOR_ACL = "127.53.13.2"
KRESD = "127.53.13.3"
KRESD_ACL = "127.53.13.4"
DNSDIST = "127.53.13.5"
DNSDIST_ACL = "127.53.13.6"
DNSDIST_ONE_BACKEND_DEAD = "127.53.13.7"
RESOLVER_BACKEND_A = "127.53.13.10"
RESOLVER_BACKEND_B = "127.53.13.11"
# The only clients the ACL'd resolvers allow: no address of the world is in it.
RESOLVER_ACL_ALLOWED = "192.0.2.0/24"
PDNS_IDENTITY = "pdns-recursor-1"
KRESD_IDENTITY = "kresd-1"
AD_REALM = "ad.corp.example"
AD_DC_HOST = f"dc1.{AD_REALM}"
AD_LDAP_SRV = f"_ldap._tcp.{AD_REALM}"
# The Samba DCs and their `dns forwarder` lines.
SAMBA_FORWARDERS = {
    SAMBA_DC: (AMAZON_BASE_PLUS_2,),
    SAMBA_DC_DEAD_FORWARDER: (BLACKHOLE,),
    SAMBA_DC_SLOW_FORWARDING: (BLACKHOLE, AMAZON_BASE_PLUS_2),
}
FORWARDER_NET = "127.53.0."
PUBLIC_DB_ADDRESS = "198.51.100.7"
AAAA_NAME = "v6.corp.example"  # an AAAA record served by the corp.example authoritative
AAAA_ADDRESS = "fd00:50:0:6::7"
_PREFIX = "vdw-realdns-"
NAMED_IDENTITY = "named-1"  # BIND's hostname.bind and NSID (server-id)
SLOW_UPSTREAM_DELAY_MS = 600
RATE_LIMIT_QPS = 5


def reap_stale_namespaces() -> list[str]:
    """Remove namespaces this module created in processes that no longer run (a killed test
    run): stop the servers left in them, by PID, then delete the namespace."""
    listing = subprocess.run(
        [BINARIES["ip"], "netns", "list"], capture_output=True, text=True, check=False, timeout=30
    ).stdout
    reaped = []
    for line in listing.splitlines():
        name = line.split()[0] if line.split() else ""
        owner = name.removeprefix(_PREFIX).split("-")[0]
        if not name.startswith(_PREFIX) or not owner.isdigit() or Path(f"/proc/{owner}").exists():
            continue
        pids = subprocess.run(
            [BINARIES["ip"], "netns", "pids", name],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run([BINARIES["ip"], "netns", "del", name], check=False, timeout=30)
        for directory in Path(tempfile.gettempdir()).glob(f"{name}-*"):
            shutil.rmtree(directory, ignore_errors=True)
        reaped.append(name)
    return reaped


def missing_binaries() -> list[str]:
    return [name for name, path in BINARIES.items() if not Path(path).is_file()]


def why_unavailable() -> str | None:
    """None when this machine can run the tier; otherwise the reason, for skip or fail."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "creating a network namespace needs root (CI runs as root)"
    missing = missing_binaries()
    if missing:
        return (
            f"missing {', '.join(missing)}: run `make realdns-deps` (apt-get install "
            f"{' '.join(PACKAGES)})"
        )
    return None


@dataclass
class Daemon:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        """Stop by PID: SIGTERM, then SIGKILL if it lingers."""
        if self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self.process.wait(timeout=5)


@dataclass
class CanaryRun:
    """One canary invocation inside the namespace: its findings and the wall time around it."""

    result: dict[str, Any]
    wall_ms: float
    deadline_ms: int = 0

    @property
    def diagnosis(self) -> dict[str, Any]:
        diagnosis: dict[str, Any] = self.result["diagnosis"]
        return diagnosis

    def outcomes(self, role: str = "forwarder") -> dict[str, str]:
        entries = self.result["probes"] if role == "forwarder" else self.result["direct"]
        return {entry["name"]: entry["outcome"] for entry in entries if entry["role"] == role}


@dataclass
class RealDnsWorld:
    """The namespace, its servers and rules; use as a context manager."""

    namespace: str = field(default_factory=lambda: f"{_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}")
    directory: Path = field(init=False)
    daemons: list[Daemon] = field(default_factory=list)
    forwarders: dict[str, Daemon] = field(default_factory=dict)
    _forwarders: int = 0
    _created: bool = False
    _resolvers_started: bool = False

    def __post_init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix=f"{self.namespace}-"))

    def __enter__(self) -> RealDnsWorld:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- namespace ----------------------------------------------------------------------------

    def command(self, *argv: str) -> list[str]:
        """argv run inside the namespace."""
        return [BINARIES["ip"], "netns", "exec", self.namespace, *argv]

    def run(self, *argv: str) -> str:
        completed = subprocess.run(
            self.command(*argv), capture_output=True, text=True, check=False, timeout=60
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed: {completed.stderr.strip()}")
        return completed.stdout

    def start(self) -> None:
        reason = why_unavailable()
        if reason:
            raise RuntimeError(reason)
        reap_stale_namespaces()
        subprocess.run([BINARIES["ip"], "netns", "add", self.namespace], check=True, timeout=30)
        self._created = True
        self.run(BINARIES["ip"], "link", "set", "lo", "up")
        for address in _ALL_ADDRESSES:
            self.run(BINARIES["ip"], "addr", "add", f"{address}/32", "dev", "lo")
        iptables = BINARIES["iptables"]
        self.run(iptables, "-A", "INPUT", "-d", BLACKHOLE, "-j", "DROP")
        self.run(iptables, "-A", "INPUT", "-d", DEAD_AUTH, "-j", "DROP")
        self.run(
            iptables, "-A", "INPUT", "-p", "tcp", "-d", BIND_TCP_DROPPED, "--dport", "53", "-j",
            "DROP",
        )  # fmt: skip
        self._write_zones()
        self._start_servers()
        self.wait_listening(_SERVER_ADDRESSES)

    def close(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
        self.daemons.clear()
        if self._created:
            subprocess.run(
                [BINARIES["ip"], "netns", "del", self.namespace], check=False, timeout=30
            )
            self._created = False
        shutil.rmtree(self.directory, ignore_errors=True)

    def wait_listening(self, addresses: Sequence[str], timeout_s: float = 20.0) -> None:
        """Until a UDP and a TCP socket listen on port 53 of every address (or raise)."""
        expiry = time.monotonic() + timeout_s
        wanted = set(addresses)
        while True:
            udp = _listening(self.run(BINARIES["ss"], "-Hlnu"))
            tcp = _listening(self.run(BINARIES["ss"], "-Hlnt"))
            missing = sorted(
                a for a in wanted if a not in udp or (a not in tcp and a != UNBOUND_NO_TCP)
            )
            if not missing:
                return
            dead = [d for d in self.daemons if d.process.poll() is not None]
            if dead or time.monotonic() > expiry:
                logs = "\n".join(f"--- {d.name}:\n{_tail(d.log)}" for d in self.daemons)
                raise RuntimeError(f"DNS servers not listening on {missing}:\n{logs}")
            time.sleep(0.1)

    # --- servers ------------------------------------------------------------------------------

    def spawn(self, name: str, argv: Sequence[str]) -> Daemon:
        log = self.directory / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                self.command(*argv),
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
            )
        daemon = Daemon(name, process, log)
        self.daemons.append(daemon)
        return daemon

    def add_forwarder(self, upstreams: Sequence[str]) -> str:
        """A dnsmasq playing the Lambda forwarder, relaying to ``upstreams``; its address."""
        self._forwarders += 1
        address = f"{FORWARDER_NET}{9 + self._forwarders}"
        self.run(BINARIES["ip"], "addr", "add", f"{address}/32", "dev", "lo")
        config = self.directory / f"dnsmasq-{self._forwarders}.conf"
        lines = [
            f"listen-address={address}",
            "bind-interfaces",
            "port=53",
            "no-resolv",
            "no-hosts",
            "no-poll",
            "cache-size=0",
            "user=root",
            "pid-file=",
            *(f"server={upstream}@{address}" for upstream in upstreams),
        ]
        config.write_text("\n".join(lines) + "\n")
        daemon = self.spawn(f"dnsmasq-{address}", [BINARIES["dnsmasq"], "-k", f"-C{config}"])
        self.wait_listening([address])
        self.forwarders[address] = daemon
        return address

    def remove_forwarder(self, address: str) -> None:
        daemon = self.forwarders.pop(address)
        daemon.stop()
        self.daemons.remove(daemon)

    def resolv_conf(self, forwarder: str, configured: Sequence[str]) -> Path:
        """A resolv.conf shaped like a VPC Lambda's, in the world's directory."""
        path = self.directory / f"resolv-{uuid.uuid4().hex[:8]}.conf"
        lines = ["options timeout:2 attempts:5", "; generated by /sbin/dhclient-script"]
        lines += [f"; configured nameserver {server}" for server in configured]
        lines.append(f"nameserver {forwarder}")
        path.write_text("\n".join(lines) + "\n")
        return path

    def canary_env(self, resolv_conf: Path) -> dict[str, str]:
        return {
            "RESOLV_CONF_PATH": str(resolv_conf),
            "AMAZON_DNS_SERVER": AMAZON,
            "AMAZON_DNS_SERVER_IPV6": "::1",
            "DNS_PORT": "53",
            "AWS_REGION": REGION,
            "POWERTOOLS_LOG_LEVEL": "ERROR",
        }

    def run_canary(
        self,
        plan: Mapping[str, Any],
        *,
        forwarder: str,
        configured: Sequence[str],
        timeout_ms: int = 10_000,
        env: Mapping[str, str] | None = None,
    ) -> CanaryRun:
        """Invoke the canary handler in a child process inside the namespace; ``env`` overrides
        settings (``AMAZON_DNS_SERVER_IPV6`` for the IPv6 scenarios)."""
        env = {**self.canary_env(self.resolv_conf(forwarder, configured)), **(env or {})}
        spec = {"env": env, "plan": dict(plan), "timeout_ms": timeout_ms}
        completed = subprocess.run(
            self.command(sys.executable, "-m", "devtools.realdns", "canary"),
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
            cwd=REPO_ROOT,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"canary child failed:\n{completed.stderr[-4000:]}")
        answer = json.loads(completed.stdout.strip().splitlines()[-1])
        return CanaryRun(answer["result"], answer["wall_ms"], answer["result"]["deadline_ms"])

    # --- configuration ------------------------------------------------------------------------

    def _write_zones(self) -> None:
        d = self.directory
        (d / "root.zone").write_text(_ROOT_ZONE)
        (d / "private-root.zone").write_text(_PRIVATE_ROOT_ZONE)
        (d / "amazonaws.com.zone").write_text(_zone("amazonaws.com", _AWS_RECORDS))
        (d / "corp.example.zone").write_text(_zone("corp.example", _corp_records()))
        (d / "corp-public.zone").write_text(
            _zone("corp.example", {"db": [("A", PUBLIC_DB_ADDRESS)]})
        )
        (d / "bogus.example.zone").write_text(_zone("bogus.example", {"www": [("A", "10.9.9.9")]}))
        (d / "root.hints").write_text(
            f". 3600 IN NS a.root-servers.net.\na.root-servers.net. 3600 IN A {ROOT}\n"
        )

    def _start_servers(self) -> None:
        self._nsd("nsd-root", ROOT, {".": "root.zone"})
        self._nsd(
            "nsd-auth",
            AUTH,
            {
                "amazonaws.com": "amazonaws.com.zone",
                "corp.example": "corp.example.zone",
                "bogus.example": "bogus.example.zone",
            },
        )
        self._nsd("nsd-private-root", NSD_PRIVATE_ROOT, {".": "private-root.zone"})
        self._unbound(
            "unbound-amazon",
            [AMAZON, AMAZON_BASE_PLUS_2],
            [
                # the VPC's private hosted zone and forward rule: only the Amazon resolver has them
                f'local-zone: "{PRIVATE_ZONE}." static',
                f'local-data: "{PRIVATE_NAME}. 60 IN A 10.50.0.10"',
                f'domain-insecure: "{RULE_DOMAIN}."',
                "forward-zone:",
                f'name: "{RULE_DOMAIN}."',
                f"forward-addr: {RULE_DEAD_TARGET}",
            ],
        )
        self._unbound("unbound-corp-recursive", [UNBOUND_CORP_RECURSIVE], [])
        self._unbound(
            "unbound-refuse-all", [UNBOUND_REFUSE_ALL], ["access-control: 127.0.0.0/8 refuse"]
        )
        self._unbound(
            "unbound-refuse-relayed",
            [UNBOUND_REFUSE_RELAYED],
            ["access-control: 127.0.0.0/8 allow", f"access-control: {FORWARDER_NET}0/24 refuse"],
        )
        key = base64.b64encode(b"\x01" * 64).decode()
        anchor = f'trust-anchor: "bogus.example. DNSKEY 257 3 13 {key}"'
        self._unbound(
            "unbound-validating",
            [UNBOUND_VALIDATING],
            ['module-config: "validator iterator"', anchor],
        )
        self._unbound(
            "unbound-rate-limited",
            [UNBOUND_RATE_LIMITED],
            [f"ip-ratelimit: {RATE_LIMIT_QPS}", "ip-ratelimit-factor: 0"],
        )
        self._unbound("unbound-no-tcp", [UNBOUND_NO_TCP], ["do-tcp: no"])
        self._named()
        self._samba()
        self.spawn(
            "lab-slow-upstream",
            [sys.executable, "-m", "devtools.realdns", "slow-upstream", LAB_SLOW_UPSTREAM],
        )

    def start_resolvers(self) -> None:
        """PowerDNS Recursor, Knot Resolver and dnsdist on 127.53.13.*: started on first use
        (the tests that need them), not with the world, so the rest of the tier starts as fast
        as before."""
        if self._resolvers_started:
            return
        self._resolvers_started = True
        for address in _RESOLVER_ADDRESSES:
            self.run(BINARIES["ip"], "addr", "add", f"{address}/32", "dev", "lo")
        for address, name in ((RESOLVER_BACKEND_A, "a"), (RESOLVER_BACKEND_B, "b")):
            forward = ["forward-zone:", 'name: "."', f"forward-addr: {AMAZON_BASE_PLUS_2}"]
            self._unbound(f"resolver-backend-{name}", [address], forward)
        self._pdns_recursor(PDNS_RECURSOR, "127.0.0.0/8")
        self._pdns_recursor(PDNS_RECURSOR_ACL, RESOLVER_ACL_ALLOWED)
        self._kresd(KRESD, refuse_others=False)
        self._kresd(KRESD_ACL, refuse_others=True)
        self._dnsdist(DNSDIST, (RESOLVER_BACKEND_A, RESOLVER_BACKEND_B), acl="127.0.0.0/8")
        self._dnsdist(DNSDIST_ACL, (RESOLVER_BACKEND_A,), acl=RESOLVER_ACL_ALLOWED)
        self._dnsdist(
            DNSDIST_ONE_BACKEND_DEAD, (RESOLVER_BACKEND_A, DEAD), acl="127.0.0.0/8", forced_up=True
        )
        self.wait_listening(_RESOLVER_ADDRESSES)

    def _pdns_recursor(self, address: str, allow_from: str) -> None:
        home = self.directory / f"pdns-recursor-{address}"
        home.mkdir()
        (home / "recursor.conf").write_text("")
        self.spawn(
            f"pdns-recursor-{address}",
            [
                BINARIES["pdns_recursor"], f"--config-dir={home}", f"--socket-dir={home}",
                "--daemon=no", "--write-pid=no", "--disable-syslog", "--loglevel=4",
                f"--local-address={address}", "--local-port=53", "--threads=1",
                "--pdns-distributes-queries=no", "--record-cache-shards=1",
                "--dnssec=off", "--dont-query=", f"--forward-zones-recurse=.={AMAZON_BASE_PLUS_2}",
                f"--allow-from={allow_from}", f"--server-id={PDNS_IDENTITY}",
                "--security-poll-suffix=",  # no version check query
                f"--hint-file={self.directory / 'root.hints'}",  # the world's root
            ],
        )  # fmt: skip

    def _kresd(self, address: str, *, refuse_others: bool) -> None:
        home = self.directory / f"kresd-{address}"
        home.mkdir()
        lines = [
            f"net.listen('{address}', 53, {{ kind = 'dns' }})",
            "cache.size = 4 * MB",
            # no root priming nor time-skew check queries: only the forward policy sends
            "modules.unload('priming')",
            "modules.unload('detect_time_skew')",
            "trust_anchors.remove('.')",
            "modules.load('nsid')",
            f"nsid.name('{KRESD_IDENTITY}')",
            f"policy.add(policy.all(policy.FORWARD('{AMAZON_BASE_PLUS_2}')))",
        ]
        if refuse_others:
            lines += [
                "modules.load('view')",
                f"view:addr('{RESOLVER_ACL_ALLOWED}', policy.all(policy.PASS))",
                "view:addr('0.0.0.0/0', policy.all(policy.REFUSE))",
            ]
        config = home / "kresd.conf"
        config.write_text("\n".join(lines) + "\n")
        self.spawn(f"kresd-{address}", [BINARIES["kresd"], "-n", "-c", str(config), str(home)])

    def _dnsdist(
        self, address: str, backends: Sequence[str], *, acl: str, forced_up: bool = False
    ) -> None:
        """dnsdist with its defaults (drop what the ACL excludes), round robin over
        ``backends``; ``forced_up`` turns health checks off (every backend used, dead or not)."""
        lines = [
            f"setLocal('{address}:53')",
            f"setACL({{'{acl}'}})",
            "setServerPolicy(roundrobin)",
            "setSecurityPollSuffix('')",  # no version check query
            *(f"newServer({{address='{backend}:53'}})" for backend in backends),
        ]
        if forced_up:
            lines += [f"getServer({index}):setUp()" for index in range(len(backends))]
        config = self.directory / f"dnsdist-{address}.conf"
        config.write_text("\n".join(lines) + "\n")
        self.spawn(
            f"dnsdist-{address}",
            [BINARIES["dnsdist"], "--supervised", "--disable-syslog", "-C", str(config)],
        )

    def _nsd(self, name: str, address: str, zones: Mapping[str, str]) -> None:
        d = self.directory
        lines = [
            "server:",
            f"  ip-address: {address}",
            "  port: 53",
            "  server-count: 1",
            '  username: ""',
            '  chroot: ""',
            f'  zonesdir: "{d}"',
            '  database: ""',
            f'  zonelistfile: "{d}/{name}.zonelist"',
            f'  xfrdfile: "{d}/{name}.xfrd"',
            f'  xfrdir: "{d}"',
            f'  pidfile: "{d}/{name}.pid"',
            "  hide-version: yes",
            "  verbosity: 1",
            "remote-control:",
            "  control-enable: no",
        ]
        for zone, file in zones.items():
            lines += ["zone:", f'  name: "{zone}"', f'  zonefile: "{file}"']
        config = d / f"{name}.conf"
        config.write_text("\n".join(lines) + "\n")
        self.spawn(name, [BINARIES["nsd"], "-d", "-c", str(config)])

    def _unbound(self, name: str, addresses: Sequence[str], extra: Sequence[str]) -> None:
        d = self.directory
        lines = [
            "server:",
            *(f"  interface: {address}" for address in addresses),
            "  port: 53",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{d}"',
            '  pidfile: ""',
            "  use-syslog: no",
            '  logfile: ""',
            "  verbosity: 0",
            "  do-ip6: no",
            "  do-not-query-localhost: no",
            f'  root-hints: "{d}/root.hints"',
            "  num-threads: 1",
            "  qname-minimisation: no",
            "  minimal-responses: no",
            "  msg-cache-size: 4m",
            "  rrset-cache-size: 4m",
            # which instance answered: hostname.bind (CH TXT) and EDNS NSID
            f'  identity: "{name}"',
            "  hide-identity: no",
            f'  nsid: "ascii_{name}"',
        ]
        if not any(line.startswith("access-control") for line in extra):
            lines.append("  access-control: 127.0.0.0/8 allow")
        if not any(line.startswith("module-config") for line in extra):
            lines.append('  module-config: "iterator"')
        lines += [f"  {line}" for line in extra]
        lines += ["remote-control:", "  control-enable: no"]
        config = d / f"{name}.conf"
        config.write_text("\n".join(lines) + "\n")
        self.spawn(name, [BINARIES["unbound"], "-d", "-c", str(config)])

    def _samba(self) -> None:
        """Provision one AD domain (a few seconds), then run a copy of it per DC address with
        only the DNS service: Samba's internal DNS server, as Windows-like DCs answer."""
        base = self.directory / "samba-base"
        provision = [
            BINARIES["samba-tool"], "domain", "provision", f"--realm={AD_REALM.upper()}",
            "--domain=ADCORP", "--server-role=dc", "--dns-backend=SAMBA_INTERNAL",
            "--adminpass=Canary-Lab-1x", f"--targetdir={base}", "--host-name=dc1",
            f"--host-ip={SAMBA_DC}", "--option=server services = dns",
        ]  # fmt: skip
        completed = subprocess.run(
            provision, capture_output=True, text=True, check=False, timeout=300, cwd=self.directory
        )
        if completed.returncode != 0:
            raise RuntimeError(f"samba-tool domain provision failed:\n{completed.stderr[-4000:]}")
        template = (base / "etc" / "smb.conf").read_text()
        for index, (address, forwarders) in enumerate(SAMBA_FORWARDERS.items()):
            home = self.directory / f"samba-{index}"
            shutil.copytree(base, home, symlinks=True)
            (home / "run").mkdir(exist_ok=True)
            extra = [
                f"interfaces = {address}",
                "bind interfaces only = yes",
                f"dns forwarder = {' '.join(forwarders)}",
                f"pid directory = {home / 'run'}",
                f"log file = {home / 'log.%m'}",
            ]
            keys = {line.split("=")[0].strip() for line in extra}
            kept = [
                line
                for line in template.replace(str(base), str(home)).splitlines()
                if line.split("=")[0].strip() not in keys
            ]
            at = kept.index("[global]") + 1
            text = "\n".join([*kept[:at], *(f"\t{line}" for line in extra), *kept[at:]]) + "\n"
            config = home / "etc" / "smb.conf"
            config.write_text(text)
            self.spawn(
                f"samba-{address}",
                [BINARIES["samba"], "-i", "-M", "single", "-s", str(config), "--debuglevel=1"],
            )

    def _named(self) -> None:
        d = self.directory / "named"
        d.mkdir(exist_ok=True)
        listen = [
            BIND_FORWARDING,
            BIND_TCP_DROPPED,
            BIND_DC_NO_RECURSION,
            BIND_SLOW,
            BIND_SPLIT_HORIZON,
        ]
        config = f"""
options {{
    directory "{d}";
    pid-file none;
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on port 53 {{ {"; ".join(listen)}; }};
    listen-on-v6 {{ none; }};
    dnssec-validation no;
    notify no;
    allow-query {{ any; }};
    max-cache-size 16m;
    querylog no;
    hostname "{NAMED_IDENTITY}";
    server-id "{NAMED_IDENTITY}";
}};
controls {{ }};
view "forwarding" {{
    match-destinations {{ {BIND_FORWARDING}; {BIND_TCP_DROPPED}; }};
    recursion yes;
    allow-recursion {{ any; }};
    forwarders {{ {AMAZON_BASE_PLUS_2}; }};
    forward only;
}};
view "domain-controller" {{
    match-destinations {{ {BIND_DC_NO_RECURSION}; }};
    recursion no;
    zone "corp.example" {{ type primary; file "{self.directory}/corp.example.zone"; }};
}};
view "slow" {{
    match-destinations {{ {BIND_SLOW}; }};
    recursion yes;
    allow-recursion {{ any; }};
    forwarders {{ {LAB_SLOW_UPSTREAM}; }};
    forward only;
}};
view "split-horizon" {{
    match-destinations {{ {BIND_SPLIT_HORIZON}; }};
    recursion yes;
    allow-recursion {{ any; }};
    forwarders {{ {AMAZON_BASE_PLUS_2}; }};
    forward only;
    zone "corp.example" {{ type primary; file "{self.directory}/corp-public.zone"; }};
}};
"""
        path = self.directory / "named.conf"
        path.write_text(config)
        self.spawn("named", [BINARIES["named"], "-g", "-4", "-n", "1", "-c", str(path)])


# --- zone data -------------------------------------------------------------------------------

_AWS_RECORDS: dict[str, list[tuple[str, str]]] = {
    f"sts.{REGION}": [("A", "52.94.0.1")],
    f"lambda.{REGION}": [("A", "52.94.0.2")],
}


def _corp_records() -> dict[str, list[tuple[str, str]]]:
    records: dict[str, list[tuple[str, str]]] = {
        "db": [("A", "10.1.2.3")],
        "v6": [("AAAA", AAAA_ADDRESS)],
    }
    for index, name in enumerate(SVC_NAMES):
        records[name.split(".")[0]] = [("A", f"10.20.0.{index + 1}")]
    for index, name in enumerate(BIG_NAMES):
        records[name.split(".")[0]] = [
            ("A", f"10.30.{index}.{host + 1}") for host in range(BIG_ANSWER_RECORDS)
        ]
    return records


def _zone(origin: str, records: Mapping[str, Sequence[tuple[str, str]]]) -> str:
    lines = [
        f"$ORIGIN {origin}.",
        "$TTL 60",
        f"@ IN SOA ns1.auth.test. hostmaster.{origin}. 1 3600 600 86400 60",
        "@ IN NS ns1.auth.test.",
    ]
    for name, entries in records.items():
        lines += [f"{name} IN {rdtype} {value}" for rdtype, value in entries]
    return "\n".join(lines) + "\n"


_ROOT_ZONE = f"""$ORIGIN .
$TTL 3600
. IN SOA a.root-servers.net. hostmaster.root.test. 1 3600 600 86400 60
. IN NS a.root-servers.net.
a.root-servers.net. IN A {ROOT}
amazonaws.com. IN NS ns1.auth.test.
corp.example. IN NS ns1.auth.test.
bogus.example. IN NS ns1.auth.test.
ns1.auth.test. IN A {AUTH}
lame.example. IN NS ns1.lame.example.
ns1.lame.example. IN A {AUTH}
deadauth.example. IN NS ns1.deadauth.example.
ns1.deadauth.example. IN A {DEAD_AUTH}
"""

# A domain controller's private root: it knows its own zone and nothing else.
_PRIVATE_ROOT_ZONE = f"""$ORIGIN .
$TTL 3600
. IN SOA dc1.corp.example. hostmaster.corp.example. 1 3600 600 86400 60
. IN NS dc1.corp.example.
dc1.corp.example. IN A {NSD_PRIVATE_ROOT}
db.corp.example. IN A 10.1.2.3
"""

_SERVER_ADDRESSES = (
    ROOT,
    AUTH,
    AMAZON,
    AMAZON_BASE_PLUS_2,
    BIND_FORWARDING,
    BIND_TCP_DROPPED,
    BIND_DC_NO_RECURSION,
    NSD_PRIVATE_ROOT,
    UNBOUND_REFUSE_ALL,
    UNBOUND_REFUSE_RELAYED,
    UNBOUND_VALIDATING,
    UNBOUND_RATE_LIMITED,
    BIND_SLOW,
    LAB_SLOW_UPSTREAM,
    BIND_SPLIT_HORIZON,
    UNBOUND_NO_TCP,
    UNBOUND_CORP_RECURSIVE,
    *SAMBA_FORWARDERS,
)
_ALL_ADDRESSES = (*_SERVER_ADDRESSES, DEAD_AUTH, DEAD, BLACKHOLE)
_RESOLVER_ADDRESSES = (
    RESOLVER_BACKEND_A,
    RESOLVER_BACKEND_B,
    PDNS_RECURSOR,
    PDNS_RECURSOR_ACL,
    KRESD,
    KRESD_ACL,
    DNSDIST,
    DNSDIST_ACL,
    DNSDIST_ONE_BACKEND_DEAD,
)


def _listening(ss_output: str) -> set[str]:
    addresses = set()
    for line in ss_output.splitlines():
        fields = line.split()
        for item in fields[3:5]:
            host, _, port = item.rpartition(":")
            if port == "53":
                addresses.add(host.removeprefix("[").removesuffix("]"))  # ss prints [fd00::1]:53
    return addresses


def _tail(path: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return ""


# --- child processes inside the namespace ----------------------------------------------------


def _canary_child() -> None:
    """Run the canary handler once: spec on stdin, findings and wall time on stdout."""
    spec = json.loads(sys.stdin.read())
    os.environ.update(spec["env"])
    from devtools.lambdakit import FakeLambdaContext, load_handler

    handler = load_handler(CANARY_DIR)
    context = FakeLambdaContext("canary-realdns", timeout_ms=int(spec["timeout_ms"]))
    started = time.monotonic()
    result = handler(spec["plan"], context)
    wall_ms = (time.monotonic() - started) * 1000
    print(json.dumps({"result": result, "wall_ms": wall_ms}))


def _slow_upstream_child(address: str) -> None:
    """The DNS lab's server answering every name of the world, SLOW_UPSTREAM_DELAY_MS late."""
    from devtools.dnslab import LabServer

    records: dict[str, dict[str, list[str]]] = {}
    for name, entries in {**_AWS_RECORDS, **_corp_records()}.items():
        fqdn = f"{name}.amazonaws.com" if name in _AWS_RECORDS else f"{name}.corp.example"
        for rdtype, value in entries:
            records.setdefault(fqdn, {}).setdefault(rdtype, []).append(value)
    server = LabServer(address, 53, "slow", records=records, delay_ms=SLOW_UPSTREAM_DELAY_MS)
    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))
    while not stop["now"]:
        time.sleep(0.1)
    server.close()


@contextlib.contextmanager
def world() -> Iterator[RealDnsWorld]:
    with RealDnsWorld() as realdns:
        yield realdns


def main(argv: Sequence[str]) -> int:
    if argv[:1] == ["canary"]:
        _canary_child()
        return 0
    if argv[:1] == ["slow-upstream"] and len(argv) == 2:
        _slow_upstream_child(argv[1])
        return 0
    print("usage: python -m devtools.realdns canary|slow-upstream ADDRESS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
