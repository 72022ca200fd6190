"""A load generator that records every request: which version answered, and which requests failed.

A run is bounded in count and in time, both required: it ends at whichever comes first (or at
``stop()``). Requests go out from a few threads, each with its own HTTP client, optionally paced to a
target rate. Each request becomes a :class:`Record` and, with ``out``, one JSON line of a file::

    {"t": 0.125, "status": 200, "version": "v2", "pod": "demo-v2-abcde", "latency_ms": 1.9, "error": null}

``status`` is 0 when no answer came (connection refused or reset, timeout); ``version`` and ``pod`` are
the ``X-Version`` and ``X-Pod`` headers the rig's backends send. A short timeout makes a dead backend
a failed request, not a hang.

As a library, next to ``pulumi up``::

    with LoadRun(url, requests=5000, seconds=60, rate=100) as load:
        stack.up()
    print(load.summary().format())

As a command: ``python -m rig.load URL --requests N --seconds S [--rate R] [--header K:V] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

__all__ = ["LoadRun", "Record", "Summary", "read_records"]

DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT_SECONDS = 2.0
NO_VERSION = "(none)"


@dataclass(frozen=True)
class Record:
    """One request: when it was sent (seconds since the run started) and what came back."""

    t: float
    status: int
    version: str | None
    pod: str | None
    latency_ms: float
    error: str | None

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 500

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, line: str) -> Record:
        return cls(**json.loads(line))


def read_records(path: Path) -> list[Record]:
    """The records of a run's JSON-lines file."""
    return [Record.from_json(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass(frozen=True)
class Summary:
    """Counts over a run's records: per version (the ``X-Version`` header), and failures
    (no answer, or a status of 500 and above). Requests answered without a version count under
    ``(none)``."""

    total: int
    errors: int
    by_version: dict[str, int]
    errors_by_version: dict[str, int]

    @classmethod
    def of(cls, records: Iterable[Record]) -> Summary:
        listed = list(records)
        return cls(
            total=len(listed),
            errors=sum(record.failed for record in listed),
            by_version=dict(sorted(Counter(_version_key(record) for record in listed).items())),
            errors_by_version=dict(
                sorted(Counter(_version_key(record) for record in listed if record.failed).items())
            ),
        )

    @property
    def served(self) -> dict[str, int]:
        """Requests each version answered without failing (answers with no version left out)."""
        answered = {
            version: count - self.errors_by_version.get(version, 0)
            for version, count in self.by_version.items()
        }
        return {version: count for version, count in answered.items() if version != NO_VERSION and count > 0}

    @property
    def share_percent(self) -> dict[str, float]:
        """Each version's share of all requests, in percent."""
        return {version: 100.0 * count / self.total for version, count in self.by_version.items()}

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "share_percent": self.share_percent}

    def format(self) -> str:
        error_share = 100.0 * self.errors / self.total if self.total else 0.0
        lines = [f"{self.total} requests, {self.errors} errors ({error_share:.1f}%)"]
        width = max((len(version) for version in self.by_version), default=0)
        for version, count in self.by_version.items():
            failed = self.errors_by_version.get(version, 0)
            lines.append(
                f"  {version:<{width}} {count:>7} {self.share_percent[version]:6.1f}%  ({failed} errors)"
            )
        return "\n".join(lines)


def _version_key(record: Record) -> str:
    return record.version if record.version is not None else NO_VERSION


class LoadRun:
    """Requests to ``url`` from ``concurrency`` threads until ``requests`` were sent or ``seconds``
    passed (or ``stop()``), at ``rate`` requests per second overall if given, else as fast as answers
    come. Every request is kept in :attr:`records` and, with ``out``, written as a JSON line."""

    def __init__(
        self,
        url: str,
        *,
        requests: int,
        seconds: float,
        rate: float | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        headers: Mapping[str, str] | None = None,
        out: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        method: str = "GET",
    ) -> None:
        if requests < 1 or seconds <= 0 or concurrency < 1 or (rate is not None and rate <= 0):
            raise ValueError("requests, seconds, concurrency and rate must be positive")
        self.url, self.method = url, method
        self.requests, self.seconds, self.rate = requests, seconds, rate
        self.concurrency, self.timeout = concurrency, timeout
        self.headers = dict(headers or {})
        self.out = out
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._records: list[Record] = []
        self._issued = 0
        self._started_at = 0.0
        self._threads: list[threading.Thread] = []
        self._file: IO[str] | None = None
        self._failure: BaseException | None = None

    def __enter__(self) -> LoadRun:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> LoadRun:
        """Start the threads and return at once."""
        if self._threads:
            raise RuntimeError("a LoadRun starts once")
        self._file = self.out.open("w") if self.out is not None else None
        # Clients are made before the clock starts: making one takes a good part of a second.
        clients = self._make_clients()
        self._started_at = time.monotonic()
        self._threads = [
            threading.Thread(target=self._work, args=(client,), name=f"load-{index}", daemon=True)
            for index, client in enumerate(clients)
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> Summary:
        """Send no more requests, wait for those in flight (at most ``timeout``), and summarize."""
        self._stopping.set()
        return self.wait()

    def wait(self, timeout: float | None = None) -> Summary:
        """Wait until the run reaches its bound (or ``timeout`` passes), then summarize."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self.done:
            self._close_file()
        if self._failure is not None:
            raise RuntimeError("a load thread failed") from self._failure
        return self.summary()

    def run(self) -> Summary:
        """Start and wait for the bound: the blocking form."""
        return self.start().wait()

    @property
    def done(self) -> bool:
        return bool(self._threads) and not any(thread.is_alive() for thread in self._threads)

    @property
    def records(self) -> list[Record]:
        """The requests answered (or failed) so far, in the order they finished."""
        with self._lock:
            return list(self._records)

    def summary(self) -> Summary:
        return Summary.of(self.records)

    # ---- the threads -------------------------------------------------------------------------------

    def _make_clients(self) -> list[Any]:
        import ssl

        import httpx2

        # One client per thread (no pool shared across threads), one TLS context for all of them.
        # trust_env=False: requests go to pod IPs or a local gateway, never through a proxy.
        tls = ssl.create_default_context()
        return [
            httpx2.Client(timeout=self.timeout, headers=self.headers, trust_env=False, verify=tls)
            for _ in range(self.concurrency)
        ]

    def _work(self, client: Any) -> None:
        try:
            with client:
                while (turn := self._await_turn()) is not None:
                    self._keep(self._send(client, turn))
        except BaseException as failure:  # surfaced by wait(): a lost thread would lose requests silently
            self._failure = failure
            self._stopping.set()

    def _await_turn(self) -> float | None:
        """Take the next request's turn and sleep until it is due; answer the time it is sent at, or
        None when the run is over."""
        with self._lock:
            if self._stopping.is_set() or self._issued >= self.requests:
                return None
            ticket = self._issued
            self._issued += 1
        deadline = self._started_at + self.seconds
        due = self._started_at + ticket / self.rate if self.rate else time.monotonic()
        if due >= deadline or self._stopping.wait(max(0.0, due - time.monotonic())):
            return None
        now = time.monotonic()
        return now if now < deadline else None

    def _send(self, client: Any, sent: float) -> Record:
        import httpx2

        t = sent - self._started_at
        try:
            response = client.request(self.method, self.url)
        except httpx2.TransportError as error:  # refused, reset, timed out: no answer
            return Record(t, 0, None, None, _milliseconds_since(sent), f"{type(error).__name__}: {error}")
        headers = response.headers
        return Record(t, response.status_code, headers.get("X-Version"), headers.get("X-Pod"),
                      _milliseconds_since(sent), None)

    def _keep(self, record: Record) -> None:
        with self._lock:
            self._records.append(record)
            if self._file is not None:
                self._file.write(record.to_json() + "\n")

    def _close_file(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def _milliseconds_since(start: float) -> float:
    return round((time.monotonic() - start) * 1000.0, 3)


def parse_header(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip():
        raise argparse.ArgumentTypeError(f"a header is NAME:VALUE, not {text!r}")
    return name.strip(), value.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Send bounded load to a URL; count answers per version.")
    parser.add_argument("url")
    parser.add_argument("--requests", type=int, required=True, help="at most this many requests")
    parser.add_argument("--seconds", type=float, required=True, help="for at most this long")
    parser.add_argument("--rate", type=float, help="requests per second overall (default: unpaced)")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_SECONDS, help="per request")
    parser.add_argument("--header", type=parse_header, action="append", default=[], metavar="NAME:VALUE")
    parser.add_argument("--out", type=Path, help="write every request as a JSON line here")
    args = parser.parse_args(argv)
    load = LoadRun(
        args.url, requests=args.requests, seconds=args.seconds, rate=args.rate,
        concurrency=args.concurrency, headers=dict(args.header), out=args.out, timeout=args.timeout,
    )
    started = time.monotonic()
    try:
        summary = load.run()
    except KeyboardInterrupt:
        summary = load.stop()
    print(f"{summary.format()}\n({time.monotonic() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
