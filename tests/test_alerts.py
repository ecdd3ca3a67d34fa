"""Alerts: one message per incident, a recovery once, the cool-down, the error-rate and
provider-auth monitors — delivered to a real local webhook receiver and a real local SMTP
server, and never raising, however the receiver fails."""

from __future__ import annotations

import asyncio
import logging

import pytest

from flaskllm.alerts import Alerter, ErrorRate
from flaskllm.settings import Settings
from fakes.alerts import MailBox, Receiver, free_port


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def alerter(clock=None, **settings) -> Alerter:
    values = {"alert_cooldown": 600, **settings}
    return Alerter(Settings.from_env(environ={}, env_file=None, **values),
                   clock=clock or Clock())


def run(alerts: Alerter, *calls) -> None:
    """Make the calls inside an event loop (as the app does), then wait for delivery."""
    async def go():
        for call in calls:
            call()
        await alerts.drain()

    asyncio.run(go())


def test_one_incident_is_one_message_and_its_recovery_another():
    with Receiver() as hook:
        clock = Clock()
        alerts = alerter(clock, alert_webhook_url=hook.url())
        run(alerts, *[lambda: alerts.fire("usage_store", "database", "down", spool="x")] * 5)
        assert len(hook.received) == 1
        first = hook.received[0]
        assert first["status"] == "firing" and first["kind"] == "usage_store"
        assert first["text"].startswith("[flaskllm] ALERT usage_store: down")
        assert first["details"] == {"spool": "x"}

        clock.now += 30
        run(alerts, lambda: alerts.resolve("usage_store", "database", "back"),
            lambda: alerts.resolve("usage_store", "database", "back"))
        assert [m["status"] for m in hook.received] == ["firing", "resolved"]
        assert hook.received[1]["details"] == {"repeats": 4, "duration_seconds": 30.0}


def test_an_incident_that_returns_within_the_cooldown_waits_for_it():
    with Receiver() as hook:
        clock = Clock()
        alerts = alerter(clock, alert_webhook_url=hook.url())
        run(alerts, lambda: alerts.fire("error_rate", "api", "high"),
            lambda: alerts.resolve("error_rate", "api", "fine"))
        clock.now += 60  # flapping: back after a minute, inside the 600 s cool-down
        run(alerts, lambda: alerts.fire("error_rate", "api", "high"))
        assert [m["status"] for m in hook.received] == ["firing", "resolved"]
        clock.now += 600  # still going on after the cool-down: now it is sent
        run(alerts, lambda: alerts.fire("error_rate", "api", "high"))
        assert [m["status"] for m in hook.received] == ["firing", "resolved", "firing"]
        # A flap that ends unannounced is not announced as recovered either.
        run(alerts, lambda: alerts.resolve("error_rate", "api", "fine"))
        clock.now += 10
        run(alerts, lambda: alerts.fire("error_rate", "api", "high"),
            lambda: alerts.resolve("error_rate", "api", "fine"))
        assert [m["status"] for m in hook.received] == ["firing", "resolved", "firing",
                                                        "resolved"]


def test_keys_are_separate_incidents():
    with Receiver() as hook:
        alerts = alerter(alert_webhook_url=hook.url())
        run(alerts, lambda: alerts.fire("provider_auth", "openai", "no"),
            lambda: alerts.fire("provider_auth", "anthropic", "no"),
            lambda: alerts.fire("provider_auth", "openai", "no"))
        assert sorted(m["key"] for m in hook.received) == ["anthropic", "openai"]
        assert sorted(alerts.active()) == [("provider_auth", "anthropic"),
                                           ("provider_auth", "openai")]


def test_error_rate_fires_once_above_the_threshold_and_resolves_below_half():
    with Receiver() as hook:
        clock = Clock()
        alerts = alerter(clock, alert_webhook_url=hook.url(), alert_error_rate=0.5,
                         alert_window=60, alert_min_requests=10)

        def answers(*statuses):
            for status in statuses:
                clock.now += 0.1
                alerts.observe(status)

        run(alerts, lambda: answers(*[500] * 9))  # too few answers to judge
        assert hook.received == []
        run(alerts, lambda: answers(500, 502, 200, 503))
        assert [(m["kind"], m["status"]) for m in hook.received] == [("error_rate", "firing")]
        assert hook.received[0]["details"]["answers"] == 10
        run(alerts, lambda: answers(*[200] * 10))  # 12/23 failed: still above
        run(alerts, lambda: answers(*[200] * 5))  # 12/28 = 43%: between, no change
        assert len(hook.received) == 1
        run(alerts, lambda: answers(*[200] * 30))  # 12/58 ≤ 25%: resolved
        assert [m["status"] for m in hook.received] == ["firing", "resolved"]
        clock.now += 120  # the window forgets the old errors
        run(alerts, lambda: answers(*[200] * 20))
        assert len(hook.received) == 2


def test_error_rate_memory_does_not_grow_with_the_request_rate():
    rate = ErrorRate(window=60)
    now = 1000.0
    for i in range(100_000):  # 1,000 answers a second for 100 s, one in ten failing
        now += 0.001
        answers, errors = rate.add(i % 10 == 0, now)
    assert len(rate._buckets) <= 61
    assert 60_000 <= answers <= 61_000 and errors * 10 == answers
    answers, errors = rate.add(False, now + 61)  # a minute of silence forgets the rest
    assert (answers, errors) == (1, 0)


