"""Notifiers: how an invitation reaches an expert. One small protocol, `Notifier`; e-mail over
SMTP is implemented (`notify.email`); SMS and voice-call gateways would implement the same
protocol (`channel` "短信" / "语音") and are not built.

A notifier never raises for one notice that cannot be delivered: it returns a `Delivery` saying
why, so the caller records each member's outcome and a retry sends only what failed. Reasons
never contain the recipient's address or other personal data.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

#: the channels a notifier may serve; only e-mail has an implementation
CHANNELS: tuple[str, ...] = ("电子邮件", "短信", "语音")


@dataclass(frozen=True)
class Notice:
    key: str        # matches the Delivery to the notice (the caller's member id); never sent
    address: str    # e-mail address (or phone number, for an SMS/voice gateway)
    name: str
    subject: str
    body: str


@dataclass(frozen=True)
class Delivery:
    key: str
    ok: bool
    error: str | None = None   # why not, without personal data


@runtime_checkable
class Notifier(Protocol):
    channel: str

    def deliver(self, notices: Sequence[Notice]) -> list[Delivery]:
        """Send every notice; one Delivery per notice, in order. A server that cannot be reached
        (refused, timed out, authentication failed) fails every notice not yet sent, with the
        reason; nothing is raised for it."""
        ...


__all__ = ["CHANNELS", "Delivery", "Notice", "Notifier"]
