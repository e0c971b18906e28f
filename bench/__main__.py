"""Command line: ``python -m bench SUITE [--quick] [--json] [--n N] [--seed S]``."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from bench.common import Options, SuiteReport, UsageError, emit

SUITES: dict[str, str] = {
    "geo": "bench.geo",
    "pricing": "bench.pricing",
    "service": "bench.service",
    "pool": "bench.pool",
    "redis": "bench.redis_dispatch",
    "sim": "bench.sim",
}
"""Suite name -> module defining ``run(options: Options) -> SuiteReport``.

Modules are imported only when their suite is asked for, so a suite whose
dependencies are missing does not break the others.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of vtc_dispatch against its peers.",
    )
    parser.add_argument("suite", help=f"the suite to run, one of: {', '.join(sorted(SUITES))}")
    parser.add_argument(
        "--quick", action="store_true", help="smaller workload, for a fast check (< 30 s)"
    )
    parser.add_argument(
        "--json", action="store_true", help="print exactly one JSON object on stdout"
    )
    parser.add_argument("--n", type=int, default=None, help="workload size (suite-specific)")
    parser.add_argument("--seed", type=int, default=Options.seed, help="random seed")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one suite and print its report; argparse errors exit with status 2."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.suite not in SUITES:
        parser.error(f"unknown suite {args.suite!r}; available suites: {', '.join(sorted(SUITES))}")
    if args.n is not None and args.n < 1:
        parser.error(f"--n must be a positive integer, got {args.n}")
    options = Options(quick=args.quick, json=args.json, n=args.n, seed=args.seed)
    module = importlib.import_module(SUITES[args.suite])
    run: Callable[[Options], SuiteReport] = module.run
    try:
        report = run(options)
    except UsageError as exc:
        parser.error(str(exc))
    emit(report, as_json=options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
