"""The ``pulumi-canary`` command: ``pulumi-canary emulator ...`` (more subcommands join later)."""

from __future__ import annotations

import sys

USAGE = """usage: pulumi-canary COMMAND [ARGS]

commands:
  emulator   run the local MSE OpenAPI emulator (pulumi-canary emulator --help)
"""


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE, end="")
        return 0
    command, rest = args[0], args[1:]
    if command == "emulator":
        from .emulator.cli import main as emulator_main

        return emulator_main(rest)
    print(f"pulumi-canary: unknown command {command!r}\n{USAGE}", file=sys.stderr, end="")
    return 2


if __name__ == "__main__":
    sys.exit(main())
