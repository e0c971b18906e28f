"""``vtc-dispatch simulate``: the default command, JSON, plots, comparison, log and replay."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sim_scenarios import douala_data

from vtc_dispatch.cli import main
from vtc_dispatch.sim.cli import _Bar
from vtc_dispatch.sim.plots import PLOT_FILES

ROOT = Path(__file__).resolve().parents[2]
SMALL = ["--requests-per-day", "150", "--drivers", "10", "--quiet"]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_no_argument_runs_the_douala_scenario() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vtc_dispatch.cli"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["douala", "(seed", "1)"]
    assert any(line.startswith("served ") and line.endswith("%") for line in lines)
    assert any(line.startswith("douala: ") and "requests/s" in line for line in lines)


def test_json_output_and_seed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    assert main(["simulate", *SMALL, "--seed", "7", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["scenario"] == "douala"
    assert data["seed"] == 7
    assert data["kpis"]["requests"] == sum(data["kpis"]["outcomes"].values())
    assert data["timing"]["wall_s"] > 0
    table = capsys.readouterr().out
    assert f"requests  {data['kpis']['requests']}".split() == next(
        line.split() for line in table.splitlines() if line.startswith("requests ")
    )


def test_compare_runs_two_scenarios_side_by_side(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = douala_data()
    data["name"] = "patient"
    data["customers"]["patience_s"] = 3000
    other = tmp_path / "patient.json"
    other.write_text(json.dumps(data))
    out = tmp_path / "both.json"
    assert main(["simulate", *SMALL, "--compare", str(other), "--json", str(out)]) == 0
    runs = json.loads(out.read_text())["runs"]
    assert [r["scenario"] for r in runs] == ["douala", "patient"]
    # Same seed, same demand: only the customers' patience differs.
    assert runs[0]["kpis"]["requests"] == runs[1]["kpis"]["requests"]
    patient, douala = runs[1]["kpis"], runs[0]["kpis"]
    assert patient["cancellations"]["customer"] < douala["cancellations"]["customer"]
    header = capsys.readouterr().out.splitlines()[0]
    assert "douala (seed 1)" in header
    assert "patient (seed 1)" in header


@pytest.mark.parametrize(
    ("name", "kind"), [("dakar-freight", "freight"), ("dakar-delivery", "delivery")]
)
def test_the_dakar_scenarios_run_by_name(
    name: str, kind: str, capsys: pytest.CaptureFixture[str]
) -> None:
    small = ["--requests-per-day", "30", "--drivers", "6", "--hours", "13", "--quiet"]
    assert main(["simulate", name, *small, "--json", "-"]) == 0
    lines = capsys.readouterr().out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("{"))
    data = json.loads("\n".join(lines[start:]))
    assert (data["scenario"], data["kpis"]["kind"]) == (name, kind)
    assert lines[0].split() == [name, "(seed", "1)"]
    assert lines[1].split() == ["requests", str(data["kpis"]["requests"])]
    assert lines[start - 1].startswith(f"{name}: {data['kpis']['requests']} requests in ")


def test_the_help_lists_the_built_in_scenarios(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")  # argparse wraps its help to the terminal
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "--help"])
    assert exited.value.code == 0
    assert "built-in name (douala, dakar-freight, dakar-delivery)" in capsys.readouterr().out


def test_events_log_then_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "run.jsonl"
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert main(["simulate", *SMALL, "--events-log", str(log), "--json", str(first)]) == 0
    assert main(["simulate", "--replay", str(log), "--quiet", "--json", str(second)]) == 0
    assert "every outcome and the KPIs match the log" in capsys.readouterr().out
    assert json.loads(first.read_text())["kpis"] == json.loads(second.read_text())["kpis"]
    lines = log.read_text().splitlines()
    lines[-1] = lines[-1].replace('"requests":', '"requests":1')  # a forged KPI
    log.write_text("\n".join(lines) + "\n")
    assert main(["simulate", "--replay", str(log), "--quiet"]) == 1
    assert "the replay's KPIs differ from the log's in: requests" in capsys.readouterr().err


@pytest.mark.slow
def test_plots_are_written_as_png(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib", reason="matplotlib comes with the dev and sim extras")
    assert main(["simulate", *SMALL, "--plots", str(tmp_path / "plots")]) == 0
    out = capsys.readouterr().out
    for name in PLOT_FILES:
        path = tmp_path / "plots" / name
        assert path.read_bytes().startswith(PNG), name
        assert path.stat().st_size > 10_000
        assert f"plot: {path}" in out


def test_errors_are_told_with_a_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "nowhere.yaml", "--quiet"]) == 2
    assert "no scenario 'nowhere.yaml'" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    data = douala_data()
    data["demand"]["requests_per_day"] = -1
    bad.write_text(json.dumps(data))
    assert main(["simulate", str(bad), "--quiet"]) == 2
    assert "demand.requests_per_day: Input should be greater than or equal to 0" in (
        capsys.readouterr().err
    )
    assert main(["simulate", "--replay", str(tmp_path / "missing.jsonl"), "--quiet"]) == 2
    assert "missing.jsonl" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        main(["simulate", "douala", "--replay", "x.jsonl"])
    assert exited.value.code == 2


BLOCK_MATPLOTLIB = """
import importlib.abc, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "matplotlib":
            raise ImportError(f"{name} is blocked in this test")
        return None
sys.meta_path.insert(0, Block())
from vtc_dispatch.cli import main
status = main(["simulate", "--requests-per-day", "60", "--drivers", "5", "--quiet"])
assert status == 0, status
status = main(["simulate", "--requests-per-day", "60", "--drivers", "5", "--quiet",
               "--plots", "out"])
assert status == 1, status
assert not [n for n in sys.modules if n.startswith("matplotlib")]
"""


@pytest.mark.slow
def test_the_simulation_runs_without_matplotlib_and_plots_say_so(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", BLOCK_MATPLOTLIB],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "served" in done.stdout
    assert "plots need matplotlib: pip install 'vtc-dispatch[sim]'" in done.stderr
    assert not (tmp_path / "out").exists()


def test_the_progress_bar_follows_simulated_time() -> None:
    stream = io.StringIO()
    bar = _Bar("douala", stream)
    for fraction in (0.0, 0.5, 0.51, 1.0):
        bar(fraction)
    drawn = stream.getvalue()
    assert drawn.count("\r") == 3  # 0.51 is the same fortieth as 0.5: not redrawn
    assert "\rdouala [" + "#" * 20 + "-" * 20 + "]  50%" in drawn
    assert drawn.endswith("\n")


def test_hours_cut_the_demand(tmp_path: Path) -> None:
    out = tmp_path / "run.json"
    args = ["--requests-per-day", "2000", "--drivers", "20", "--hours", "8", "--quiet"]
    assert main(["simulate", *args, "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    asked = [h["requests"] for h in data["hourly"]]
    assert data["kpis"]["requests"] > 50
    assert sum(asked[:8]) == data["kpis"]["requests"]
    assert data["kpis"]["simulated_hours"] >= 8.0
