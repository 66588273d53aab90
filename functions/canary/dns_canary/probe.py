"""The DNS queries: every probe asked of every server at once, until one absolute expiry.

All queries run concurrently in one thread on a hand-written ``selectors`` loop (50 probes x up
to 8 servers). Hand-written rather than asyncio and ``dns.asyncquery`` for three reasons: the
canary's cold start stays short, the expiry is checked inside every read (a flood of datagrams
cannot hold the run past it), and the healthy path stays cheap on a fraction of a vCPU:

- each probe's query is written once, straight into wire format (a header, the name's labels,
  type and class: building it through dnspython's message objects cost a third of a healthy
  run's CPU), and shared by every server it is sent to;
- a reply is judged from its 12-byte header first; only a NOERROR answer is read further, and
  then only its answer section, straight from the wire (authority and additional records, most
  of a large answer, are never parsed; A/AAAA records become text without dnspython objects);
- latency is measured from the query's first send to the kernel's receive timestamp of its
  answer (``SO_TIMESTAMPNS``), so time the canary spends queued for CPU is not reported as the
  network's.

Each query retransmits over UDP on the same connected socket (a late answer to an earlier attempt
still counts). A truncated answer moves the query to TCP, where a small pool per server (at most
``MAX_TCP_CONNECTIONS_PER_SERVER`` connections) pipelines the queries as RFC 7766 allows, so a
burst of truncated answers never overflows a server's listen queue. Queries carry no EDNS, like
glibc's stub resolver, so the canary sees what workloads see.

Besides the probes, each server named in ``identify`` gets one identity query per run: ``CH TXT
hostname.bind`` with an EDNS NSID option (RFC 5001), sent once, never resent, never over TCP. Its
answer names the instance behind an address (a load-balanced or anycast resolver); the run never
waits for it: what arrived by the time the probes are done is kept, the rest is dropped.
"""

from __future__ import annotations

import contextlib
import errno
import os
import random
import selectors
import socket
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dns_canary.answers import MalformedAnswer, classify, identity_from_wire, rdatatype_number
from dns_canary.constants import (
    ATTEMPTS_PER_DEADLINE,
    MAX_DATAGRAMS_PER_READ,
    MAX_TCP_CONNECTIONS_PER_SERVER,
    MAX_TCP_RECONNECTS_PER_SERVER,
    MAX_UDP_MESSAGE,
    MIN_ATTEMPT_S,
)
from dns_canary.findings import Outcome, QueryResult, Role, ServerIdentity, Transport
from dns_canary.plan import Probe

# Linux: SO_TIMESTAMPNS (== SCM_TIMESTAMPNS) on x86_64 and arm64; Python does not export it.
_SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
_TIMESPEC = struct.Struct("@qq")
_ANCILLARY_BYTES = socket.CMSG_SPACE(_TIMESPEC.size)
_HEADER = struct.Struct("!HHHHHH")
_QUESTION = struct.Struct("!HH")
_CLASS_IN = 1
_RD = 0x0100
_QR = 0x8000
_TC = 0x0200
_AA = 0x0400
_RCODE_MASK = 0x000F
_LENGTH = struct.Struct("!H")
_CLASS_CH = 3
_TYPE_TXT = 16
_TYPE_OPT = 41
_OPTION_NSID = 3
_IDENTITY_NAME = b"\x08hostname\x04bind\x00"
# The OPT record: root owner, 1232-byte UDP payload, no flags, one empty NSID option.
_OPT_NSID = b"\x00" + struct.pack("!HHIHHH", _TYPE_OPT, 1232, 0, 4, _OPTION_NSID, 0)

Clock = Callable[[], float]


@dataclass(frozen=True)
class Hop:
    """A server to ask and the part it plays in the DNS path."""

    server: str
    role: Role


@dataclass(frozen=True)
class _Query:
    """One probe's query, built once: its wire format is shared by every server asked."""

    probe: Probe
    wire: bytes
    query_id: int

    @property
    def question(self) -> bytes:
        """The question section's bytes, which a reply echoes."""
        return self.wire[_HEADER.size :]


