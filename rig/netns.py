"""Run a command inside a private network namespace, where the pod network is local.

kwok gives pods addresses from 10.244.0.0/16 and the API server refuses loopback endpoints, so the
traffic tests need those addresses to be real, listenable addresses. A network namespace made for the
run (``unshare --net``) has only its own loopback device: inside it, 10.244.0.0/16 is added to ``lo``.
The host's own addresses and routes are never touched: ``ip`` only ever runs inside the new namespace,
and it refuses to when it finds itself in the namespace it started from.

Usage: ``python -m rig.netns CMD [ARGS...]``. Inside, ``PULUMI_CANARY_NETNS=1`` is set; run again from
inside, it simply runs CMD. Every step is an ``exec``, so CMD keeps the process id, receives Ctrl-C and
its exit code is ours. Needs root, ``unshare`` (util-linux) and ``ip`` (iproute2); stdlib only, and it
may run as a script (the second stage does).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

MARKER = "PULUMI_CANARY_NETNS"
POD_NETWORK = "10.244.0.0/16"
PREREQUISITE_EXIT = 2
# Internal: the second stage, run by ``unshare`` inside the new namespace.
INSIDE_FLAG = "--inside-new-namespace"
# The namespace the first stage ran in, so the second can prove it is somewhere else.
ORIGIN_VARIABLE = "PULUMI_CANARY_NETNS_ORIGIN"
CANNOT = "[rig] cannot make the private network namespace the traffic tests need"
CAP_SYS_ADMIN = 21


def in_private_namespace() -> bool:
    """True inside a namespace this module made (the traffic tests need one)."""
    return os.environ.get(MARKER) == "1"


def current_namespace() -> str:
    return os.readlink("/proc/self/ns/net")


def missing_prerequisite() -> str | None:
    """Why no namespace can be made here, or None when everything needed is present."""
    uid = os.geteuid()
    if uid != 0:
        return f"not root (uid {uid}); run as root"
    if not has_capability(CAP_SYS_ADMIN):
        # uid 0 in an unprivileged container: unshare(2) would fail with a bare EPERM.
        return "no CAP_SYS_ADMIN (root in an unprivileged container?); run with that capability"
    for command, package in (("unshare", "util-linux"), ("ip", "iproute2")):
        if shutil.which(command) is None:
            return f"no '{command}' on PATH ({package})"
    return None


def has_capability(bit: int) -> bool:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> bit & 1)
    return True  # no capability line to judge by: let unshare itself say


def exec_command(command: Sequence[str]) -> NoReturn:
    try:
        os.execvp(command[0], list(command))
    except OSError as error:
        raise SystemExit(f"[rig] cannot run {command[0]}: {error}") from error


def enter_new_namespace(command: Sequence[str]) -> NoReturn:
    # Without --fork, unshare execs its program in the same process: no parent is left to forward
    # signals, and the exit code is the command's own.
    os.environ[ORIGIN_VARIABLE] = current_namespace()
    stage_two = [sys.executable, str(Path(__file__).resolve()), INSIDE_FLAG, *command]
    exec_command(["unshare", "--net", "--", *stage_two])


def ip(*args: str) -> str:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{CANNOT}: ip {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout


def routes_off_loopback() -> list[dict[str, Any]]:
    """Routes of any table and family that use a device other than ``lo``: none in a private namespace."""
    routes: list[dict[str, Any]] = []
    for family in ("-4", "-6"):
        routes += json.loads(ip("-json", family, "route", "show", "table", "all") or "[]")
    return [route for route in routes if route.get("dev") != "lo"]


def prepare_namespace() -> None:
    """Bring up ``lo`` and give it the pod network, after proving this is not the starting namespace."""
    origin = os.environ.pop(ORIGIN_VARIABLE, None)
    if origin is None or origin == current_namespace():
        raise SystemExit(f"{CANNOT}: not in a new network namespace; refusing to change this one")
    ip("link", "set", "lo", "up")
    ip("addr", "add", POD_NETWORK, "dev", "lo")
    stray = routes_off_loopback()
    if stray:
        raise SystemExit(f"{CANNOT}: the new namespace has routes off loopback: {stray}")
    os.environ[MARKER] = "1"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    inside = bool(args) and args[0] == INSIDE_FLAG
    command = args[1:] if inside else args
    if not command:
        print("usage: python -m rig.netns CMD [ARGS...]", file=sys.stderr)
        return PREREQUISITE_EXIT
    if inside:
        prepare_namespace()
        exec_command(command)
    if in_private_namespace():
        exec_command(command)
    problem = missing_prerequisite()
    if problem is not None:
        print(f"{CANNOT}: {problem}", file=sys.stderr)
        return PREREQUISITE_EXIT
    enter_new_namespace(command)


if __name__ == "__main__":
    sys.exit(main())
