"""Ask a rollout's webhooks before the canary's share rises (I/O).

Each webhook gets a POST with a JSON body naming the step, as Flagger's confirm-traffic-increase hooks
do; a 2xx answer approves. Anything else (another status, no answer within ``timeout_seconds``) is asked
again every ``interval_seconds``, until the rollout's progress deadline ends the wait.
"""

from __future__ import annotations

from collections.abc import Callable

from ..model import Confirm, WebhookSpec

Sleep = Callable[[float, str], None]
"""Sleeps the given seconds; ``str`` says what is waited for, should the rollout's deadline end it."""


def confirm(step: Confirm, sleep: Sleep, progress: Callable[[str], None]) -> None:
    """Return once every webhook of ``step`` has approved it (each is asked until it does)."""
    for webhook in step.webhooks:
        while True:
            refusal = ask(webhook, step)
            if refusal is None:
                break
            progress(f"webhook {webhook.name} {refusal}; asking again in {webhook.interval_seconds}s")
            waiting_for = f"webhook {webhook.name} never approved {step.percent}%: it last {refusal}"
            sleep(webhook.interval_seconds, waiting_for)


def ask(webhook: WebhookSpec, step: Confirm) -> str | None:
    """None when ``webhook`` approves ``step``, else what it answered (``answered HTTP 403``)."""
    import httpx2 as httpx

    body = {"phase": "confirm-step", "weight": step.percent, **step.names}
    try:
        response = httpx.post(webhook.url, json=body, timeout=webhook.timeout_seconds)
    except (httpx.HTTPError, OSError) as error:
        return f"did not answer at {webhook.url} ({error or type(error).__name__})"
    if 200 <= response.status_code < 300:
        return None
    return f"answered HTTP {response.status_code}"