class _Exchange:
    """One probe asked of one server: UDP with retransmits, then TCP (pooled) if truncated."""

    def __init__(self, query: _Query, hop: Hop, port: int, attempt_s: float) -> None:
        self.query = query
        self.hop = hop
        self.port = port
        self.attempt_s = attempt_s
        self.transport: Transport = "udp"
        self.attempts = 0
        self.tcp_tries = 0
        self.sock: socket.socket | None = None
        self.next_send: float | None = None
        self.first_sent: float | None = None
        self.result: QueryResult | None = None

    # --- UDP ----------------------------------------------------------------------------------

    def start(self, selector: selectors.BaseSelector, now: float) -> None:
        try:
            self.sock = _udp_socket(self.hop.server, self.port)
            selector.register(self.sock, selectors.EVENT_READ, self)
        except OSError as exc:
            self.fail(selector, now, _os_error_text(exc, self.hop.server, self.port, "udp"))
            return
        self.send_udp(selector, now)

    def send_udp(self, selector: selectors.BaseSelector, now: float) -> None:
        assert self.sock is not None
        self.attempts += 1
        self.next_send = now + self.attempt_s
        if self.first_sent is None:
            self.first_sent = now
        try:
            self.sock.send(self.query.wire)
        except BlockingIOError:
            pass  # the retransmit timer sends it again
        except OSError as exc:
            self.fail(selector, now, _os_error_text(exc, self.hop.server, self.port, "udp"))

    def read_udp(self, selector: selectors.BaseSelector, pools: _TcpPools, clock: Clock) -> None:
        """Read what is queued, at most MAX_DATAGRAMS_PER_READ datagrams: the loop then looks at
        the clock, so a flood of stray datagrams cannot hold the run past its expiry."""
        assert self.sock is not None
        for _ in range(MAX_DATAGRAMS_PER_READ):
            try:
                data, receipt = _receive(self.sock, clock)
            except BlockingIOError:
                return
            except OSError as exc:
                text = _os_error_text(exc, self.hop.server, self.port, "udp")
                self.fail(selector, clock(), text)
                return
            flags = _reply_flags(data, self.query)
            if flags is None:
                continue  # not an answer to this query: keep listening
            if flags & _TC:
                self.close(selector)
                self.transport = "tcp"
                pools.submit(self, selector, clock())
                return
            self.answer(selector, flags & _RCODE_MASK, data, receipt)
            if self.result is not None:
                return

    # --- outcomes -----------------------------------------------------------------------------

    def answer(
        self, selector: selectors.BaseSelector, rcode: int, wire: bytes, receipt: float
    ) -> None:
        elapsed_ms = self._elapsed_ms(receipt)
        try:
            outcome, ok, rcode_text, answers, detail = classify(
                self.query.probe, self.hop.role, rcode, wire, elapsed_ms
            )
        except MalformedAnswer:
            if self.transport == "udp":
                return  # a mangled datagram: keep listening, the retransmit may fare better
            self.fail(selector, receipt, f"{self.hop.server} sent an unusable answer over TCP")
            return
        authoritative = bool(_HEADER.unpack_from(wire)[1] & _AA)
        self.result = self._result(
            outcome, ok, rcode_text, answers, elapsed_ms, detail, authoritative=authoritative
        )
        self.close(selector)

    def fail(self, selector: selectors.BaseSelector, now: float, detail: str) -> None:
        self.result = self._result("NETWORK_ERROR", False, None, (), self._elapsed_ms(now), detail)
        self.close(selector)

    def time_out(self, selector: selectors.BaseSelector, now: float, deadline_ms: int) -> None:
        detail = f"no answer within {deadline_ms} ms"
        if self.attempts > 1:
            detail += f", {self.attempts} attempts over UDP"
        if self.transport == "tcp":
            detail += "; the UDP answer was truncated and no answer came over TCP"
        self.result = self._result("TIMEOUT", False, None, (), self._elapsed_ms(now), detail)
        self.close(selector)

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            with contextlib.suppress(KeyError, ValueError):  # never registered: socket failed
                selector.unregister(self.sock)
            self.sock.close()
            self.sock = None
        self.next_send = None

    def _elapsed_ms(self, at: float) -> float:
        return 0.0 if self.first_sent is None else max(0.0, (at - self.first_sent) * 1000)

    def _result(
        self,
        outcome: Outcome,
        ok: bool,
        rcode: str | None,
        answers: tuple[str, ...],
        elapsed_ms: float,
        detail: str,
        *,
        authoritative: bool = False,
    ) -> QueryResult:
        return QueryResult(
            name=self.query.probe.name,
            type=self.query.probe.type,
            server=self.hop.server,
            role=self.hop.role,
            ok=ok,
            outcome=outcome,
            rcode=rcode,
            answers=answers,
            elapsed_ms=elapsed_ms,
            detail=detail,
            transport=self.transport,
            attempts=self.attempts,
            authoritative=authoritative,
        )


