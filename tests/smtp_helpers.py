"""A real local SMTP server for the invitation tests (aiosmtpd), and what it received.

`smtp_server` starts one on 127.0.0.1 at a free port for a test and stops it afterwards; the
messages it accepted are parsed e-mails in `server.messages`. `refuse` makes it reject the named
recipients (550), as a real server refuses an unknown mailbox."""
from __future__ import annotations

import email
import email.policy
import socket
from dataclasses import dataclass, field

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    messages: list = field(default_factory=list)     # email.message.EmailMessage
    refuse: set[str] = field(default_factory=set)    # recipient addresses answered with 550
    port: int = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 Message accepted for delivery"

    def by_recipient(self) -> dict[str, object]:
        return {m["To"].addresses[0].addr_spec: m for m in self.messages}


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    received = Received(port=free_port())
    controller = Controller(received, hostname="127.0.0.1", port=received.port, ready_timeout=60)
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


def smtp_env(monkeypatch, port: int, timeout: str = "20") -> None:
    """Point EXPERTPOOL_SMTP_* at a local server without TLS."""
    monkeypatch.setenv("EXPERTPOOL_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("EXPERTPOOL_SMTP_PORT", str(port))
    monkeypatch.setenv("EXPERTPOOL_SMTP_TLS", "none")
    monkeypatch.setenv("EXPERTPOOL_SMTP_SENDER", "川渝专家库 <review@kjt.example.cn>")
    monkeypatch.setenv("EXPERTPOOL_SMTP_TIMEOUT", timeout)
    monkeypatch.delenv("EXPERTPOOL_SMTP_USER", raising=False)
    monkeypatch.delenv("EXPERTPOOL_SMTP_PASSWORD", raising=False)
