"""``python -m pulumi_canary.emulator``: see :mod:`pulumi_canary.emulator.cli`."""

from __future__ import annotations

if __name__ == "__main__":
    import sys

    from pulumi_canary.emulator.cli import main

    sys.exit(main(sys.argv[1:]))