class _TcpConnection:
    """One TCP connection to a server, carrying several queries at once (RFC 7766 pipelining)."""

    def __init__(self, pool: _TcpPool, selector: selectors.BaseSelector) -> None:
        self.pool = pool
        self.in_flight: dict[int, _Exchange] = {}
        self.answered = 0
        self._next_id = random.randrange(0x10000)  # noqa: S311 - a query id, not a secret
        self._out = b""
        self._in = b""
        self.connected = False
        self.sock = socket.socket(_family(pool.server), socket.SOCK_STREAM)
        self.sock.setblocking(False)
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
            # Pipelined queries go out at once, not held back waiting for the server's ACK.
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        code = self.sock.connect_ex((pool.server, pool.port))
        if code not in (0, errno.EINPROGRESS):
            self.sock.close()
            raise OSError(code, os.strerror(code))
        selector.register(self.sock, selectors.EVENT_WRITE, self)

    def send(self, exchange: _Exchange, selector: selectors.BaseSelector) -> None:
        query_id = self._next_id
        self._next_id = (self._next_id + 1) & 0xFFFF
        self.in_flight[query_id] = exchange
        exchange.tcp_tries += 1
        wire = _HEADER.pack(query_id, *_HEADER.unpack_from(exchange.query.wire)[1:])
        wire += exchange.query.wire[_HEADER.size :]
        self._out += _LENGTH.pack(len(wire)) + wire
        if self.connected:
            selector.modify(self.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, self)

    def on_event(self, selector: selectors.BaseSelector, mask: int, clock: Clock) -> None:
        try:
            if mask & selectors.EVENT_WRITE:
                self._write(selector)
            if mask & selectors.EVENT_READ:
                self._read(selector, clock)
        except OSError as exc:
            self.pool.lost(self, selector, clock(), exc)

    def _write(self, selector: selectors.BaseSelector) -> None:
        if not self.connected:
            code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                raise OSError(code, os.strerror(code))
            self.connected = True
        if self._out:
            sent = self.sock.send(self._out)
            self._out = self._out[sent:]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if self._out else 0)
        selector.modify(self.sock, events, self)

    def _read(self, selector: selectors.BaseSelector, clock: Clock) -> None:
        try:
            chunk, receipt = _receive(self.sock, clock)
        except BlockingIOError:
            return
        if not chunk:
            self.pool.lost(self, selector, clock(), None)
            return
        self._in += chunk
        while len(self._in) >= _LENGTH.size:
            (length,) = _LENGTH.unpack_from(self._in)
            if len(self._in) < _LENGTH.size + length:
                return
            wire = self._in[_LENGTH.size : _LENGTH.size + length]
            self._in = self._in[_LENGTH.size + length :]
            if len(wire) < _HEADER.size:
                continue
            exchange = self.in_flight.pop(_HEADER.unpack_from(wire)[0], None)
            if exchange is None or exchange.result is not None:
                continue  # an answer to nothing we asked (or asked and given up): ignore it
            self.answered += 1
            flags = _HEADER.unpack_from(wire)[1]
            if not flags & _QR:
                exchange.fail(selector, receipt, f"{self.pool.server} sent a query over TCP")
                continue
            exchange.answer(selector, flags & _RCODE_MASK, wire, receipt)

    def close(self, selector: selectors.BaseSelector) -> None:
        with contextlib.suppress(KeyError, ValueError):
            selector.unregister(self.sock)
        self.sock.close()


