"""The ``pulumi-canary`` command.

- ``pulumi-canary emulator ...``: run the local MSE OpenAPI emulator.
- ``pulumi-canary preview-report [FILE]``: Markdown summary of ``pulumi preview --json`` (file or stdin).
- ``pulumi-canary status --state FILE``: live versions, weights and ready endpoints of the policies in a
  stack (``pulumi stack export`` output); ``--json`` for machines, ``--watch`` to refresh.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["emulator"]:
        from .emulator.cli import main as emulator_main

        return emulator_main(args[1:])
    parsed = parser().parse_args(args)
    try:
        return int(parsed.run(parsed))
    except (OSError, ValueError) as error:
        print(f"pulumi-canary: {error}", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="pulumi-canary", description="Canary releases as code.")
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("emulator", help="run the local MSE OpenAPI emulator (see: emulator --help)")
    report = commands.add_parser("preview-report", help="Markdown summary of `pulumi preview --json`")
    report.add_argument("file", nargs="?", default="-", help="the JSON file, or - for stdin (default)")
    report.add_argument("-o", "--output", help="write the Markdown here instead of stdout")
    report.set_defaults(run=run_preview_report)
    status = commands.add_parser("status", help="live state of the canary policies of a stack")
    status.add_argument("--state", required=True, help="`pulumi stack export` output (file, or - for stdin)")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--watch", type=float, metavar="SECONDS", help="refresh every SECONDS until Ctrl-C")
    status.set_defaults(run=run_status)
    return root


def read_json(source: str) -> Any:
    text = sys.stdin.read() if source == "-" else Path(source).read_text()
    return json.loads(text)


def run_preview_report(args: argparse.Namespace) -> int:
    from .reporting.preview import render

    markdown = render(read_json(args.file))
    if args.output:
        Path(args.output).write_text(markdown)
    else:
        sys.stdout.write(markdown)
    return 0


def run_status(args: argparse.Namespace) -> int:
    from .reporting.status import as_json, table
    from .usecases.status import stack_status

    state = read_json(args.state)
    while True:
        rows = stack_status(state, {})  # credentials from the environment, as for any CLI
        sys.stdout.write(as_json(rows) if args.json else table(rows))
        sys.stdout.flush()
        if not args.watch:
            return 0
        time.sleep(args.watch)
        if not args.json:
            sys.stdout.write("\n")


if __name__ == "__main__":
    sys.exit(main())