def test_provider_errors_count_even_when_not_5xx():
    alerts = alerter(alert_error_rate=0.5, alert_min_requests=4)
    for _ in range(4):
        alerts.observe(429, code="PROVIDER_RATE_LIMITED")
    assert alerts.active() == [("error_rate", "api")]
    alerts = alerter(alert_error_rate=0.5, alert_min_requests=4)
    for _ in range(4):
        alerts.observe(429, code="RATE_LIMITED")  # our own limit is not a provider error
    assert alerts.active() == []


def test_provider_auth_fires_and_recovers_on_the_next_success():
    with Receiver() as hook:
        alerts = alerter(alert_webhook_url=hook.url())
        run(alerts, lambda: alerts.observe(502, code="PROVIDER_AUTH", provider="openai"),
            lambda: alerts.observe(502, code="PROVIDER_AUTH", provider="openai"),
            lambda: alerts.observe(200, provider="anthropic"),
            lambda: alerts.observe(200, provider="openai"))
        assert [(m["kind"], m["key"], m["status"]) for m in hook.received] == [
            ("provider_auth", "openai", "firing"), ("provider_auth", "openai", "resolved")]


def test_email_goes_to_a_local_smtp_server():
    with MailBox() as box:
        alerts = alerter(alert_smtp_host="127.0.0.1", alert_smtp_port=box.port,
                         alert_smtp_from="flaskllm@example.org",
                         alert_smtp_to=("ops@example.org", "oncall@example.org"),
                         alert_smtp_starttls=False)
        run(alerts, lambda: alerts.fire("budget", "alice:2025-01", "Token 'alice' used 80%",
                                        level=80))
    assert len(box.messages) == 1
    mail = box.messages[0]
    assert mail["Subject"] == "[flaskllm] ALERT budget: Token 'alice' used 80%"
    assert mail["To"] == "ops@example.org, oncall@example.org"
    assert "level: 80" in mail.get_payload()


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login_works_and_the_password_never_reaches_a_log(caplog):
    secret = "smtp-pass-Zq81"
    smtp = {"alert_smtp_host": "127.0.0.1", "alert_smtp_user": "alerts",
            "alert_smtp_password": secret, "alert_smtp_to": ("ops@example.org",),
            "alert_smtp_starttls": False}
    with MailBox(user="alerts", password=secret) as box:
        good = alerter(alert_smtp_port=box.port, **smtp)
        down = alerter(alert_smtp_port=free_port(), **smtp)  # nothing listens there
        with caplog.at_level(logging.DEBUG):
            run(good, lambda: good.fire("usage_store", "database", "down"))
            run(down, lambda: down.fire("usage_store", "database", "down"))
    assert box.logins == ["alerts"] and len(box.messages) == 1
    assert "not delivered to smtp 127.0.0.1: ConnectionRefusedError" in caplog.text
    assert secret not in caplog.text


@pytest.mark.parametrize("failure", ["status", "closed"])
def test_a_failing_webhook_is_logged_never_raised_and_its_path_stays_secret(caplog, failure):
    secret_path = "/services/T000/B000/s3cr3tPathToken"
    with Receiver(status=500) as hook:
        url = hook.url(secret_path) if failure == "status" else (
            f"http://127.0.0.1:{free_port()}{secret_path}")
        alerts = alerter(alert_webhook_url=url)
        with caplog.at_level(logging.DEBUG):
            run(alerts, lambda: alerts.fire("error_rate", "api", "high"))
    assert "was not delivered to webhook http://127.0.0.1:" in caplog.text
    assert "s3cr3tPathToken" not in caplog.text
    if failure == "status":
        assert hook.paths == [secret_path] and "answered 500" in caplog.text


def test_a_hanging_webhook_does_not_hold_the_caller(monkeypatch):
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections, never answers
    monkeypatch.setattr("flaskllm.alerts.WEBHOOK_TIMEOUT", 0.5)
    alerts = alerter(alert_webhook_url=f"http://127.0.0.1:{listener.getsockname()[1]}/x")

    async def go():
        loop = asyncio.get_running_loop()
        started = loop.time()
        alerts.fire("error_rate", "api", "high")
        took = loop.time() - started
        await alerts.drain()
        return took

    try:
        assert asyncio.run(go()) < 0.05  # fire() only schedules the delivery
    finally:
        listener.close()


def test_alerts_from_code_outside_an_event_loop_are_delivered_by_a_thread():
    with Receiver() as hook:
        alerts = alerter(alert_webhook_url=hook.url())
        assert alerts.fire("unpriced_model", "my-model", "no price") is True
        asyncio.run(alerts.aclose())
    assert [m["key"] for m in hook.received] == ["my-model"]


def test_without_receivers_incidents_are_logged(caplog):
    alerts = alerter()
    with caplog.at_level(logging.WARNING, logger="flaskllm.alerts"):
        alerts.fire("usage_store", "database", "down")
        alerts.fire("usage_store", "database", "down")
        alerts.resolve("usage_store", "database", "back")
    assert [r.getMessage() for r in caplog.records] == [
        "alert usage_store/database: down", "alert usage_store/database resolved: back"]