class _TcpPool:
    """The TCP fallbacks to one server: a few connections, the queries pipelined on them."""

    def __init__(self, server: str, port: int) -> None:
        self.server = server
        self.port = port
        self.connections: list[_TcpConnection] = []
        self.opened = 0

    def submit(self, exchange: _Exchange, selector: selectors.BaseSelector, now: float) -> None:
        connection = min(self.connections, key=lambda c: len(c.in_flight), default=None)
        if (connection is None or connection.in_flight) and self._may_open():
            try:
                connection = _TcpConnection(self, selector)
            except OSError as exc:
                exchange.fail(selector, now, _tcp_error_text(exc, self.server, self.port))
                return
            self.connections.append(connection)
            self.opened += 1
        if connection is None:
            exchange.fail(
                selector, now, f"{self.server} closed every TCP connection the canary could open"
            )
            return
        connection.send(exchange, selector)

    def _may_open(self) -> bool:
        return (
            len(self.connections) < MAX_TCP_CONNECTIONS_PER_SERVER
            and self.opened < MAX_TCP_CONNECTIONS_PER_SERVER + MAX_TCP_RECONNECTS_PER_SERVER
        )

    def lost(
        self,
        connection: _TcpConnection,
        selector: selectors.BaseSelector,
        now: float,
        error: OSError | None,
    ) -> None:
        """The connection failed or the server closed it: its queries fail or move on."""
        connection.close(selector)
        self.connections.remove(connection)
        waiting = [e for e in connection.in_flight.values() if e.result is None]
        connection.in_flight.clear()
        for exchange in waiting:
            if error is not None:
                exchange.fail(selector, now, _tcp_error_text(error, self.server, self.port))
            elif connection.answered == 0 and exchange.tcp_tries >= 2:
                exchange.fail(
                    selector,
                    now,
                    f"{self.server} closed the TCP connection without an answer (the UDP answer "
                    "was truncated)",
                )
            else:
                # A server may answer one query per connection and close it (allowed): ask again.
                self.submit(exchange, selector, now)


class _TcpPools:
    def __init__(self, port: int) -> None:
        self.port = port
        self.pools: dict[str, _TcpPool] = {}

    def submit(self, exchange: _Exchange, selector: selectors.BaseSelector, now: float) -> None:
        server = exchange.hop.server
        pool = self.pools.get(server)
        if pool is None:
            pool = self.pools[server] = _TcpPool(server, self.port)
        pool.submit(exchange, selector, now)

    def close(self, selector: selectors.BaseSelector) -> None:
        for pool in self.pools.values():
            for connection in pool.connections:
                connection.close(selector)
            pool.connections.clear()


