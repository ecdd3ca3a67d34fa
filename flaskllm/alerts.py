"""Alerts: one message per incident, to a webhook and/or by e-mail, never in a request's way.

    alerts.fire(kind, key, message, **details)       an incident starts (or goes on)
    alerts.resolve(kind, key, message, **details)    it is over: the recovery is announced
    alerts.observe(status, code=None, provider=None) every answered item feeds the monitors

Kinds sent by FlaskLLM: ``error_rate`` (5xx or provider errors above ALERT_ERROR_RATE over
ALERT_WINDOW), ``provider_auth`` (a provider refused our key), ``budget`` (a token reached 80%
or 100% of a budget or quota), ``unpriced_model``, ``usage_store`` (the usage database is
unreachable; its recovery says how many spooled records were replayed).

Deduplication, per (kind, key): the first ``fire`` of an incident is sent, later ones only
counted; ``resolve`` ends the incident and announces the recovery (with the count) once. An
incident that starts again within ALERT_COOLDOWN seconds of the last message is not sent at
once (a flapping check would otherwise page every minute); it is sent by the first ``fire``
after the cool-down if it is still going on.

Delivery runs on a background task (a thread when no event loop runs, as in the CLI) with
short timeouts; a receiver that fails is logged, never raised. Every incident is logged too,
so a server without webhook or SMTP still reports them. The webhook URL's path and the SMTP
password are secrets: neither reaches a log.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import smtplib
import ssl
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage
from typing import Any, Callable
from urllib.parse import urlsplit

from flaskllm.settings import Settings

log = logging.getLogger("flaskllm.alerts")

WEBHOOK_TIMEOUT = 5.0
SMTP_TIMEOUT = 10.0
CLOSE_TIMEOUT = 15.0  # how long shutdown waits for deliveries in flight


@dataclass
class _Incident:
    active: bool = False
    announced: bool = False  # a message about this incident went out
    last_sent: float = float("-inf")  # when a firing message for this key last went out
    started: float = 0.0
    repeats: int = 0


class ErrorRate:
    """Answers of the last ``window`` seconds and how many of them failed.

    Counted in one-second buckets, so memory is at most ``window`` buckets whatever the
    request rate: one entry per answer held 225,000 of them (20 MB) at 750 req/s over the
    default 300 s. An answer leaves the count up to a second late, which a rate over
    minutes does not notice."""

    def __init__(self, window: float):
        self.window = window
        self._buckets: deque[list[int]] = deque()  # [second, answers, errors], oldest first
        self._answers = 0
        self._errors = 0

    def add(self, error: bool, now: float) -> tuple[int, int]:
        second = math.floor(now)
        if not self._buckets or self._buckets[-1][0] != second:
            self._buckets.append([second, 0, 0])
        bucket = self._buckets[-1]
        bucket[1] += 1
        bucket[2] += error
        self._answers += 1
        self._errors += error
        cutoff = now - self.window
        while self._buckets and self._buckets[0][0] + 1 <= cutoff:  # wholly before the window
            _, answers, errors = self._buckets.popleft()
            self._answers -= answers
            self._errors -= errors
        return self._answers, self._errors


class Alerter:
    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.cooldown = float(settings.alert_cooldown)
        self.clock = clock
        self.webhook = settings.alert_webhook_url
        self.smtp = bool(settings.alert_smtp_host)
        self._incidents: dict[tuple[str, str], _Incident] = {}
        self._lock = threading.Lock()  # fire() may also be called from worker threads
        self._tasks: set[asyncio.Task] = set()
        self._threads: set[threading.Thread] = set()
        self._last: asyncio.Task | threading.Thread | None = None  # deliveries go in order
        self._rate = ErrorRate(settings.alert_window)

    # Incidents -------------------------------------------------------------------------------

    def fire(self, kind: str, key: str, message: str, **details: Any) -> bool:
        """Report an incident; True when a message was sent for this call. Never raises."""
        now = self.clock()
        with self._lock:
            incident = self._incidents.setdefault((kind, key), _Incident())
            starting = not incident.active
            if starting:
                incident.active, incident.started, incident.repeats = True, now, 0
            else:
                incident.repeats += 1
            send = not incident.announced and now - incident.last_sent >= self.cooldown
            if send:
                incident.announced, incident.last_sent = True, now
        if starting:
            log.warning("alert %s/%s: %s", kind, key, message)
        if send:
            self._send("firing", kind, key, message, details)
        return send

    def resolve(self, kind: str, key: str, message: str, **details: Any) -> bool:
        """End an incident; its recovery is sent if its start was. Cheap when nothing is on."""
        with self._lock:
            incident = self._incidents.get((kind, key))
            if incident is None or not incident.active:
                return False
            incident.active = False
            send, incident.announced = incident.announced, False
            duration, repeats = self.clock() - incident.started, incident.repeats
        log.warning("alert %s/%s resolved: %s", kind, key, message)
        if send:
            details = {**details, "repeats": repeats, "duration_seconds": round(duration, 1)}
            self._send("resolved", kind, key, message, details)
        return send

    def active(self) -> list[tuple[str, str]]:
        """The (kind, key) of every incident going on now (for health and the dashboard)."""
        with self._lock:
            return [key for key, incident in self._incidents.items() if incident.active]

    # Monitors --------------------------------------------------------------------------------

    def observe(self, status: int, code: str | None = None, provider: str | None = None) -> None:
        """Feed one answered item (its HTTP status and problem code) to the monitors."""
        error = status >= 500 or (code or "").startswith("PROVIDER_")
        total, errors = self._rate.add(error, self.clock())
        settings = self.settings
        if total >= settings.alert_min_requests:
            rate = errors / total
            summary = (f"{rate:.0%} of the last {total} answers in {settings.alert_window}s "
                       f"were 5xx or provider errors")
            # Resolving only below half the threshold keeps a rate that hovers around it from
            # flapping between firing and resolved.
            if rate > settings.alert_error_rate:
                self.fire("error_rate", "api", summary + f" (threshold "
                          f"{settings.alert_error_rate:.0%})", rate=round(rate, 4),
                          answers=total, errors=errors)
            elif rate <= settings.alert_error_rate / 2:
                self.resolve("error_rate", "api", summary + " again", rate=round(rate, 4),
                             answers=total, errors=errors)
        if provider:
            if code == "PROVIDER_AUTH":
                self.fire("provider_auth", provider, f"The {provider} provider rejects this "
                          "server's credentials (check its API key)", provider=provider)
            elif status < 400:
                self.resolve("provider_auth", provider,
                             f"The {provider} provider accepts this server's credentials again")

    # Delivery --------------------------------------------------------------------------------

    def _send(self, status: str, kind: str, key: str, message: str,
              details: dict[str, Any]) -> None:
        if not (self.webhook or self.smtp):
            return
        alert = {
            "text": f"[flaskllm] {'RESOLVED' if status == 'resolved' else 'ALERT'} "
                    f"{kind}: {message}",
            "status": status,
            "kind": kind,
            "key": key,
            "message": message,
            "details": {k: _plain(v) for k, v in details.items()},
            "environment": self.settings.environment,
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        # Each delivery waits for the one before, so a receiver never gets a recovery before
        # the alert it ends.
        previous = self._last
        if loop is not None:
            if isinstance(previous, asyncio.Task) and previous.get_loop() is not loop:
                previous = None  # another event loop's (tests run one loop per test)
            task = loop.create_task(self._deliver(alert, previous))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            self._last = task
        else:
            thread = threading.Thread(target=asyncio.run, args=(self._deliver(alert, previous),),
                                      name="flaskllm-alert", daemon=True)
            self._threads = {t for t in self._threads if t.is_alive()} | {thread}
            self._last = thread
            thread.start()

    async def _deliver(self, alert: dict[str, Any],
                       previous: asyncio.Task | threading.Thread | None = None) -> None:
        if isinstance(previous, threading.Thread):
            await asyncio.to_thread(previous.join, CLOSE_TIMEOUT)
        elif previous is not None and previous.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([previous])
        channels: dict[str, Any] = {}
        if self.webhook:
            channels["webhook " + self._shown_webhook()] = asyncio.to_thread(
                self._post_webhook, alert)
        if self.smtp:
            channels["smtp " + self.settings.alert_smtp_host] = asyncio.to_thread(
                self._send_mail, alert)
        results = await asyncio.gather(*channels.values(), return_exceptions=True)
        for channel, result in zip(channels, results):
            if isinstance(result, BaseException):
                log.error("alert %s/%s was not delivered to %s: %s: %s", alert["kind"],
                          alert["key"], channel, type(result).__name__, self._scrub(result))

    def _post_webhook(self, alert: dict[str, Any]) -> None:
        # urllib, not httpx: httpx logs every request's full URL at INFO, and this URL's path
        # is the secret. Alerts are rare, so a thread per delivery costs nothing.
        request = urllib.request.Request(
            self.webhook, data=json.dumps(alert).encode("utf-8"), method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "flaskllm-alerts"})
        try:
            with _OPENER.open(request, timeout=WEBHOOK_TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:  # its text is only the status; keep it so
            raise DeliveryError(f"the receiver answered {exc.code}") from None

    def _send_mail(self, alert: dict[str, Any]) -> None:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = alert["text"][:150]
        mail["From"] = s.alert_smtp_from or s.alert_smtp_user
        mail["To"] = ", ".join(s.alert_smtp_to)
        lines = [alert["message"], ""] + [f"{k}: {v}" for k, v in alert["details"].items()]
        lines += ["", f"kind: {alert['kind']}", f"key: {alert['key']}",
                  f"status: {alert['status']}", f"time: {alert['time']}",
                  f"environment: {alert['environment']}"]
        mail.set_content("\n".join(lines) + "\n")
        implicit_tls = s.alert_smtp_port == 465
        smtp_class = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP
        with smtp_class(s.alert_smtp_host, s.alert_smtp_port, timeout=SMTP_TIMEOUT) as smtp:
            if s.alert_smtp_starttls and not implicit_tls:
                smtp.starttls(context=ssl.create_default_context())
            if s.alert_smtp_user:
                smtp.login(s.alert_smtp_user, s.alert_smtp_password)
            smtp.send_message(mail)

    def _shown_webhook(self) -> str:
        """The webhook without its path, which often is the credential (Slack's is)."""
        parts = urlsplit(self.webhook)
        return f"{parts.scheme}://{parts.hostname}{':%d' % parts.port if parts.port else ''}/…"

    def _scrub(self, exc: BaseException) -> str:
        text = str(exc)
        for secret, shown in ((self.webhook, self._shown_webhook() if self.webhook else ""),
                              (self.settings.alert_smtp_password, "***")):
            if secret:
                text = text.replace(secret, shown)
        return text

    async def drain(self) -> None:
        """Wait for the deliveries in flight (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for thread in list(self._threads):
            await asyncio.to_thread(thread.join, CLOSE_TIMEOUT)

    async def aclose(self) -> None:
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT):
                await self.drain()
        except TimeoutError:
            log.warning("shutting down with %d alert deliveries still in flight",
                        len(self._tasks) + len(self._threads))


class DeliveryError(Exception):
    """A receiver did not accept an alert."""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would turn the POST into a GET elsewhere."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _plain(value: Any) -> Any:
    """A value JSON can carry (Decimal costs and datetimes become strings)."""
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
