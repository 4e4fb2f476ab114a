"""What a notification looks like on the wire: the webhook's signature and body, the email a person reads,
and the one-line notation of an entry."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from rqflow.notify.email import compose
from rqflow.notify.outgoing import Outgoing
from rqflow.notify.webhook import body_of, signature, verify
from rqflow.schemas.notify import NotifyEntry, notify_line, parse_notify_line
from rqflow.services.schedule_rules import email_allowed

SECRET = "whsec_test"


def outgoing(outcome: str = "failed", payload: dict[str, Any] | None = None, channel: str = "webhook") -> Outgoing:
    payload = payload or {
        "outcome": outcome, "schedule": {"id": "s1", "name": "nightly report", "url": "https://r.example/ui/schedules/s1"},
        "run": {"id": 9, "status": "failed", "reason": "", "trigger_kind": "schedule",
                "scheduled_for": "2026-12-07T09:00:00+00:00", "started_at": "2026-12-07T09:00:01+00:00",
                "finished_at": "2026-12-07T09:00:04+00:00", "duration_seconds": 3.0, "error": "HTTP 502",
                "total_tokens": 1234, "total_cost_usd": 0.0123},
        "output": [{"workflow_run_id": 4, "status": "failed", "node": "fetch", "output": {"rows": 3},
                    "url": "https://r.example/ui/runs/4"}]}
    return Outgoing(delivery_id=17, attempt=1, channel=channel, target="ops@example.com", outcome=outcome,
                    payload=payload, secret=SECRET)


def test_the_signature_covers_the_timestamp_and_the_exact_body() -> None:
    body = body_of(outgoing())
    headers = {"X-Rqflow-Timestamp": "1765000000", "X-Rqflow-Signature": "sha256=" + signature(SECRET, "1765000000",
                                                                                             body)}
    assert verify(SECRET, headers, body, now=1765000010)
    assert not verify(SECRET, headers, body + b" ", now=1765000010)  # another body
    assert not verify("whsec_other", headers, body, now=1765000010)  # another secret
    assert not verify(SECRET, {**headers, "X-Rqflow-Timestamp": "1765000001"}, body, now=1765000010)  # replayed
    assert not verify(SECRET, headers, body, now=1765000000 + 301)  # too old
    assert json.loads(body)["delivery_id"] == 17


def test_an_email_says_what_ran_when_how_it_ended_its_output_and_where_to_look() -> None:
    message = compose(outgoing(channel="email"), sender="rqflow@example.org")
    assert message["Subject"] == "[rqflow] nightly report: failed"
    text = message.get_content()
    for expected in ("Schedule \"nightly report\" failed.", "due 2026-12-07T09:00:00+00:00", "(3.0 s)",
                     "Error: HTTP 502", "1,234 tokens, $0.0123", '"rows": 3', "https://r.example/ui/runs/4",
                     "https://r.example/ui/schedules/s1"):
        assert expected in text, expected


def test_a_name_cannot_add_headers_to_an_email() -> None:
    payload = {**outgoing().payload, "schedule": {"name": "x\r\nBcc: victim@example.com", "url": "u"}}
    message = compose(outgoing(payload=payload), sender="rqflow@example.org")
    assert message["Bcc"] is None and "\n" not in message["Subject"]


def test_the_daily_budget_email_names_the_day_and_the_spending() -> None:
    payload = {"outcome": "daily_budget", "user": "alice", "day": "2026-12-07", "spent_usd": 8.5,
               "budget_usd": 10.0, "message": "85% of today's budget for model calls is spent (UTC day)"}
    text = compose(outgoing("daily_budget", payload), sender="rqflow@example.org").get_content()
    assert "Spent: $8.5000 of $10.00" in text and "2026-12-07" in text


@pytest.mark.parametrize("line", ["failed,timeout https://hooks.example.com/x", "succeeded ops@example.com"])
def test_a_line_reads_back_as_written(line: str) -> None:
    assert notify_line(parse_notify_line(line)) == line


@pytest.mark.parametrize(("line", "problem"), [
    ("https://hooks.example.com/x", "write the outcomes"),
    ("failed", "write the outcomes"),
    ("exploded https://hooks.example.com/x", "on.0"),
    ("failed not-an-address", "email"),
])
def test_a_bad_line_says_what_is_wrong(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        parse_notify_line(line)


def test_failed_covers_every_failed_run_but_not_the_other_outcomes() -> None:
    entry = NotifyEntry.model_validate({"on": ["failed"], "webhook": "https://hooks.example.com/x"})
    assert [entry.wants(o) for o in ("failed", "timeout", "budget_exceeded", "succeeded", "missed")] == [
        True, True, True, False, False]


def test_the_operators_email_list_takes_domains_and_addresses() -> None:
    allowed = ["example.com", "boss@partner.example"]
    assert email_allowed("Ops@Example.com", allowed) and email_allowed("boss@partner.example", allowed)
    assert not email_allowed("other@partner.example", allowed) and not email_allowed("x@evil.example", allowed)
    assert email_allowed("anyone@anywhere.example", [])


def test_the_readmes_receiver_snippet_accepts_rqflows_signature_and_only_it() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    snippet = re.search(r"```python\n(import hashlib.*?)```", readme, re.DOTALL)
    assert snippet is not None, "the README's webhook receiver snippet is gone"
    namespace: dict[str, Any] = {}
    exec(snippet.group(1), namespace)  # noqa: S102 (the README's own code, as a receiver would paste it)
    body, stamp = body_of(outgoing()), str(int(time.time()))
    headers = {"X-Rqflow-Timestamp": stamp, "X-Rqflow-Signature": "sha256=" + signature(SECRET, stamp, body)}
    assert namespace["verified"](SECRET, headers, body)
    assert not namespace["verified"](SECRET, headers, body + b"x")


def test_a_test_notification_says_so_and_where_the_schedule_is() -> None:
    payload = {"outcome": "test", "schedule": {"name": "nightly", "url": "https://r.example/ui/schedules/s1"},
               "message": "a test notification from rqflow: this target receives the schedule's notifications"}
    message = compose(outgoing("test", payload), sender="rqflow@example.org")
    assert message["Subject"] == "[rqflow] nightly: test notification"
    assert "This is a test notification from rqflow" in message.get_content()
    assert "https://r.example/ui/schedules/s1" in message.get_content()
