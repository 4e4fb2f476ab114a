"""Email notifications, written for a person, sent through the operator's SMTP server (RQFLOW_SMTP_URL).

``smtp://`` connects in the clear and switches to TLS when the server offers STARTTLS;
``smtps://`` speaks TLS from the start. A user name and password in the URL log in. The
server is the operator's, not a user's, so it is not behind the egress guard; the
addresses users may write to are (RQFLOW_NOTIFY_EMAIL_ALLOW, checked when a schedule is saved).
"""

from __future__ import annotations

import json
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import unquote, urlsplit

from rqflow.notify.outgoing import Outgoing, SendResult
from rqflow.settings import get_settings

HEADLINES = {
    "succeeded": "succeeded", "failed": "failed", "timeout": "ran past its deadline",
    "budget_exceeded": "stopped at its budget", "missed": "missed occurrences", "auto_paused": "was paused",
    "daily_budget": "daily budget 80 % spent", "test": "test notification",
}
OUTPUT_SHOWN_CHARS = 20_000


def compose(outgoing: Outgoing, *, sender: str) -> EmailMessage:
    """The message: a subject that says what happened, a plain-text body a person reads, a link to the dashboard."""
    payload = outgoing.payload
    message = EmailMessage()
    message["Subject"] = _one_line(f"[rqflow] {_subject_name(payload)}: {HEADLINES.get(outgoing.outcome, outgoing.outcome)}")
    message["From"] = sender
    message["To"] = outgoing.target
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="rqflow")
    message["X-Rqflow-Delivery"] = str(outgoing.delivery_id)
    message.set_content("\n".join(body_lines(outgoing.outcome, payload)) + "\n")
    return message


def body_lines(outcome: str, payload: dict[str, Any]) -> list[str]:
    """The body, line by line: what ran, when, the outcome, the output or the error, and where to look."""
    if outcome == "daily_budget":
        return [f"{payload.get('message', '')}.", "",
                f"User: {payload.get('user')}", f"Day (UTC): {payload.get('day')}",
                f"Spent: ${payload.get('spent_usd', 0):.4f} of ${payload.get('budget_usd', 0):.2f}"]
    schedule = payload.get("schedule", {})
    if outcome == "test":
        return [f"This is {payload.get('message')}.", "", f"Schedule: {schedule.get('name')}",
                f"See it: {schedule.get('url')}"]
    lines = [f"Schedule \"{schedule.get('name')}\" {HEADLINES.get(outcome, outcome)}.", ""]
    if outcome == "auto_paused":
        lines += [f"Why: {payload.get('reason')}", f"Last error: {payload.get('last_error') or '-'}"]
    if outcome == "missed":
        missed = payload.get("missed", {})
        lines += [f"Missed: {missed.get('count')} occurrence(s), {missed.get('first')} to {missed.get('last')}",
                  f"Why: {missed.get('reason') or '-'}"]
    run = payload.get("run")
    if run and outcome != "missed":
        lines += _run_lines(run)
    for part in payload.get("output") or []:
        lines += ["", (f"Output of workflow run {part.get('workflow_run_id')} ({part.get('status')}, "
                      f"last node {part.get('node') or '-'}):"), _shown(part.get("output")),
                  f"See the run: {part.get('url')}"]
    lines += ["", f"Schedule: {schedule.get('url')}"]
    return lines


def _run_lines(run: dict[str, Any]) -> list[str]:
    duration = run.get("duration_seconds")
    lines = [f"Run: {run.get('id')} ({run.get('trigger_kind')}), due {run.get('scheduled_for')}",
             f"Started: {run.get('started_at') or '-'}; ended: {run.get('finished_at') or '-'}"
             + (f" ({duration:.1f} s)" if isinstance(duration, int | float) else ""),
             f"Outcome: {run.get('status')}" + (f" ({run.get('reason')})" if run.get("reason") else "")]
    if run.get("error"):
        lines.append(f"Error: {run['error']}")
    if run.get("total_tokens"):
        lines.append(f"Model calls: {run['total_tokens']:,} tokens, ${run.get('total_cost_usd', 0):.4f}")
    return lines


def _shown(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, default=str, ensure_ascii=False)
    return text if len(text) <= OUTPUT_SHOWN_CHARS else text[:OUTPUT_SHOWN_CHARS] + "\n[... cut; see the run]"


def _subject_name(payload: dict[str, Any]) -> str:
    if "schedule" in payload:
        return str(payload["schedule"].get("name", ""))
    return f"user {payload.get('user', '')}"


def _one_line(text: str) -> str:
    """A header value with no line breaks or other control characters (a name must not add headers)."""
    return "".join(char if char.isprintable() else " " for char in text)[:200]


def send_email(outgoing: Outgoing, *, timeout: float) -> SendResult:
    """Send the notification once through RQFLOW_SMTP_URL."""
    settings = get_settings()
    if settings.smtp_url is None:
        return SendResult(ok=False, error="this server sends no email (RQFLOW_SMTP_URL is not set)", permanent=True)
    message = compose(outgoing, sender=settings.smtp_from)
    try:
        with _connect(settings.smtp_url.get_secret_value(), timeout) as smtp:
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return SendResult(ok=False, error=f"the SMTP server refused {outgoing.target}: {exc.recipients}",
                          permanent=all(code >= 500 for code in codes))
    except (smtplib.SMTPException, OSError) as exc:
        return SendResult(ok=False, error=f"SMTP: {type(exc).__name__}: {exc}")
    return SendResult(ok=True)


def _connect(url: str, timeout: float) -> smtplib.SMTP:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, parts.port or 465, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(host, parts.port or 25, timeout=timeout)
    try:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp
