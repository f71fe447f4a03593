"""Command-line program ``cooperon`` (also ``python -m cooperon``).

Subcommands
-----------
``compare``
    Direct solution of Eq. (24) against the closed forms at one parameter
    point: a table, and the dataset with ``--output FILE.nc``.
``map``
    The breakdown maps: where the closed form stops being trustworthy
    (parameter sweeps, datasets and figures).
``dephasing``
    τ_φ(T) of a defect ensemble from Eq. (34) and from the direct solution,
    against the paper's asymptotes (44), (50)–(53).
``estimates``
    The numbers of the paper's Sec. III, recomputed.
``magneto``
    The magnetoconductance over temperature and the τ_φ an HLN fit reports.

Exit status: see :data:`EXIT_CODES` (also printed by ``cooperon --help``).
"""

from __future__ import annotations

import argparse
import sys
import textwrap
import time

from . import __version__
from .parameters import NoCutoffError, Parameters

#: Exit status of the program → meaning.
EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "an unexpected error (a bug: a traceback is printed)",
    2: "bad input, an output path that cannot be written, an unusable scheduler or a store "
    "made from another configuration (one line on stderr; nothing computed, nothing written)",
    3: "compare: F(0) = infinity (Q = 0 and no active dephasing channel)",
    130: "interrupted (Ctrl-C); map, dephasing, magneto: finished chunks are kept and a "
    "rerun resumes",
}

#: (flag, field, default, help)
PARAMETER_FLAGS = (
    ("--tau-over-tau1", "tau_over_tau1", 0.0, "r1 = tau/tau_1, resonant channel weight"),
    ("--tau-over-tau3", "tau_over_tau3", 0.1, "r3 = tau/tau_3, relaxation channel weight"),
    ("--E-tau", "E_tau", 0.0, "epsilon = E tau/hbar, TLS level splitting"),
    ("--gamma-tau", "gamma_tau", 0.1, "g = gamma tau/hbar, TLS switching rate"),
    ("--Dq2-tau", "Dq2_tau", 0.02, "Q = D q^2 tau, Cooperon momentum"),
)


