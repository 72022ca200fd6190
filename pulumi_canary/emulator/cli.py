"""``python -m pulumi_canary.emulator``: run the MSE emulator until SIGINT or SIGTERM.

Prints exactly one line on stdout once it accepts requests::

    MSE emulator listening on http://127.0.0.1:PORT

Credentials come from ``--access-key-id``/``--access-key-secret``, else from
``ALIBABA_CLOUD_ACCESS_KEY_ID``/``ALIBABA_CLOUD_ACCESS_KEY_SECRET``, else the well-known emulator pair
(:data:`~pulumi_canary.emulator.server.DEFAULT_ACCESS_KEY_ID`). Secrets are never printed.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from types import FrameType
from typing import Any

from pulumi_canary.emulator.endpoints import WatchedEndpoints
from pulumi_canary.emulator.server import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, EmulatorServer

__all__ = ["build_parser", "main"]

ENV_ACCESS_KEY_ID = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pulumi_canary.emulator",
        description="Emulate the Alibaba Cloud MSE cloud-native gateway API (2019-05-31) on loopback.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one (default 0)")
    parser.add_argument("--access-key-id", help=f"accepted AccessKeyId (default: ${ENV_ACCESS_KEY_ID})")
    parser.add_argument("--access-key-secret", help=f"its secret (default: ${ENV_ACCESS_KEY_SECRET})")
    parser.add_argument("--seed-gateway", metavar="GATEWAY_UNIQUE_ID", help="create this gateway at start")
    parser.add_argument("--gateway-name", default="", help="name of the seeded gateway (default: its id)")
    parser.add_argument("--region", default="cn-hangzhou", help="region of the seeded gateway")
    parser.add_argument(
        "--kubeconfig",
        help="read Services and ready Pods from this cluster; with --seed-gateway it is also added "
        "as the gateway's K8S service source",
    )
    parser.add_argument("--context", help="kubeconfig context to use (default: the current one)")
    parser.add_argument(
        "--cluster-id", default="c-emulator", help="cluster id (service source Address) of --kubeconfig"
    )
    return parser


def credentials_from(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, str]:
    """The one AccessKeyId/secret pair to accept; a half-given pair is an error."""
    access_key_id = args.access_key_id or environ.get(ENV_ACCESS_KEY_ID)
    secret = args.access_key_secret or environ.get(ENV_ACCESS_KEY_SECRET)
    if bool(access_key_id) != bool(secret):
        raise ValueError("give both an access key id and its secret, or neither")
    if not access_key_id or not secret:
        return {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}
    return {access_key_id: secret}


def build_server(args: argparse.Namespace, environ: Mapping[str, str]) -> EmulatorServer:
    endpoints = None
    if args.kubeconfig:
        endpoints = WatchedEndpoints(args.kubeconfig, context=args.context)
        endpoints.start()
    server = EmulatorServer(
        host=args.host, port=args.port, credentials=credentials_from(args, environ), endpoints=endpoints
    )
    if args.seed_gateway:
        server.seed_gateway(args.seed_gateway, name=args.gateway_name, region=args.region)
        if args.kubeconfig:
            server.seed_service_source(args.seed_gateway, args.cluster_id)
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator in the foreground; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        server = build_server(args, os.environ)
    except Exception as error:
        print(f"mse emulator: cannot start: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()
    previous = _install_stop_handlers(stop)
    try:
        server.start()
    except OSError as error:
        _restore_handlers(previous)
        print(f"mse emulator: cannot listen on {args.host}:{args.port}: {error}", file=sys.stderr)
        return 2
    try:
        print(f"MSE emulator listening on {server.url}", flush=True)
        stop.wait()
    finally:
        server.stop()
        _restore_handlers(previous)
    return 0


_SignalHandler = Callable[[int, FrameType | None], Any] | int | None


def _install_stop_handlers(stop: threading.Event) -> dict[signal.Signals, _SignalHandler]:
    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, _SignalHandler] = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, request_stop)
    return previous


def _restore_handlers(previous: Mapping[signal.Signals, _SignalHandler]) -> None:
    for signum, handler in previous.items():
        # None means the handler was not installed from Python; the default is the closest match.
        signal.signal(signum, signal.SIG_DFL if handler is None else handler)
