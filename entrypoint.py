#!/usr/bin/env python3
"""Entry point of the GitHub Action: reads INPUT_* and runs the same pipeline as the CLI."""

from hardening.action import main

if __name__ == "__main__":
    raise SystemExit(main())
