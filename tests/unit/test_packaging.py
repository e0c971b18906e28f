"""What ships: the wheel's contents, its metadata, and a core free of adapter dependencies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from vtc_dispatch.sim.scenario import BUILTIN_SCENARIOS

ROOT = Path(__file__).resolve().parents[2]
ADAPTER_DEPENDENCIES = ("redis", "django", "channels", "celery", "rest_framework")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(ROOT),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("vtc_dispatch-*.whl")
    return zipfile.ZipFile(built)


def _expected_files() -> set[str]:
    expected = {
        str(p.relative_to(ROOT / "src"))
        for p in (ROOT / "src" / "vtc_dispatch").rglob("*")
        if p.suffix in {".py", ".typed"} and "__pycache__" not in p.parts
    }
    for package in (ROOT / "adapters").iterdir():
        if (package / "__init__.py").exists():
            expected |= {
                str(p.relative_to(ROOT / "adapters"))
                for p in package.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
            }
    return expected


@pytest.mark.slow
def test_wheel_holds_the_core_and_every_adapter_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = _expected_files() - names
    assert not missing, f"not in the wheel: {sorted(missing)}"
    assert "vtc_dispatch/py.typed" in names
    for scenario in BUILTIN_SCENARIOS:  # loadable by name once installed
        assert f"vtc_dispatch/sim/scenarios/{scenario}.yaml" in names
    strays = [n for n in names if n.startswith(("tests/", "bench/", "src/", "adapters/", "README"))]
    assert strays == []


@pytest.mark.slow
def test_wheel_metadata_declares_python_and_extras(wheel: zipfile.ZipFile) -> None:
    meta_name = next(n for n in wheel.namelist() if n.endswith(".dist-info/METADATA"))
    meta = wheel.read(meta_name).decode()
    assert "Requires-Python: >=3.11" in meta
    for extra in ("redis", "django", "sim", "matching", "dev"):
        assert f"Provides-Extra: {extra}" in meta
    entry_points = wheel.read(meta_name.replace("METADATA", "entry_points.txt")).decode()
    assert "vtc-dispatch = vtc_dispatch.cli:main" in entry_points


BLOCKER = f"""
import importlib.abc, pkgutil, sys
BLOCKED = {ADAPTER_DEPENDENCIES!r}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is blocked in this test")
        return None
for name in list(sys.modules):
    if name.split(".")[0] in BLOCKED:
        del sys.modules[name]
sys.meta_path.insert(0, Block())
import vtc_dispatch
for info in pkgutil.walk_packages(vtc_dispatch.__path__, "vtc_dispatch."):
    __import__(info.name)
loaded = sorted(n for n in sys.modules if n.split(".")[0] in BLOCKED)
assert not loaded, loaded
print(len([n for n in sys.modules if n.startswith("vtc_dispatch")]))
"""


def test_core_imports_without_any_adapter_dependency() -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) >= 5  # the package and its modules really were imported


def _loaded_after_import(module: str) -> set[str]:
    """The top-level packages and ``vtc_dispatch`` modules a fresh interpreter holds
    after ``import module``: this process has long imported everything."""
    probe = (
        f"import sys\nimport {module}\n"
        "for name in sys.modules:\n"
        "    print(name if name.startswith('vtc_dispatch') else name.split('.')[0])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stdout.split())
    assert module in loaded  # the probe really imported what it names
    return loaded


def test_geometry_loads_neither_pydantic_nor_the_service() -> None:
    heavy = {"pydantic", "vtc_dispatch.service", "vtc_dispatch.order"}
    assert _loaded_after_import("vtc_dispatch.geo").isdisjoint(heavy)


@pytest.mark.parametrize(
    "module", ["vtc_dispatch.pricing", "vtc_dispatch.fsm", "vtc_dispatch.pool"]
)
def test_domain_packages_load_no_adapter_dependency(module: str) -> None:
    forbidden = {*ADAPTER_DEPENDENCIES, "vtc_dispatch.service"}
    assert _loaded_after_import(module).isdisjoint(forbidden)
