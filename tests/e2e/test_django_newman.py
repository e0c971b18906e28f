"""The Postman collection replayed by newman against the example project under daphne.

newman comes from the npm registry, installed by the test into a cache
folder (``VTC_NPM_CACHE``, default ``~/.cache/vtc-dispatch/npm``) the first
time; node and npm must be on the machine.  Folders 1 to 5 play the
whole ride as a user of the README would (the collection's own checks on
every answer: statuses, shapes, the order's states, the cash payment);
any failed check or request fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from django_example import E2E_DATABASE, PROJECT, example_project
from django_support import services_required

pytestmark = pytest.mark.slow  # a server, newman, and 4 s between GPS positions

POSTMAN = PROJECT / "postman"
NEWMAN_VERSION = "6"


def _npm_cache() -> Path:
    default = Path.home() / ".cache" / "vtc-dispatch" / "npm"
    return Path(os.environ.get("VTC_NPM_CACHE", default))


@pytest.fixture(scope="module")
def newman() -> Path:
    """newman's executable, installed from the npm registry into the cache if missing."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        message = "node and npm are needed to install and run newman"
        if services_required():
            pytest.fail(message)
        pytest.skip(message)
    prefix = _npm_cache()
    executable = prefix / "node_modules" / ".bin" / "newman"
    if not executable.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
             f"newman@{NEWMAN_VERSION}"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return executable


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with example_project(
        tmp_path_factory.mktemp("newman"), f"{E2E_DATABASE}_newman", [], {}, worker=False
    ) as base:
        yield base


def test_newman_plays_the_ride_with_every_check_passing(
    newman: Path, server: str, tmp_path: Path
) -> None:
    collection = json.loads((POSTMAN / "vtc-dispatch.postman_collection.json").read_text())
    folders = [f["name"] for f in collection["item"] if f["name"][0].isdigit()]
    assert len(folders) == 5
    report = tmp_path / "newman.json"
    done = subprocess.run(
        [str(newman), "run", str(POSTMAN / "vtc-dispatch.postman_collection.json"),
         "-e", str(POSTMAN / "local.postman_environment.json"),
         "--env-var", f"base_url={server}",
         *(x for name in folders for x in ("--folder", name)),
         "--reporters", "cli,json", "--reporter-json-export", str(report),
         "--bail", "--color", "off", "--timeout-request", "10000"],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    run = json.loads(report.read_text())["run"]
    assert run["failures"] == []
    stats = run["stats"]
    assert stats["assertions"]["failed"] == 0
    assert stats["requests"]["failed"] == 0
    # Every request of the five folders ran, each with its checks.
    assert stats["requests"]["total"] == sum(
        len(f["item"]) for f in collection["item"] if f["name"] in folders
    )
    assert stats["assertions"]["total"] >= 2 * stats["requests"]["total"]