class _IdentityQuery:
    """One CH TXT hostname.bind query with an NSID option to one server: sent once, never
    resent; whatever comes back before the probes are done names the instance that answered."""

    def __init__(self, hop: Hop, port: int) -> None:
        self.hop = hop
        self.query_id = random.randrange(0x10000)  # noqa: S311 - a query id, not a secret
        self.wire = (
            _HEADER.pack(self.query_id, 0, 1, 0, 0, 1)
            + _IDENTITY_NAME
            + _QUESTION.pack(_TYPE_TXT, _CLASS_CH)
            + _OPT_NSID
        )
        self.sock: socket.socket | None = None
        self.identity: ServerIdentity | None = None
        try:
            self.sock = _udp_socket(hop.server, port)
            self.sock.send(self.wire)
        except OSError:
            self.close(None)

    def register(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            selector.register(self.sock, selectors.EVENT_READ, self)

    def read(self, selector: selectors.BaseSelector) -> None:
        assert self.sock is not None
        try:
            data = self.sock.recv(MAX_UDP_MESSAGE)
        except BlockingIOError:
            return
        except OSError:
            self.close(selector)
            return
        if len(data) < _HEADER.size or _HEADER.unpack_from(data)[0] != self.query_id:
            return  # not the answer to this query: keep listening
        self.identity = identity_from_wire(data, self.hop.server, self.hop.role)
        self.close(selector)

    def close(self, selector: selectors.BaseSelector | None) -> None:
        if self.sock is not None:
            if selector is not None:
                with contextlib.suppress(KeyError, ValueError):
                    selector.unregister(self.sock)
            self.sock.close()
            self.sock = None


@dataclass(frozen=True)
class ProbeRun:
    """The results (probe order, then hop order) and the identities servers gave."""

    results: list[QueryResult]
    identities: tuple[ServerIdentity, ...]


def run_probes(
    probes: Sequence[Probe],
    hops: Sequence[Hop],
    *,
    port: int,
    expiry: float,
    deadline_ms: int,
    clock: Clock = time.monotonic,
) -> list[QueryResult]:
    """Ask every probe of every hop, and of its own targets, until ``expiry`` (a ``clock`` reading).

    Results come in probe order, then hop order, then the probe's targets (a forward rule's
    target addresses, role ``rule_target``). ``deadline_ms`` is the run's deadline, named in the
    detail of queries it cut short ("no answer within D ms").
    """
    return probe_run(
        probes, hops, port=port, expiry=expiry, deadline_ms=deadline_ms, clock=clock
    ).results


def probe_run(
    probes: Sequence[Probe],
    hops: Sequence[Hop],
    *,
    port: int,
    expiry: float,
    deadline_ms: int,
    identify: Sequence[Hop] = (),
    clock: Clock = time.monotonic,
) -> ProbeRun:
    """``run_probes``, plus one identity query to each hop of ``identify`` (see the module)."""
    attempt_s = max(MIN_ATTEMPT_S, deadline_ms / 1000 / ATTEMPTS_PER_DEADLINE)
    queries = [_build_query(probe) for probe in probes]
    exchanges = [
        _Exchange(query, hop, port, attempt_s)
        for query in queries
        for hop in (*hops, *target_hops(query.probe))
    ]
    pools = _TcpPools(port)
    with selectors.DefaultSelector() as selector:
        asked = [_IdentityQuery(hop, port) for hop in identify] if clock() < expiry else []
        try:
            for query in asked:
                query.register(selector)
            for exchange in exchanges:
                now = clock()
                if now >= expiry:
                    break
                exchange.start(selector, now)
            _loop(selector, exchanges, pools, expiry, clock)
            now = clock()
            for exchange in exchanges:
                if exchange.result is None:
                    exchange.time_out(selector, now, deadline_ms)
        finally:
            for exchange in exchanges:
                exchange.close(selector)
            for query in asked:
                query.close(selector)
            pools.close(selector)
    return ProbeRun(
        results=[exchange.result for exchange in exchanges if exchange.result is not None],
        identities=tuple(query.identity for query in asked if query.identity is not None),
    )


def _loop(
    selector: selectors.BaseSelector,
    exchanges: list[_Exchange],
    pools: _TcpPools,
    expiry: float,
    clock: Clock,
) -> None:
    """Serve socket events and retransmits until every exchange is done or the expiry."""
    pending = exchanges
    now = clock()
    while now < expiry:
        pending = [exchange for exchange in pending if exchange.result is None]
        if not pending:
            return
        wake = _retransmit_due(selector, pending, now, expiry)
        if not _serve_events(selector, pools, wake, expiry, clock):
            return
        now = clock()


def _retransmit_due(
    selector: selectors.BaseSelector, pending: list[_Exchange], now: float, expiry: float
) -> float:
    """Send the UDP retransmits that are due; returns when the next one is (at most the expiry)."""
    wake = expiry
    for exchange in pending:
        if exchange.next_send is not None:
            if exchange.next_send <= now:
                exchange.send_udp(selector, now)
            if exchange.next_send is not None:
                wake = min(wake, exchange.next_send)
    return wake


def _serve_events(
    selector: selectors.BaseSelector, pools: _TcpPools, wake: float, expiry: float, clock: Clock
) -> bool:
    """Handle the socket events that come before ``wake``; False once the expiry has passed."""
    for key, mask in selector.select(timeout=max(0.0, wake - clock())):
        handler = key.data
        if isinstance(handler, _Exchange):
            if handler.result is None and handler.sock is key.fileobj:
                handler.read_udp(selector, pools, clock)
        elif isinstance(handler, _TcpConnection):
            handler.on_event(selector, mask, clock)
        elif isinstance(handler, _IdentityQuery) and handler.sock is key.fileobj:
            handler.read(selector)
        if clock() >= expiry:
            return False
    return True


def target_hops(probe: Probe) -> tuple[Hop, ...]:
    """The probe's own hops: a forward rule's targets, asked directly for its name."""
    return tuple(Hop(target, "rule_target") for target in probe.targets)


def _build_query(probe: Probe) -> _Query:
    """The query's wire format, written directly: RD set, no EDNS (like glibc's stub resolver).

    ``probe.name`` is validated ASCII (IDNA) without escapes, so its labels are its dots' parts.
    """
    query_id = random.randrange(0x10000)  # noqa: S311 - a query id, not a secret
    qname = b"".join(
        bytes((len(label),)) + label for label in probe.name.encode("ascii").split(b".")
    )
    wire = (
        _HEADER.pack(query_id, _RD, 1, 0, 0, 0)
        + qname
        + b"\0"
        + _QUESTION.pack(rdatatype_number(probe.type), _CLASS_IN)
    )
    return _Query(probe=probe, wire=wire, query_id=query_id)


def _udp_socket(server: str, port: int) -> socket.socket:
    sock = socket.socket(_family(server), socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        with contextlib.suppress(OSError):  # no kernel timestamps: receipt is read off the clock
            sock.setsockopt(socket.SOL_SOCKET, _SO_TIMESTAMPNS, 1)
        # Connected: the kernel drops datagrams from other peers and reports ICMP errors.
        sock.connect((server, port))
    except OSError:
        sock.close()
        raise
    return sock


def _receive(sock: socket.socket, clock: Clock) -> tuple[bytes, float]:
    """Read from the socket; the receipt time is the kernel's receive timestamp on ``clock``."""
    data, ancillary, _, _ = sock.recvmsg(MAX_UDP_MESSAGE, _ANCILLARY_BYTES)
    now = clock()
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == _SO_TIMESTAMPNS and len(payload) >= 16:
            seconds, nanoseconds = _TIMESPEC.unpack_from(payload)
            age = time.time() - (seconds + nanoseconds / 1e9)
            # The kernel's clock is the wall clock: only the packet's age crosses over.
            return data, now - min(max(age, 0.0), 60.0)
    return data, now


def _reply_flags(data: bytes, query: _Query) -> int | None:
    """The header flags when ``data`` is a reply to this query (id and question), else None."""
    if len(data) < _HEADER.size:
        return None
    reply_id, flags, qdcount, *_ = _HEADER.unpack_from(data)
    if reply_id != query.query_id or not flags & _QR:
        return None
    if qdcount == 0:
        # Error replies may omit the question (unbound's REFUSED does); an answer may not.
        return int(flags) if flags & _RCODE_MASK else None
    question = query.question
    if data[_HEADER.size : _HEADER.size + len(question)].lower() != question.lower():
        return None
    return int(flags)


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _os_error_text(exc: OSError, server: str, port: int, transport: Transport) -> str:
    name = transport.upper()
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return f"{name} connection refused: nothing listens on {server} {name} port {port}"
    return f"{exc.strerror or exc} ({name} to {server} port {port})"


def _tcp_error_text(exc: OSError, server: str, port: int) -> str:
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return (
            f"the UDP answer was truncated and {server} refused the TCP connection on port "
            f"{port}: it answers over UDP but not TCP"
        )
    return (
        f"the UDP answer was truncated and TCP to {server} port {port} failed "
        f"({exc.strerror or exc})"
    )
