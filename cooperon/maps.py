"""Breakdown maps (placeholder until the sweep machinery lands)."""

from __future__ import annotations

import argparse


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output-dir", default="cooperon-maps", help="where to write maps")


def run(args) -> int:
    raise SystemExit("cooperon map: not implemented yet")
