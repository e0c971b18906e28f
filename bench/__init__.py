"""Benchmarks of vtc_dispatch against the obvious alternatives.

Run a suite from the repository root (with ``src`` on ``PYTHONPATH``)::

    python -m bench geo [--quick] [--json] [--n N] [--seed S]

Each suite builds one random workload from the seed and replays the very
same operations against every implementation it compares: the library and
its peers (R-tree, k-d tree, numpy brute force, Redis GEO...).  A peer whose
package or server is missing is reported as skipped, with the reason.

Without ``--json`` a plain-text table is printed, one row per
(implementation, operation), with the median microseconds per operation and,
on the library's rows, how many times faster it is than each peer.  With
``--json`` exactly one JSON object is written to stdout::

    {"suite": "geo", "params": {...}, "results": [{"impl": ..., "op": ..., "us_per_op": ...}]}

Progress messages go to stderr.  Suites are registered by name in
:data:`bench.__main__.SUITES`.
"""
