"""The DNS queries: every probe asked of every server at once, within one deadline.

All queries run concurrently in one thread on a ``selectors`` loop (50 probes x up to 8 servers),
with dnspython building and parsing the messages. The plain selectors loop, rather than asyncio
and ``dns.asyncquery``, keeps the canary's cold start short and the deadline exact. Each query
retransmits over UDP on the same socket (a late answer to an earlier attempt still counts), falls
back to TCP when the answer is truncated, and stops at the shared deadline. Queries carry no EDNS,
like glibc's stub resolver, so the canary sees what workloads see.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dns.exception
import dns.flags
import dns.message
import dns.name

from dns_canary.answers import classify
from dns_canary.findings import Outcome, QueryResult, Role
from dns_canary.plan import Probe

MIN_ATTEMPT_S = 0.2
ATTEMPTS_PER_BUDGET = 3
_MAX_UDP_MESSAGE = 65535


@dataclass(frozen=True)
class Target:
    """A server to ask and the part it plays in the DNS path."""

    server: str
    role: Role


class _QueryFailed(Exception):
    """The exchange ended without a DNS answer (NETWORK_ERROR)."""


class _Exchange:
    """One probe asked of one server: UDP with retransmits, then TCP if truncated."""

    def __init__(self, probe: Probe, target: Target, port: int) -> None:
        self.probe = probe
        self.target = target
        self.port = port
        self.query = dns.message.make_query(dns.name.from_text(probe.name), probe.type)
        self.wire = self.query.to_wire()
        self.transport: Literal["udp", "tcp"] = "udp"
        self.attempts = 0
        self.sock: socket.socket | None = None
        self.next_send: float | None = None
        self.started = 0.0
        self.result: QueryResult | None = None
        self._tcp_out = b""
        self._tcp_in = b""

    # --- life cycle -------------------------------------------------------------------------

    def start(self, selector: selectors.BaseSelector, now: float) -> None:
        try:
            self.sock = socket.socket(_family(self.target.server), socket.SOCK_DGRAM)
            self.sock.setblocking(False)
            # Connected: the kernel drops datagrams from other peers and reports ICMP errors.
            self.sock.connect((self.target.server, self.port))
            selector.register(self.sock, selectors.EVENT_READ, self)
        except OSError as exc:
            self._fail(selector, now, _os_error_text(exc, self))
            return
        self.send_udp(selector, now)

    def send_udp(self, selector: selectors.BaseSelector, now: float) -> None:
        assert self.sock is not None
        self.attempts += 1
        self.next_send = now + self.attempt_s
        try:
            self.sock.send(self.wire)
        except BlockingIOError:
            pass  # the retransmit timer sends it again
        except OSError as exc:
            self._fail(selector, now, _os_error_text(exc, self))

    def on_event(self, selector: selectors.BaseSelector, mask: int, now: float) -> None:
        try:
            if self.transport == "udp":
                self._read_udp(selector, now)
            elif mask & selectors.EVENT_WRITE and self._tcp_out:
                self._write_tcp(selector)
            elif mask & selectors.EVENT_READ:
                self._read_tcp(selector, now)
        except OSError as exc:
            self._fail(selector, now, _os_error_text(exc, self))
        except _QueryFailed as exc:
            self._fail(selector, now, str(exc))

    def close(self, selector: selectors.BaseSelector) -> None:
        if self.sock is not None:
            with contextlib.suppress(KeyError, ValueError):  # never registered: connect failed
                selector.unregister(self.sock)
            self.sock.close()
            self.sock = None
        self.next_send = None

    # --- UDP ----------------------------------------------------------------------------------

    attempt_s = MIN_ATTEMPT_S

    def _read_udp(self, selector: selectors.BaseSelector, now: float) -> None:
        assert self.sock is not None
        while self.result is None:
            try:
                data = self.sock.recv(_MAX_UDP_MESSAGE)
            except BlockingIOError:
                return
            response = self._parse(data)
            if response is None:
                continue  # not an answer to this query: keep listening
            if response.flags & dns.flags.TC:
                self._start_tcp(selector)
                return
            self._answer(selector, response, now)

    # --- TCP ----------------------------------------------------------------------------------

    def _start_tcp(self, selector: selectors.BaseSelector) -> None:
        self.close(selector)
        self.transport = "tcp"
        self.sock = socket.socket(_family(self.target.server), socket.SOCK_STREAM)
        self.sock.setblocking(False)
        code = self.sock.connect_ex((self.target.server, self.port))
        if code not in (0, errno.EINPROGRESS):
            raise OSError(code, _strerror(code))
        self._tcp_out = struct.pack("!H", len(self.wire)) + self.wire
        selector.register(self.sock, selectors.EVENT_WRITE, self)

    def _write_tcp(self, selector: selectors.BaseSelector) -> None:
        assert self.sock is not None
        code = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            raise OSError(code, _strerror(code))
        sent = self.sock.send(self._tcp_out)
        self._tcp_out = self._tcp_out[sent:]
        if not self._tcp_out:
            selector.modify(self.sock, selectors.EVENT_READ, self)

    def _read_tcp(self, selector: selectors.BaseSelector, now: float) -> None:
        assert self.sock is not None
        try:
            chunk = self.sock.recv(_MAX_UDP_MESSAGE)
        except BlockingIOError:
            return
        if not chunk:
            raise _QueryFailed(f"{self.target.server} closed the TCP connection without an answer")
        self._tcp_in += chunk
        if len(self._tcp_in) < 2:
            return
        (length,) = struct.unpack("!H", self._tcp_in[:2])
        if len(self._tcp_in) < 2 + length:
            return
        response = self._parse(self._tcp_in[2 : 2 + length])
        if response is None:
            raise _QueryFailed(f"{self.target.server} sent an unusable answer over TCP")
        self._answer(selector, response, now)

    # --- outcomes -----------------------------------------------------------------------------

    def _parse(self, data: bytes) -> dns.message.Message | None:
        try:
            response = dns.message.from_wire(data)
        except dns.exception.DNSException:
            return None
        return response if self.query.is_response(response) else None

    def _answer(
        self, selector: selectors.BaseSelector, response: dns.message.Message, now: float
    ) -> None:
        elapsed_ms = (now - self.started) * 1000
        outcome, ok, rcode, answers, detail = classify(
            self.probe, self.target.role, response, elapsed_ms
        )
        self.result = self._result(outcome, ok, rcode, answers, elapsed_ms, detail)
        self.close(selector)

    def _fail(self, selector: selectors.BaseSelector, now: float, detail: str) -> None:
        self.result = self._result(
            "NETWORK_ERROR", False, None, (), (now - self.started) * 1000, detail
        )
        self.close(selector)

    def time_out(self, selector: selectors.BaseSelector, now: float, budget_ms: int) -> None:
        detail = f"no answer within {budget_ms} ms"
        if self.attempts > 1:
            detail += f", {self.attempts} attempts over UDP"
        if self.transport == "tcp":
            detail += ", then truncated and no answer over TCP"
        self.result = self._result("TIMEOUT", False, None, (), (now - self.started) * 1000, detail)
        self.close(selector)

    def _result(
        self,
        outcome: Outcome,
        ok: bool,
        rcode: str | None,
        answers: tuple[str, ...],
        elapsed_ms: float,
        detail: str,
    ) -> QueryResult:
        return QueryResult(
            name=self.probe.name,
            type=self.probe.type,
            server=self.target.server,
            role=self.target.role,
            ok=ok,
            outcome=outcome,
            rcode=rcode,
            answers=answers,
            elapsed_ms=elapsed_ms,
            detail=detail,
            transport=self.transport,
            attempts=self.attempts,
        )


def run_probes(
    probes: Sequence[Probe], targets: Sequence[Target], *, port: int, budget_s: float
) -> list[QueryResult]:
    """Ask every probe of every target; results in probe order, then target order."""
    clock = time.monotonic
    started = clock()
    budget_s = max(0.0, budget_s)
    deadline = started + budget_s
    budget_ms = round(budget_s * 1000)
    exchanges = [_Exchange(probe, target, port) for probe in probes for target in targets]
    with selectors.DefaultSelector() as selector:
        try:
            for exchange in exchanges:
                exchange.attempt_s = max(MIN_ATTEMPT_S, budget_s / ATTEMPTS_PER_BUDGET)
                exchange.started = started
                if budget_s > 0:
                    exchange.start(selector, clock())
            _loop(selector, exchanges, deadline)
            now = clock()
            for exchange in exchanges:
                if exchange.result is None:
                    exchange.time_out(selector, now, budget_ms)
        finally:
            for exchange in exchanges:
                exchange.close(selector)
    return [exchange.result for exchange in exchanges if exchange.result is not None]


def _loop(selector: selectors.BaseSelector, exchanges: list[_Exchange], deadline: float) -> None:
    """Serve socket events and retransmits until every exchange is done or the deadline."""
    now = time.monotonic()
    while now < deadline:
        pending = [exchange for exchange in exchanges if exchange.result is None]
        if not pending:
            return
        wake = deadline
        for exchange in pending:
            if exchange.next_send is not None and exchange.transport == "udp":
                if exchange.next_send <= now:
                    exchange.send_udp(selector, now)
                if exchange.next_send is not None:
                    wake = min(wake, exchange.next_send)
        for key, mask in selector.select(timeout=max(0.0, wake - time.monotonic())):
            exchange = key.data
            if isinstance(exchange, _Exchange) and exchange.result is None:
                exchange.on_event(selector, mask, time.monotonic())
        now = time.monotonic()


def _family(address: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in address else socket.AF_INET


def _os_error_text(exc: OSError, exchange: _Exchange) -> str:
    where = f"{exchange.transport.upper()} to {exchange.target.server} port {exchange.port}"
    if isinstance(exc, ConnectionRefusedError):
        return (
            f"connection refused: nothing listens on {exchange.target.server} port {exchange.port}"
        )
    return f"{exc.strerror or exc} ({where})"


def _strerror(code: int) -> str:
    return os.strerror(code)