def _add_parameter_flags(p: argparse.ArgumentParser) -> None:
    for flag, dest, default, help_ in PARAMETER_FLAGS:
        p.add_argument(
            flag, dest=dest, type=float, default=default, help=f"{help_} (default {default})"
        )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``cooperon`` with its ``compare`` and ``map`` subcommands."""
    epilog = "exit status:\n" + "\n".join(
        textwrap.fill(v, 78, initial_indent=f"  {k:>3}  ", subsequent_indent=" " * 7)
        for k, v in EXIT_CODES.items()
    )
    parser = argparse.ArgumentParser(
        prog="cooperon",
        description=(
            "Time-domain Cooperon equation (24) with dephasing by dynamic defects: direct "
            "solution, closed forms (27), (32), and maps of where the closed form fails."
        ),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"cooperon {__version__}")
    sub = parser.add_subparsers(dest="command")

    pc = sub.add_parser(
        "compare",
        help="compare the direct solution with the closed forms",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_parameter_flags(pc)
    pc.add_argument("--rtol", type=float, default=1e-8, help="relative accuracy of F(0) (1e-8)")
    pc.add_argument("--output", "-o", metavar="FILE.nc", help="write the dataset (NetCDF)")

    pm = sub.add_parser(
        "map",
        help="breakdown maps of the closed form (the main job)",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from .studies import maps

    maps.add_arguments(pm)
    _add_temperature_studies(sub, epilog)
    return parser


def _table(ds) -> str:
    def value(name: str, fmt: str, scale: float = 1.0, unit: str = "") -> str:
        x = float(ds[name])
        return f"{scale * x:{fmt}}{unit}" if x == x else "not computed (see message)"

    rows = [
        ("F(0), Eq. (24) direct", value("F0_direct", ".12g")),
        ("  estimated error", value("F0_direct_error", ".2e")),
        ("F(0), Eq. (32) as printed", value("F0_wkb_eq32", ".12g")),
        ("F(0), Eq. (27) + WKB (31), consistent", value("F0_wkb_eq27", ".12g")),
        ("F(0), local closure (beyond the paper)", value("F0_local_closure", ".12g")),
        ("F(0), ODE (29) solved, no WKB", value("F0_ode", ".12g")),
        ("deviation of (32)", value("dev_eq32", "+.4f", 100, " %")),
        ("deviation of (27)", value("dev_eq27", "+.4f", 100, " %")),
        ("deviation of the local closure", value("dev_local_closure", "+.4f", 100, " %")),
        ("  ODE step (29): F_ODE/F - 1", value("dev_ode_step", "+.4f", 100, " %")),
        ("  WKB step (31): F_27/F_ODE - 1", value("dev_wkb_step", "+.4f", 100, " %")),
        ("lambda_max", value("lambda_max", ".6g")),
        ("converged", "yes" if bool(ds.converged) else "NO"),
    ]
    if ds.message.item():
        rows.append(("message", ds.message.item()))
    width = max(len(r[0]) for r in rows)
    return "\n".join(f"{a.ljust(width)}  {b}" for a, b in rows)


def _run_compare(args) -> int:
    from .studies.comparison import compare
    from .studies.io import check_output_file, write_netcdf

    prog = "cooperon compare"
    try:
        params = Parameters(**{d: getattr(args, d) for _, d, _, _ in PARAMETER_FLAGS})
        if args.output:
            check_output_file(args.output, "--output")
        start = time.perf_counter()
        ds = compare(params, rtol=args.rtol)
    except NoCutoffError as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 3
    except (ValueError, ArithmeticError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - start
    print(" ".join(f"{k}={v:g}" for k, v in params.as_dict().items()))
    print(_table(ds))
    print(f"({elapsed:.2f} s)")
    if args.output:
        try:
            write_netcdf(ds, args.output)
        except (ValueError, OSError) as exc:
            print(f"{prog}: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {args.output}")
    return 0


def _add_temperature_studies(sub, epilog: str) -> None:
    """The subcommands ``dephasing``, ``estimates`` and ``magneto``."""
    from .studies.temperature_config import add_scan_arguments

    common = {"epilog": epilog, "formatter_class": argparse.RawDescriptionHelpFormatter}
    pd = sub.add_parser(
        "dephasing", help="tau_phi(T) of a defect ensemble vs the asymptotes", **common
    )
    add_scan_arguments(
        pd,
        "dephasing",
        "cooperon-dephasing",
        "tau_phi(T) of a defect ensemble from Eq. (34) and from the direct solution of "
        "Eq. (24), against the paper's asymptotes (44), (50)-(53): datasets (Zarr + NetCDF), "
        "a figure, the temperature range of T^1/3.",
    )
    sub.add_parser(
        "estimates",
        help="the numbers of Sec. III recomputed",
        description="tau_Lambda, T_Lambda, T_alpha, T_beta and Eq. (57) from the paper's "
        "Sec. III numbers, each beside the value the paper states.",
        **common,
    )
    pg = sub.add_parser("magneto", help="magnetoconductance over T, and HLN's tau_phi", **common)
    add_scan_arguments(
        pg,
        "magneto",
        "cooperon-magneto",
        "Weak-localisation magnetoconductance of a film with a defect ensemble over "
        "temperature: delta sigma(B) from Eq. (24) and Eq. (32), HLN fits, and tau_phi,HLN(T) "
        "beside tau_phi(T) from Eq. (34) and the direct solution.",
    )


def _run_estimates() -> int:
    from .estimates import format_estimates, sec3_estimates

    print(format_estimates(sec3_estimates()))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 on success)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "compare":
        return _run_compare(args)
    if args.command == "map":
        from .studies import maps

        return maps.run(args)
    if args.command == "dephasing":
        from .studies import dephasing_scan

        return dephasing_scan.run(args)
    if args.command == "estimates":
        return _run_estimates()
    if args.command == "magneto":
        from .studies import magneto_scan

        return magneto_scan.run(args)
    parser.print_help()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
