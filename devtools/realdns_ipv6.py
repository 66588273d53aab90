"""IPv6 servers added to the real-DNS world: an IPv6-only and a dual-stack VPC, in its namespace.

The addresses are unique local ones (ULA, ``fd00:53:6::/64``) put on the namespace's loopback
with ``nodad`` (usable at once); the servers bind to them alone, so nothing leaves the namespace.
The IPv4 world of devtools/realdns.py (the root, the authoritative servers, the IPv4 "Amazon
resolver") keeps serving underneath: the IPv6 resolvers recurse to it over IPv4, as a dual-stack
resolver would.

    fd00:53:6::2    unbound, recursive from the root: the "Amazon resolver" over IPv6
                    (fd00:ec2::253 in a VPC). It alone serves the private hosted zone
                    corp6.internal, which the IPv4 "Amazon resolver" does not have, so a finding
                    that the zone resolved at the Amazon resolver proves the IPv6 one was asked
    fd00:53:6::10   BIND 9 (IPv6 only), forwarding to fd00:53:6::2: a healthy corporate server
    fd00:53:6::11   unbound, recursive from the root on its own: a corporate resolver that answers
                    public names but not the VPC's private zone
    fd00:53:6::99   black-holed (ip6tables DROP): a dead IPv6 server
    fd00:53:6::a1+  dnsmasq playing the Lambda forwarder over IPv6 (IPv6-only runs);
    127.53.66.1+    dnsmasq playing it over IPv4 (dual-stack runs: an IPv4 and an IPv6 upstream)

:meth:`Ipv6Servers.close` stops what it started by PID and removes its addresses and rules; the
world's own close deletes the namespace anyway.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from devtools.realdns import AMAZON, BINARIES, CanaryRun, Daemon, RealDnsWorld

if TYPE_CHECKING:
    from types import TracebackType

NETWORK = "fd00:53:6::/64"
AMAZON_V6 = "fd00:53:6::2"
BIND_V6_FORWARDING = "fd00:53:6::10"
UNBOUND_V6_CORP = "fd00:53:6::11"
BLACKHOLE_V6 = "fd00:53:6::99"
FORWARDER_V6_NET = "fd00:53:6::a"
FORWARDER_V4_NET = "127.53.66."
AMAZON_V4 = AMAZON  # the world's IPv4 "Amazon resolver", asked in dual-stack runs
PRIVATE_ZONE_V6 = "corp6.internal"
PRIVATE_NAME_V6 = f"app.{PRIVATE_ZONE_V6}"
PRIVATE_NAME_V6_ADDRESS = "fd00:50:0:7::10"
_SERVERS = (AMAZON_V6, BIND_V6_FORWARDING, UNBOUND_V6_CORP)


@dataclass
class Ipv6Servers:
    """The IPv6 servers of one :class:`RealDnsWorld`; use as a context manager."""

    world: RealDnsWorld
    daemons: list[Daemon] = field(default_factory=list)
    _addresses: list[str] = field(default_factory=list)
    _by_upstreams: dict[tuple[bool, tuple[str, ...]], str] = field(default_factory=dict)
    _forwarders: int = 0
    _dropping: bool = False

    def __enter__(self) -> Ipv6Servers:
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

    def start(self) -> None:
        for address in (*_SERVERS, BLACKHOLE_V6):
            self._add_address(address)
        self.world.run(BINARIES["ip6tables"], "-A", "INPUT", "-d", BLACKHOLE_V6, "-j", "DROP")
        self._dropping = True
        self._unbound(
            "unbound-amazon-v6",
            AMAZON_V6,
            [
                f'local-zone: "{PRIVATE_ZONE_V6}." static',
                f'local-data: "{PRIVATE_NAME_V6}. 60 IN AAAA {PRIVATE_NAME_V6_ADDRESS}"',
            ],
        )
        self._unbound("unbound-corp-v6", UNBOUND_V6_CORP, [])
        self._named()
        self.world.wait_listening(_SERVERS)

    def close(self) -> None:
        for daemon in reversed(self.daemons):
            daemon.stop()
            self.world.daemons.remove(daemon)
        self.daemons.clear()
        if self._dropping:
            self.world.run(BINARIES["ip6tables"], "-D", "INPUT", "-d", BLACKHOLE_V6, "-j", "DROP")
            self._dropping = False
        for address in reversed(self._addresses):
            self.world.run(BINARIES["ip"], "addr", "del", _host_prefix(address), "dev", "lo")
        self._addresses.clear()

    def add_forwarder(self, upstreams: Sequence[str], *, ipv6: bool = True) -> str:
        """A dnsmasq playing the Lambda forwarder on an IPv6 (or IPv4) address of its own,
        relaying to ``upstreams`` of either family; its address (one per family and upstreams)."""
        known = self._by_upstreams.get((ipv6, tuple(upstreams)))
        if known is not None:
            return known
        self._forwarders += 1
        address = (
            f"{FORWARDER_V6_NET}{self._forwarders}"
            if ipv6
            else f"{FORWARDER_V4_NET}{self._forwarders}"
        )
        self._add_address(address)
        config = self.world.directory / f"dnsmasq-v6-{self._forwarders}.conf"
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
            *(f"server={upstream}" for upstream in upstreams),
        ]
        config.write_text("\n".join(lines) + "\n")
        daemon = self.world.spawn(f"dnsmasq-{address}", [BINARIES["dnsmasq"], "-k", f"-C{config}"])
        self.daemons.append(daemon)
        self.world.wait_listening([address])
        self._by_upstreams[(ipv6, tuple(upstreams))] = address
        return address

    def run_canary(
        self,
        plan: Mapping[str, Any],
        *,
        forwarder: str,
        configured: Sequence[str],
    ) -> CanaryRun:
        """The canary inside the namespace, its IPv6 Amazon resolver the one at AMAZON_V6."""
        return self.world.run_canary(
            plan,
            forwarder=forwarder,
            configured=configured,
            env={"AMAZON_DNS_SERVER_IPV6": AMAZON_V6},
        )

    # --- servers ------------------------------------------------------------------------------

    def _add_address(self, address: str) -> None:
        self.world.run(BINARIES["ip"], "addr", "add", _host_prefix(address), "dev", "lo", "nodad")
        self._addresses.append(address)

    def _unbound(self, name: str, address: str, extra: Sequence[str]) -> None:
        d = self.world.directory
        lines = [
            "server:",
            f"  interface: {address}",
            "  port: 53",
            "  do-daemonize: no",
            '  username: ""',
            '  chroot: ""',
            f'  directory: "{d}"',
            '  pidfile: ""',
            "  use-syslog: no",
            '  logfile: ""',
            "  verbosity: 0",
            "  do-ip4: yes",
            "  do-ip6: yes",
            "  do-not-query-localhost: no",
            f'  root-hints: "{d}/root.hints"',
            "  num-threads: 1",
            "  qname-minimisation: no",
            "  minimal-responses: no",
            "  msg-cache-size: 4m",
            "  rrset-cache-size: 4m",
            f"  access-control: {NETWORK} allow",
            "  access-control: 127.0.0.0/8 allow",
            '  module-config: "iterator"',
            *(f"  {line}" for line in extra),
            "remote-control:",
            "  control-enable: no",
        ]
        config = d / f"{name}.conf"
        config.write_text("\n".join(lines) + "\n")
        self.daemons.append(self.world.spawn(name, [BINARIES["unbound"], "-d", "-c", str(config)]))

    def _named(self) -> None:
        d = self.world.directory / "named-v6"
        d.mkdir(exist_ok=True)
        config = f"""
options {{
    directory "{d}";
    pid-file none;
    session-keyfile "{d}/session.key";
    managed-keys-directory "{d}";
    listen-on {{ none; }};
    listen-on-v6 port 53 {{ {BIND_V6_FORWARDING}; }};
    dnssec-validation no;
    notify no;
    allow-query {{ any; }};
    recursion yes;
    allow-recursion {{ any; }};
    forwarders {{ {AMAZON_V6}; }};
    forward only;
    max-cache-size 16m;
    querylog no;
}};
controls {{ }};
"""
        path = d / "named.conf"
        path.write_text(config)
        self.daemons.append(
            self.world.spawn(
                "named-v6", [BINARIES["named"], "-g", "-6", "-n", "1", "-c", str(path)]
            )
        )


def _host_prefix(address: str) -> str:
    return f"{address}/{ipaddress.ip_address(address).max_prefixlen}"
