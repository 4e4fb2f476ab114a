"""Notifications on both databases: written with the outcome, sent by a worker's try, retried, given up, re-armed.

The webhook goes to a real HTTP server on loopback (opened to the egress guard with
RQFLOW_EGRESS_ALLOW, as an operator would), the email to a real SMTP server (aiosmtpd).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from redis import Redis
from sqlalchemy import func, select

from rqflow.broker.timers import SCHEDULED_SET, TimerOptions
from rqflow.db import session_scope
from rqflow.job_ids import notify_job_id
from rqflow.models import (
    NotificationAttempt,
    NotificationDelivery,
    Schedule,
    ScheduleRun,
    WorkflowRun,
    utcnow,
)
from rqflow.models.schedule_run import TIMEOUT_REASON
from rqflow.notify.webhook import verify
from rqflow.scheduler.sync import rearm_notifications
from rqflow.services import retention
from rqflow.services.notification_deliveries import webhook_secret
from rqflow.services.occurrences import finish_run
from rqflow.settings import Settings, get_settings
from rqflow.worker.notification import deliver
from tests.integration.conftest import ApiUser, RecordingSignals, make_schedule, make_workflow
from tests.smtp_sink import SmtpSink
from tests.webhook_receiver import WebhookReceiver


def configure(monkeypatch: pytest.MonkeyPatch, **values: str) -> Settings:
    for name, value in values.items():
        monkeypatch.setenv(f"RQFLOW_{name.upper()}", value)
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def receiver(settings: Settings) -> Any:
    with WebhookReceiver() as server:  # on loopback, which the tests' settings open to the egress guard
        yield server


def started_run(schedule_id: str, workflow_id: int) -> int:
    """A row ``running`` since 2 s ago, with a workflow run."""
    started = utcnow() - timedelta(seconds=2)
    with session_scope() as db:
        run = ScheduleRun(scheduled_job_id=schedule_id, scheduled_for=started, status="running", started_at=started,
                          rq_job_id="rqflow-notify-test")
        db.add(run)
        db.flush()
        db.add(WorkflowRun(workflow_id=workflow_id, schedule_run_id=run.id, event_type="schedule", event={}))
        return run.id


def end(schedule_id: str, run_id: int, signals: RecordingSignals, *, error: str = "", reason: str = "",
        spent: tuple[int, float] = (0, 0.0)) -> None:
    with session_scope() as db:
        finish_run(db=db, run_id=run_id, schedule_id=schedule_id, error=error, reason=reason, now=utcnow(),
                   signals=signals, spent=spent)


def deliveries(schedule_id: str) -> list[NotificationDelivery]:
    with session_scope() as db:
        rows = list(db.scalars(select(NotificationDelivery).where(NotificationDelivery.scheduled_job_id == schedule_id)
                               .order_by(NotificationDelivery.id)))
        for row in rows:
            _ = row.attempt_log
        return rows


def test_a_failed_run_notifies_the_entries_that_want_it_and_a_failed_try_is_tried_again(
    alice: ApiUser, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver.statuses = [503]
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": receiver.url},
                                                    {"on": ["succeeded"], "webhook": receiver.url + "/ok"}])
    signals = RecordingSignals()
    run_id = started_run(job.id, workflow_id)

    end(job.id, run_id, signals, error="workflow run 1: boom")

    [delivery] = deliveries(job.id)
    assert (delivery.outcome, delivery.channel, delivery.status, delivery.attempts) == ("failed", "webhook",
                                                                                        "pending", 0)
    assert [(d, a) for d, a, _ in signals.notifications] == [(delivery.id, 1)]
    assert delivery.payload["run"]["error"] == "workflow run 1: boom"
    assert delivery.payload["schedule"]["url"].endswith(f"/ui/schedules/{job.id}")

    first = deliver(delivery.id, 1, signals=signals)
    assert first["taken_up"] is True and first["ok"] is False and first["status_code"] == 503
    [waiting] = deliveries(job.id)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 1, "HTTP 503: ok")
    assert signals.notifications[-1][:2] == (delivery.id, 2)
    assert signals.notifications[-1][2] == waiting.next_attempt_at  # 30 s after the failed try by default

    assert deliver(delivery.id, 2, signals=signals)["ok"] is True
    assert deliver(delivery.id, 2, signals=signals) == {"taken_up": False}  # a timer delivered twice sends once
    [done] = deliveries(job.id)
    assert (done.status, done.attempts, done.next_attempt_at) == ("delivered", 2, None)
    assert [(t.attempt, t.ok, t.status_code) for t in done.attempt_log] == [(1, False, 503), (2, True, 200)]

    requests = receiver.wait_for(2, timeout=5)
    with session_scope() as db:
        secret = webhook_secret(db, alice.id)
        db.commit()
    for request in requests:
        assert verify(secret, request.headers, request.body)
        assert not verify(secret + "x", request.headers, request.body)
        assert request.headers["X-Rqflow-Delivery"] == str(delivery.id)
    body = json.loads(requests[-1].body)
    assert (body["outcome"], body["delivery_id"], body["run"]["id"]) == ("failed", delivery.id, run_id)


def test_a_timeout_is_heard_by_an_entry_on_failed_and_by_one_on_timeout_but_not_by_one_on_succeeded(
    alice: ApiUser, receiver: WebhookReceiver
) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": receiver.url},
                                                    {"on": ["timeout"], "webhook": receiver.url + "/t"},
                                                    {"on": ["succeeded", "budget_exceeded"], "webhook": receiver.url}])
    end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="past its deadline",
        reason=TIMEOUT_REASON)
    assert [(d.outcome, d.target) for d in deliveries(job.id)] == [("timeout", receiver.url),
                                                                   ("timeout", receiver.url + "/t")]


def test_a_success_notifies_through_the_full_path_and_a_quiet_one_writes_nothing(
    alice: ApiUser, receiver: WebhookReceiver
) -> None:
    workflow_id = make_workflow(alice)
    heard = make_schedule(alice, workflow_id, name="heard", notify=[{"on": ["succeeded"], "webhook": receiver.url}])
    quiet = make_schedule(alice, workflow_id, name="quiet", notify=[{"on": ["failed"], "webhook": receiver.url}])
    end(heard.id, started_run(heard.id, workflow_id), RecordingSignals(), spent=(1200, 0.0042))
    end(quiet.id, started_run(quiet.id, workflow_id), RecordingSignals())
    [delivery] = deliveries(heard.id)
    assert delivery.outcome == "succeeded"
    assert (delivery.payload["run"]["total_tokens"], delivery.payload["run"]["total_cost_usd"]) == (1200, 0.0042)
    assert deliveries(quiet.id) == []


def test_a_target_users_may_not_reach_fails_at_its_first_try(
    settings: Settings, alice: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, egress_allow="")
    with WebhookReceiver() as closed_off:  # on loopback, which users may not reach
        workflow_id = make_workflow(alice)
        job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": closed_off.url}])
        end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="boom")
        [delivery] = deliveries(job.id)
        signals = RecordingSignals()
        assert deliver(delivery.id, 1, signals=signals)["ok"] is False
        [failed] = deliveries(job.id)
        assert failed.status == "failed" and "not a public address" in failed.last_error
        assert signals.notifications == [] and closed_off.received == []


def test_tries_stop_at_the_operators_limit_and_a_lost_last_try_fails_the_delivery(
    alice: ApiUser, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, notify_max_attempts="2")
    receiver.statuses = [500, 500, 500]
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": receiver.url},
                                                    {"on": ["failed"], "webhook": receiver.url + "/b"}])
    end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="boom")
    first, second = deliveries(job.id)
    signals = RecordingSignals()
    deliver(first.id, 1, signals=signals)
    deliver(first.id, 2, signals=signals)
    assert deliveries(job.id)[0].status == "failed"
    assert [entry[:2] for entry in signals.notifications] == [(first.id, 2)]  # none after the last try
    assert deliver(first.id, 3, signals=signals) == {"taken_up": False}

    deliver(second.id, 1, signals=signals)
    with session_scope() as db:  # the second try's worker died after its take-up
        db.execute(NotificationDelivery.__table__.update().where(NotificationDelivery.id == second.id)
                   .values(attempts=2))
        db.commit()
    assert deliver(second.id, 3, signals=signals) == {"taken_up": False}
    lost = deliveries(job.id)[1]
    assert lost.status == "failed" and "lost with its worker" in lost.last_error


def test_an_email_reaches_a_real_smtp_server_written_for_a_person(
    alice: ApiUser, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with SmtpSink() as sink:
        configure(monkeypatch, smtp_url=sink.url, smtp_from="rqflow@example.org",
                  public_url="https://rqflow.example.org")
        workflow_id = make_workflow(alice)
        job = make_schedule(alice, workflow_id, name="nightly\r\nBcc: x@evil.test",
                            notify=[{"on": ["failed"], "email": "ops@example.com"}])
        end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="workflow run 7: the API said 502")
        [delivery] = deliveries(job.id)
        assert deliver(delivery.id, 1, signals=RecordingSignals())["ok"] is True

        [(recipients, message)] = sink.wait_for(1, timeout=10)
    assert recipients == ["ops@example.com"]
    assert message["Subject"] == "[rqflow] nightly  Bcc: x@evil.test: failed"
    assert message["Bcc"] is None and message["From"] == "rqflow@example.org"
    text = message.get_content()
    assert "workflow run 7: the API said 502" in text
    assert f"https://rqflow.example.org/ui/schedules/{job.id}" in text
    assert deliveries(job.id)[0].status == "delivered"


def test_a_pause_after_failures_and_a_daily_budget_crossing_notify(
    alice: ApiUser, receiver: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, user_daily_budget_usd="1.0")
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, pause_after_failures=1,
                        notify=[{"on": ["auto_paused", "daily_budget"], "webhook": receiver.url}])
    other = make_schedule(alice, workflow_id, name="other",
                          notify=[{"on": ["daily_budget"], "webhook": receiver.url},
                                  {"on": ["daily_budget"], "webhook": receiver.url + "/2"}])
    end(other.id, started_run(other.id, workflow_id), RecordingSignals(), spent=(10, 0.5))  # 50 %: below the line
    assert deliveries(job.id) == [] and deliveries(other.id) == []
    end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="boom", spent=(10, 0.35))  # 85 %

    assert sorted(d.outcome for d in deliveries(job.id)) == ["auto_paused", "daily_budget"]
    assert [(d.outcome, d.target) for d in deliveries(other.id)] == [("daily_budget", receiver.url + "/2")]
    end(other.id, started_run(other.id, workflow_id), RecordingSignals(), spent=(10, 0.1))  # 95 %: crossed before
    assert len(deliveries(other.id)) == 1


def test_the_scheduler_arms_again_the_tries_redis_lost(
    alice: ApiUser, receiver: WebhookReceiver, redis: Redis, settings: Settings
) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": receiver.url}])
    end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="boom")  # its signal went nowhere
    [delivery] = deliveries(job.id)
    options = TimerOptions.from_settings(settings)
    with session_scope() as db:
        assert rearm_notifications(db, redis, options) == 1
    assert redis.zscore(SCHEDULED_SET, notify_job_id(delivery.id, 1)) is not None
    with session_scope() as db:
        assert rearm_notifications(db, redis, options) == 0  # armed already


def test_retention_deletes_old_notifications_that_are_done_with_their_tries(
    alice: ApiUser, receiver: WebhookReceiver
) -> None:
    workflow_id = make_workflow(alice)
    job = make_schedule(alice, workflow_id, notify=[{"on": ["failed"], "webhook": receiver.url}])
    for _ in range(2):
        end(job.id, started_run(job.id, workflow_id), RecordingSignals(), error="boom")
    done, pending = deliveries(job.id)
    deliver(done.id, 1, signals=RecordingSignals())
    with session_scope() as db:
        db.execute(NotificationDelivery.__table__.update().values(created_at=utcnow() - timedelta(days=400)))
        db.commit()
    with session_scope() as db:
        report = retention.sweep(db, now=utcnow(), budget_seconds=5)
    assert report.notifications == 1
    assert [d.id for d in deliveries(job.id)] == [pending.id]  # still being sent: kept
    with session_scope() as db:
        assert db.scalar(select(func.count()).select_from(NotificationAttempt)) == 0
        assert db.get(Schedule, job.id) is not None
