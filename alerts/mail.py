"""The e-mail Notifier: SMTP with STARTTLS (verified), optional login, one total deadline."""

from __future__ import annotations

import contextlib
import smtplib
import socket
import ssl
import threading
import time
from email.message import EmailMessage
from email.utils import formatdate

import orjson

from alerts.config import EmailTarget
from alerts.notify import Outcome, Request
from rxsight import __version__


def _message(request: Request, target: EmailTarget) -> EmailMessage:
    body = orjson.loads(request.body)
    msg = EmailMessage()
    for name, value in target.headers.items():
        msg[name] = value
    msg["Subject"] = body["subject"]
    msg["From"] = target.from_
    msg["To"] = ", ".join(target.to)
    msg["Date"] = formatdate(usegmt=True)
    # The same id on every retry: mail systems and people can drop repeats by it, as webhook
    # receivers do by webhook-id.
    msg["Message-ID"] = f"<{request.notification_id}@rxsight>"
    msg["Idempotency-Key"] = request.notification_id
    msg["User-Agent"] = f"rxsight/{__version__}"
    msg.set_content(body["text"])
    msg.add_alternative(body["html"], subtype="html")
    return msg


class EmailNotifier:
    """Sends through the target's relay; never raises. SMTP 4xx and connection failures are
    retried, 5xx is permanent. `timeout` bounds the whole attempt: a relay answering slowly
    line by line is cut off at the deadline."""

    def close(self) -> None:
        pass  # a connection per attempt: nothing held between them

    def notify(self, request: Request) -> Outcome:
        target = request.target
        assert isinstance(target, EmailTarget)
        host, port = target.smarthost.rsplit(":", 1)
        started = time.perf_counter()

        def took() -> float:
            return time.perf_counter() - started

        smtp: smtplib.SMTP | None = None
        expired = threading.Event()

        def cut_off() -> None:
            expired.set()
            sock = getattr(smtp, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        timer = threading.Timer(request.timeout, cut_off)
        timer.start()
        try:
            smtp = smtplib.SMTP(host, int(port), timeout=request.timeout)
            smtp.ehlo()
            if target.require_tls:
                if not smtp.has_extn("starttls"):
                    return Outcome(0, took(), "the relay does not offer STARTTLS", transient=False)
                context = ssl.create_default_context(cafile=target.ca_file)
                smtp.starttls(context=context)
                smtp.ehlo()
            if target.auth_username:
                smtp.login(target.auth_username, target.auth_password or "")
            smtp.send_message(_message(request, target))
            return Outcome(250, took(), "")
        except smtplib.SMTPResponseException as exc:
            text = (
                exc.smtp_error.decode(errors="replace")
                if isinstance(exc.smtp_error, bytes)
                else exc.smtp_error
            )
            return Outcome(
                exc.smtp_code,
                took(),
                f"SMTP {exc.smtp_code}: {text}"[:500],
                transient=exc.smtp_code < 500,
            )
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return Outcome(
                max(codes),
                took(),
                f"recipients refused: {exc.recipients}"[:500],
                transient=all(c < 500 for c in codes),
            )
        except ssl.SSLError as exc:
            return Outcome(0, took(), f"TLS: {exc}", transient=False)
        except (OSError, smtplib.SMTPException) as exc:
            if expired.is_set():
                return Outcome(
                    0, took(), f"timeout: no complete answer within {request.timeout:g}s"
                )
            return Outcome(0, took(), f"{type(exc).__name__}: {exc}")
        finally:
            timer.cancel()
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
