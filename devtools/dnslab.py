"""The DNS lab: real DNS servers on real loopback sockets, for tests, benchmarks and the demo.

It stands in for the pieces of the Lambda DNS path:

    workload/canary --UDP/TCP 53--> forwarder (plays 169.254.78.1) --> configured server(s)
    canary --direct--> configured server(s) and the Amazon resolver (plays 169.254.169.253)

Every lab owns one random ``127.X.Y.0/24`` block, so labs in parallel test workers never collide,
and binds only to addresses of that block (never 0.0.0.0). As root the servers listen on port 53
like the real ones; otherwise on one free high port shared by the whole lab (``lab.port``).
A lab made with ``ipv6=True`` also serves one server on ``::1`` (``add_server(..., ipv6=True)``:
the IPv6 loopback has one address), on a free high port shared by the whole lab, since several
labs cannot share ``::1`` port 53.

Server behaviours: ``answer`` (authoritative for its records, NXDOMAIN for other names),
``blackhole`` (reads queries, never answers: a dead server behind a dropping firewall),
``refuse`` (REFUSED), ``servfail`` (SERVFAIL) and ``flood`` (never answers, but sends the
client a stream of stray datagrams for ``FLOOD_S`` seconds: a broken or hostile server);
``delay_ms`` slows every answer. ``forward_rules`` make a server behave like the Amazon resolver
with Route 53 Resolver forwarding rules: names under a rule's domain are relayed to its targets
(SERVFAIL when none answers within ``RULE_TIMEOUT_S``). Over TCP a server answers every query of
a connection in turn (RFC 7766), as BIND, unbound and NSD do. The forwarder relays each query to
its upstreams in turn and, like the Lambda forwarder, answers nothing at all when none of them
does.

A domain controller (``add_domain_controller``) answers its own zone's records authoritatively
(AA) and forwards every other name to its forwarders in turn, the way Samba 4's internal DNS
server does: a forwarded NXDOMAIN comes back as NOERROR without records, and when no forwarder
answers it stays silent (Samba answers SERVFAIL only after about 10 s, past any canary deadline).
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import dns.edns
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

if TYPE_CHECKING:
    from types import TracebackType

Behaviour = Literal["answer", "blackhole", "refuse", "servfail", "flood"]
Records = Mapping[str, Mapping[str, Sequence[str]]]

_POLL_S = 0.05
FLOOD_S = 4.0
_FLOOD_SCRIPT = """
import socket, struct, sys, time
sock = socket.socket(fileno=int(sys.argv[1]))
peer, expiry = (sys.argv[2], int(sys.argv[3])), time.monotonic() + float(sys.argv[4])
count = 0
while time.monotonic() < expiry:
    count = (count + 1) & 0xFFFF
    try:
        sock.sendto(struct.pack("!HHHHHH", count, 0x8180, 0, 0, 0, 0), peer)
    except OSError:
        pass
