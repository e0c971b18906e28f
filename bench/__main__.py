"""Command line: ``python -m bench SUITE [--quick] [--json] [--n N] [--seed S] [suite options]``.

A suite module may define ``add_arguments(group)`` to take options of its
own (``python -m bench quality --scale-demand 5``); their values reach it
in :attr:`Options.args <bench.common.Options.args>`.
"""

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
    "quality": "bench.quality",
    "city": "bench.city",
    "livemap": "bench.livemap",
}
"""Suite name -> module defining ``run(options: Options) -> SuiteReport``.

Modules are imported only when their suite is asked for, so a suite whose
dependencies are missing does not break the others.
"""


def _parser(*, peek: bool = False) -> argparse.ArgumentParser:
    """The common options; ``peek``: only to find the suite among any options (no help, no
    error when the suite is missing)."""
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Benchmarks of vtc_dispatch against its peers.",
        add_help=not peek,
    )
    parser.add_argument(
        "suite",
        nargs="?" if peek else None,
        help=f"the suite to run, one of: {', '.join(sorted(SUITES))}",
    )
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
    common = {action.dest for action in parser._actions}
    # The suite is known first, so that its own options join the parser.
    suite = _parser(peek=True).parse_known_args(argv)[0].suite
    if suite is not None and suite not in SUITES:
        parser.error(f"unknown suite {suite!r}; available suites: {', '.join(sorted(SUITES))}")
    module = None if suite is None else importlib.import_module(SUITES[suite])
    add_arguments: Callable[[argparse._ArgumentGroup], None] | None = getattr(
        module, "add_arguments", None
    )
    if add_arguments is not None:
        add_arguments(parser.add_argument_group(f"options of the {suite} suite"))
    args = parser.parse_args(argv)
    assert module is not None  # parse_args exits without a suite
    if args.n is not None and args.n < 1:
        parser.error(f"--n must be a positive integer, got {args.n}")
    options = Options(
        quick=args.quick,
        json=args.json,
        n=args.n,
        seed=args.seed,
        args={k: v for k, v in vars(args).items() if k not in common},
    )
    run: Callable[[Options], SuiteReport] = module.run
    try:
        report = run(options)
    except UsageError as exc:
        parser.error(str(exc))
    emit(report, as_json=options.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
