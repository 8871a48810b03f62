"""benchmarks/quality_per_minute.py on runs the command line trained."""

import pytest

from minigan.app.cli import main


@pytest.fixture
def quality_per_minute(benchmark_script):
    return benchmark_script("quality_per_minute")


@pytest.mark.slow
def test_the_plot_reads_each_score_at_its_training_time(quality_per_minute, train_args,
                                                        data_dir, tmp_path, capsys):
    """Each row of scores.csv at the training time of its iteration in metrics.csv. The
    script read metrics.csv as a resume of a checkpoint at iteration 10^12 would, which
    asked for 5·10^14 bytes of memory and then refused every run as cut short."""
    runs = []
    for name, more in (("a", ()), ("b", ("--lr", "1e-3"))):
        runs.append(tmp_path / name)
        assert main(train_args(data_dir, runs[-1], "--epochs", "2", "--eval-every", "1",
                               "--eval-n", "40", *more)) == 0
    config, rows = quality_per_minute.read_run(runs[0])
    assert config["eval_n"] == 40
    assert [(int(r["epoch"]), r["iteration"]) for r in rows] == [(1, 8), (2, 16)]
    assert 0 < rows[0]["minutes"] < rows[1]["minutes"]
    capsys.readouterr()
    out = tmp_path / "plot.png"
    quality_per_minute.main([f"{runs[0]}=first", str(runs[1]), "--data-dir", str(data_dir),
                             "--out", str(out)])
    printed = capsys.readouterr().out
    assert "real row of 40 held-out digits" in printed and out.stat().st_size > 10_000
    assert sum(line.startswith(("first ", "b ")) for line in printed.splitlines()) == 4
    (runs[1] / "scores.csv").write_text("epoch,iteration,inception_score,fid\n")
    with pytest.raises(SystemExit, match="no scores.csv rows"):
        quality_per_minute.read_run(runs[1])