"""
_TTL = 60
# How long a lab server with forward rules waits for a rule's target (the Amazon resolver
# answers SERVFAIL when the targets of a rule do not answer).
RULE_TIMEOUT_S = 0.3
IPV6_LOOPBACK = "::1"
_MAX_CNAME_HOPS = 8
_LAMBDA_OPTIONS = "timeout:2 attempts:5"


@dataclass(frozen=True)
class QueryLogEntry:
    """One query a lab server received."""

    name: str
    rdtype: str
    transport: Literal["udp", "tcp"]


def _normalise(name: str) -> str:
    return dns.name.from_text(name).to_text().lower()


def _truncate_for_udp(response: dns.message.Message, max_size: int) -> bytes:
    try:
        return response.to_wire(max_size=max_size)
    except dns.exception.TooBig:
        response.answer.clear()
        response.authority.clear()
        response.additional.clear()
        response.flags |= dns.flags.TC
        return response.to_wire()


class _Listener:
    """UDP and TCP sockets on one address, each request handled on a worker thread."""

    def __init__(self, address: str, port: int, name: str) -> None:
        self.address = address
        self.port = port
        self.name = name
        self.queries: list[QueryLogEntry] = []
        self.tcp_connections = 0  # connections accepted
        self._floods: list[subprocess.Popen[bytes]] = []
        self._flood_lock = threading.Lock()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=128, thread_name_prefix=f"dnslab-{name}")
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        self._udp = socket.socket(family, socket.SOCK_DGRAM)
        self._tcp = socket.socket(family, socket.SOCK_STREAM)
        self._tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._udp.bind((address, port))
            self._tcp.bind((address, port))
        except OSError:
            self._udp.close()
            self._tcp.close()
            self._pool.shutdown(wait=False)
            raise
        self._tcp.listen(64)
        self._udp.settimeout(_POLL_S)
        self._tcp.settimeout(_POLL_S)
        self._threads = [
            threading.Thread(target=self._serve_udp, name=f"dnslab-{name}-udp", daemon=True),
            threading.Thread(target=self._serve_tcp, name=f"dnslab-{name}-tcp", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    # Subclasses decide what to send back; None means "send nothing".
    def respond(self, query: dns.message.Message, transport: Literal["udp", "tcp"]) -> bytes | None:
        raise NotImplementedError

    def _record(self, query: dns.message.Message, transport: Literal["udp", "tcp"]) -> None:
        if query.question:
            question = query.question[0]
            self.queries.append(
                QueryLogEntry(
                    question.name.to_text().lower(),
                    dns.rdatatype.to_text(question.rdtype),
                    transport,
                )
            )

    def _serve_udp(self) -> None:
        while not self._stop.is_set():
            try:
                wire, peer = self._udp.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            with contextlib.suppress(RuntimeError):  # pool already shut down while stopping
                self._pool.submit(self._answer_udp, wire, peer)

    def _answer_udp(self, wire: bytes, peer: tuple[str, int]) -> None:
        try:
            query = dns.message.from_wire(wire)
        except dns.exception.DNSException:
            return
        self._record(query, "udp")
        if getattr(self, "behaviour", None) == "flood":
            self._flood(peer)
            return
        reply = self.respond(query, "udp")
        if reply is not None and not self._stop.is_set():
            with contextlib.suppress(OSError):
                self._udp.sendto(reply, peer)

    def _flood(self, peer: tuple[str, int]) -> None:
        """Stray datagrams (DNS replies to no question) from a child process sharing the server's
        socket, so the flood is not throttled by this process's GIL."""
        with self._flood_lock:
            if any(process.poll() is None for process in self._floods):
                return  # one flood at a time is plenty
            self._floods.append(
                subprocess.Popen(
                    [sys.executable, "-c", _FLOOD_SCRIPT, str(self._udp.fileno()), peer[0],
                     str(peer[1]), str(FLOOD_S)],
                    pass_fds=(self._udp.fileno(),),
                )
            )  # fmt: skip

    def _serve_tcp(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._tcp.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.tcp_connections += 1
            with contextlib.suppress(RuntimeError):
                self._pool.submit(self._answer_tcp, conn)

    def _answer_tcp(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            while not self._stop.is_set():  # every query of the connection, in turn
                try:
                    header = self._recv_exactly(conn, 2)
                    if header is None:
                        return
                    (length,) = struct.unpack("!H", header)
                    wire = self._recv_exactly(conn, length)
                    if wire is None:
                        return
                    query = dns.message.from_wire(wire)
                except (OSError, dns.exception.DNSException):
                    return
                self._record(query, "tcp")
                reply = self.respond(query, "tcp")
                if reply is None:
                    self._hold_open(conn)
                    return
                try:
                    conn.sendall(struct.pack("!H", len(reply)) + reply)
                except OSError:
                    return

    @staticmethod
    def _recv_exactly(conn: socket.socket, size: int) -> bytes | None:
        data = b""
        while len(data) < size:
            chunk = conn.recv(size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def _hold_open(self, conn: socket.socket) -> None:
        """A black hole keeps the connection open, silent, until the client gives up."""
        conn.settimeout(_POLL_S)
        while not self._stop.is_set():
            try:
                if not conn.recv(1):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def close(self) -> None:
        self._stop.set()
        for process in self._floods:
            process.kill()
            process.wait()
        for thread in self._threads:
            thread.join()
        self._udp.close()
        self._tcp.close()
        self._pool.shutdown(wait=True, cancel_futures=True)


class LabServer(_Listener):
    """An upstream DNS server (a custom server of the option set, or the Amazon resolver)."""

    def __init__(
        self,
        address: str,
        port: int,
        name: str,
        records: Records | None = None,
        behaviour: Behaviour = "answer",
        delay_ms: float = 0.0,
        identity: str | None = None,
    ) -> None:
        self.records: dict[str, dict[str, list[str]]] = {}
        self.behaviour: Behaviour = behaviour
        self.delay_ms = delay_ms
        # Route 53 Resolver forwarding rules: domain -> target addresses (same port as the lab).
        self.forward_rules: dict[str, list[str]] = {}
        # Answered to CH TXT hostname.bind and as EDNS NSID (BIND's server-id, unbound's
        # identity), whatever the behaviour: servers answer it from themselves.
        self.identity = identity
        self.set_records(records or {})
        super().__init__(address, port, name)

    def set_records(self, records: Records) -> None:
        """Replace the zone data: ``{"name": {"A": ["10.0.0.5"], "CNAME": ["other.name."]}}``."""
        self.records = {
            _normalise(name): {rdtype.upper(): list(values) for rdtype, values in types.items()}
            for name, types in records.items()
        }

    def respond(self, query: dns.message.Message, transport: Literal["udp", "tcp"]) -> bytes | None:
        behaviour = self.behaviour
        if behaviour in ("blackhole", "flood"):
            return None
        if self.identity is not None and _asks_identity(query):
            return _identity_answer(query, self.identity)
        if self.delay_ms > 0:
            time.sleep(self.delay_ms / 1000)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if behaviour == "refuse":
            response.set_rcode(dns.rcode.REFUSED)
        elif behaviour == "servfail":
            response.set_rcode(dns.rcode.SERVFAIL)
        elif query.question and self._rule_targets(query.question[0].name):
            return self._forward(query, self._rule_targets(query.question[0].name), transport)
        elif query.question:
            self._fill_answer(response, query.question[0].name, query.question[0].rdtype)
        if transport == "tcp":
            return response.to_wire()
        return _truncate_for_udp(response, max(512, query.payload))

    def _rule_targets(self, qname: dns.name.Name) -> list[str]:
        """The targets of the most specific rule whose domain holds ``qname``."""
        name = qname.to_text(omit_final_dot=True).lower()
        matching = [
            domain for domain in self.forward_rules if name == domain or name.endswith("." + domain)
        ]
        return self.forward_rules[max(matching, key=len)] if matching else []

    def _forward(
        self, query: dns.message.Message, targets: Sequence[str], transport: Literal["udp", "tcp"]
    ) -> bytes:
        for target in targets:
            try:
                reply = dns.query.udp(query, target, timeout=RULE_TIMEOUT_S, port=self.port)
            except (dns.exception.DNSException, OSError):
                continue
            return reply.to_wire() if transport == "tcp" else _truncate_for_udp(reply, 512)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        response.set_rcode(dns.rcode.SERVFAIL)
        return response.to_wire()

    def _fill_answer(
        self, response: dns.message.Message, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> None:
        name = qname
        for _ in range(_MAX_CNAME_HOPS):
            entry = self.records.get(name.to_text().lower())
            if entry is None:
                if name == qname:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                return
            wanted = dns.rdatatype.to_text(rdtype)
            if wanted in entry:
                response.answer.append(
                    dns.rrset.from_text_list(name, _TTL, dns.rdataclass.IN, wanted, entry[wanted])
                )
                return
            if "CNAME" not in entry:
                return  # the name exists without data of this type: NOERROR, no answer
            cname = dns.rrset.from_text_list(name, _TTL, dns.rdataclass.IN, "CNAME", entry["CNAME"])
            response.answer.append(cname)
            name = dns.name.from_text(entry["CNAME"][0])


def _asks_identity(query: dns.message.Message) -> bool:
    return bool(query.question) and (
        query.question[0].rdclass == dns.rdataclass.CH
        and query.question[0].name == dns.name.from_text("hostname.bind")
    )


def _identity_answer(query: dns.message.Message, identity: str) -> bytes:
    response = dns.message.make_response(query)
    response.answer.append(
        dns.rrset.from_text_list("hostname.bind.", 0, dns.rdataclass.CH, "TXT", [f'"{identity}"'])
    )
    if query.edns >= 0:
        response.use_edns(0, options=[dns.edns.NSIDOption(identity.encode())])
    return response.to_wire()


class LabDomainController(LabServer):
    """An AD domain controller's DNS: its own zone authoritatively, the rest forwarded."""

    def __init__(
        self,
        address: str,
        port: int,
        name: str,
        records: Records,
        forwarders: Sequence[str],
        forwarder_timeout_s: float = 1.0,
    ) -> None:
        self.forwarders = list(forwarders)
        self.forwarder_timeout_s = forwarder_timeout_s
        super().__init__(address, port, name, records)

    def respond(self, query: dns.message.Message, transport: Literal["udp", "tcp"]) -> bytes | None:
        if not query.question or query.question[0].name.to_text().lower() in self.records:
            response = dns.message.make_response(query)
            response.flags |= dns.flags.RA | dns.flags.AA
            if query.question:
                self._fill_answer(response, query.question[0].name, query.question[0].rdtype)
            return response.to_wire()
        for forwarder in self.forwarders:
            try:
                reply = dns.query.udp(
                    query, forwarder, timeout=self.forwarder_timeout_s, port=self.port
                )
            except (dns.exception.DNSException, OSError):
                continue
            if reply.rcode() == dns.rcode.NXDOMAIN:
                reply.set_rcode(dns.rcode.NOERROR)  # Samba's forwarded NXDOMAIN
            return _truncate_for_udp(reply, max(512, query.payload))
        return None


class LabForwarder(_Listener):
    """Plays the Lambda link-local forwarder: relays to upstreams, silent when none answers."""

    def __init__(
        self, address: str, port: int, upstreams: Sequence[str], upstream_timeout_s: float = 1.0
    ) -> None:
        self.upstreams = list(upstreams)
        self.upstream_timeout_s = upstream_timeout_s
        super().__init__(address, port, "forwarder")

    def respond(self, query: dns.message.Message, transport: Literal["udp", "tcp"]) -> bytes | None:
        for upstream in list(self.upstreams):
            try:
                if transport == "tcp":
                    reply = dns.query.tcp(
                        query, upstream, timeout=self.upstream_timeout_s, port=self.port
                    )
                    return reply.to_wire()
                reply = dns.query.udp(
                    query, upstream, timeout=self.upstream_timeout_s, port=self.port
                )
                return _truncate_for_udp(reply, max(512, query.payload))
            except (dns.exception.DNSException, OSError):
                continue
        return None


@dataclass
class DnsLab:
    """A set of lab servers on one loopback /24; use as a context manager."""

    port: int | None = None
    upstream_timeout_s: float = 1.0
    prefix: str = ""
    ipv6: bool = False
    _next_host: int = field(init=False, default=1)
    _listeners: list[_Listener] = field(init=False, default_factory=list)
    _dir: Path | None = field(init=False, default=None)
    forwarder: LabForwarder | None = field(init=False, default=None)
    resolv_conf_path: Path | None = field(init=False, default=None)

    def __enter__(self) -> DnsLab:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="dnslab-"))
        rng = random.SystemRandom()
        for _ in range(50):
            if self.prefix:
                break
            candidate = f"127.{rng.randint(100, 199)}.{rng.randint(0, 255)}"
            if self._block_is_free(candidate):
                self.prefix = candidate
        if not self.prefix:
            raise RuntimeError("DNS lab: no free 127.X.Y.0/24 block found")
        if self.port is None and self.ipv6:
            self.port = self._free_port(IPV6_LOOPBACK, socket.AF_INET6)
        if self.port is None:
            self.port = 53 if os.geteuid() == 0 else self._free_port(self.prefix + ".250")

    @staticmethod
    def _block_is_free(prefix: str) -> bool:
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.bind((prefix + ".1", 0))
        except OSError:
            return False
        finally:
            probe.close()
        return True

    @staticmethod
    def _free_port(address: str, family: socket.AddressFamily = socket.AF_INET) -> int:
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.bind((address, 0))
            port: int = sock.getsockname()[1]
            return port

    @property
    def cidr(self) -> str:
        """The lab's block, usable as a (fake) VPC CIDR whose base + 2 is a lab address."""
        return f"{self.prefix}.0/24"

    def _allocate(self, host: int | None = None, ipv6: bool = False) -> str:
        if not self.prefix:
            raise RuntimeError("DNS lab not started: use it as a context manager")
        taken = {listener.address for listener in self._listeners}
        if ipv6:
            if not self.ipv6 or IPV6_LOOPBACK in taken:
                raise RuntimeError("DNS lab: one IPv6 server per lab, made with DnsLab(ipv6=True)")
            return IPV6_LOOPBACK
        while host is None:
            if self._next_host > 240:
                raise RuntimeError("DNS lab: out of addresses")
            candidate = f"{self.prefix}.{self._next_host}"
            self._next_host += 1
            if candidate not in taken and not candidate.endswith(".2"):
                return candidate
        address = f"{self.prefix}.{host}"
        if address in taken:
            raise RuntimeError(f"DNS lab: {address} is already in use")
        return address

    def _bind_port(self) -> int:
        assert self.port is not None
        return self.port

    def add_server(
        self,
        name: str,
        records: Records | None = None,
        behaviour: Behaviour = "answer",
        delay_ms: float = 0.0,
        host: int | None = None,
        ipv6: bool = False,
        identity: str | None = None,
    ) -> LabServer:
        """Start a server; ``host`` pins the last octet (``2`` is kept for the VPC base + 2);
        ``ipv6`` puts it on ``::1``."""
        address = self._allocate(host, ipv6)
        server = LabServer(
            address, self._bind_port(), name, records, behaviour, delay_ms, identity=identity
        )
        self._listeners.append(server)
        return server

    def add_domain_controller(
        self,
        name: str,
        records: Records,
        forwarders: Sequence[str],
        forwarder_timeout_s: float = 1.0,
    ) -> LabDomainController:
        """A domain controller answering ``records`` as its own zone, forwarding the rest."""
        server = LabDomainController(
            self._allocate(), self._bind_port(), name, records, forwarders, forwarder_timeout_s
        )
        self._listeners.append(server)
        return server

    def add_forwarder(self, upstreams: Sequence[str]) -> LabForwarder:
        forwarder = LabForwarder(
            self._allocate(), self._bind_port(), upstreams, self.upstream_timeout_s
        )
        self._listeners.append(forwarder)
        self.forwarder = forwarder
        return forwarder

    def unused_address(self) -> str:
        """A loopback address of the lab's block that nothing listens on."""
        return self._allocate()

    def write_resolv_conf(
        self,
        configured: Sequence[str] = (),
        nameservers: Sequence[str] | None = None,
        search: Sequence[str] = (),
        text: str | None = None,
        filename: str = "resolv.conf",
    ) -> Path:
        """Write a resolv.conf shaped like the one inside a Lambda execution environment."""
        if self._dir is None:
            raise RuntimeError("DNS lab not started: use it as a context manager")
        if text is None:
            if nameservers is None:
                nameservers = [self.forwarder.address] if self.forwarder else []
            lines = [f"options {_LAMBDA_OPTIONS}", "; generated by /sbin/dhclient-script"]
            if search:
                lines.append("search " + " ".join(search))
            lines += [f"; configured nameserver {server}" for server in configured]
            lines += [f"nameserver {server}" for server in nameservers]
            text = "\n".join(lines) + "\n"
        path = self._dir / filename
        path.write_text(text)
        self.resolv_conf_path = path
        return path

    def canary_env(self, amazon: LabServer | None = None) -> dict[str, str]:
        """Canary settings pointing at this lab (see docs/canary-contract.md)."""
        if self.resolv_conf_path is None:
            self.write_resolv_conf()
        return {
            "RESOLV_CONF_PATH": str(self.resolv_conf_path),
            "AMAZON_DNS_SERVER": amazon.address if amazon else self.unused_address(),
            # Never the real fd00:ec2::253: IPv6-only runs ask the loopback instead.
            "AMAZON_DNS_SERVER_IPV6": IPV6_LOOPBACK,
            "DNS_PORT": str(self.port),
        }

    def servers(self) -> Iterator[_Listener]:
        yield from self._listeners

    def remove(self, listener: _Listener) -> None:
        """Stop one server or forwarder of the lab."""
        self._listeners.remove(listener)
        listener.close()

    def close(self) -> None:
        listeners, self._listeners = self._listeners, []
        threads = [threading.Thread(target=listener.close) for listener in listeners]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
