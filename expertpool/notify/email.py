"""Invitations by e-mail over SMTP (`smtplib`): one connection for a batch of notices, STARTTLS,
implicit TLS or plain, optional login. Configured from the environment (`config.SmtpConfig`);
the password is never printed, and failure reasons name the server, never a recipient."""
from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from expertpool.config import SmtpConfig
from expertpool.errors import InputError
from expertpool.notify import Delivery, Notice

_DEFAULT_PORTS = {"ssl": 465, "starttls": 587, "none": 25}
DEFAULT_TIMEOUT_S = 30.0


class SmtpNotifier:
    """The `Notifier` for e-mail."""

    channel = "电子邮件"

    def __init__(self, config: SmtpConfig):
        if config.security not in _DEFAULT_PORTS:
            raise InputError(f"EXPERTPOOL_SMTP_TLS: 「{config.security}」无效；可选：starttls、ssl、none")
        if not config.sender or "@" not in parseaddr(config.sender)[1]:
            raise InputError("EXPERTPOOL_SMTP_SENDER: 请给出发件地址（如 川渝专家库 <review@example.cn>）")
        if (config.user is None) != (config.password is None):
            raise InputError("EXPERTPOOL_SMTP_USER 与 EXPERTPOOL_SMTP_PASSWORD 应同时给出或同时不给")
        try:
            timeout = float(config.timeout_s) if config.timeout_s else DEFAULT_TIMEOUT_S
        except ValueError:
            timeout = -1.0
        if timeout <= 0:
            raise InputError(f"EXPERTPOOL_SMTP_TIMEOUT: 「{config.timeout_s}」应为正数（秒）")
        if config.port is not None and not (config.port.isdigit() and 0 < int(config.port) < 65536):
            raise InputError(f"EXPERTPOOL_SMTP_PORT: 「{config.port}」不是有效的端口号")
        self.config = config
        self.port = int(config.port) if config.port else _DEFAULT_PORTS[config.security]
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"SmtpNotifier({self.config.host}:{self.port}, {self.config.security})"

    @property
    def server(self) -> str:
        return f"{self.config.host}:{self.port}"

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(cfg.host, self.port, timeout=self.timeout,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(cfg.host, self.port, timeout=self.timeout)
        try:
            if cfg.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if cfg.user is not None:
                smtp.login(cfg.user, cfg.password or "")
        except BaseException:
            _quietly_close(smtp)
            raise
        return smtp

    def _message(self, notice: Notice) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.config.sender
        message["To"] = formataddr((notice.name, notice.address))
        message["Subject"] = notice.subject
        message["Date"] = formatdate(localtime=True)
        message["Message-ID"] = make_msgid(domain=parseaddr(self.config.sender or "")[1].split("@")[-1] or None)
        message.set_content(notice.body, charset="utf-8")
        return message

    def deliver(self, notices: Sequence[Notice]) -> list[Delivery]:
        if not notices:
            return []
        out: list[Delivery] = []
        try:
            smtp = self._connect()
        except Exception as exc:  # noqa: BLE001 — every way a server can fail is a reason for each notice
            reason = self._reason(exc, "连接")
            return [Delivery(n.key, False, reason) for n in notices]
        try:
            for i, notice in enumerate(notices):
                try:
                    smtp.send_message(self._message(notice))
                    out.append(Delivery(notice.key, True))
                except smtplib.SMTPRecipientsRefused:
                    out.append(Delivery(notice.key, False, f"邮件服务器 {self.server} 拒收该收件地址"))
                except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
                    out.append(Delivery(notice.key, False, f"邮件服务器 {self.server} 拒绝发送（{exc.smtp_code}）"))
                except Exception as exc:  # noqa: BLE001 — the connection is gone: the rest fail too
                    reason = self._reason(exc, "发送")
                    out.extend(Delivery(n.key, False, reason) for n in notices[i:])
                    break
        finally:
            _quietly_close(smtp)
        return out

    def _reason(self, exc: Exception, stage: str) -> str:
        # smtplib turns a read that timed out into SMTPServerDisconnected; the timeout is its context
        if isinstance(exc, (socket.timeout, TimeoutError)) or isinstance(exc.__context__, (socket.timeout, TimeoutError)):
            return f"{stage}邮件服务器 {self.server} 超时（{self.timeout:g} 秒）"
        if isinstance(exc, smtplib.SMTPAuthenticationError):
            return f"邮件服务器 {self.server} 拒绝登录（{exc.smtp_code}）：请检查 EXPERTPOOL_SMTP_USER/PASSWORD"
        if isinstance(exc, smtplib.SMTPResponseException):
            return f"邮件服务器 {self.server} 拒绝（{exc.smtp_code}）"
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return f"邮件服务器 {self.server} 断开了连接"
        if isinstance(exc, ssl.SSLError):
            return f"与邮件服务器 {self.server} 的 TLS 握手失败"
        if isinstance(exc, OSError):
            return f"无法{stage}邮件服务器 {self.server}（{exc.strerror or type(exc).__name__}）"
        return f"{stage}邮件服务器 {self.server} 失败（{type(exc).__name__}）"


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except Exception:  # noqa: BLE001 — closing a broken connection: nothing to report
        try:
            smtp.close()
        except Exception:  # noqa: BLE001
            pass


def notifier_from_env() -> SmtpNotifier | None:
    """The e-mail notifier configured by `EXPERTPOOL_SMTP_*`, or None when no server is set."""
    config = SmtpConfig.from_env()
    return SmtpNotifier(config) if config is not None else None
