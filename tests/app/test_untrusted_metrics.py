"""metrics.csv is read back with care: a torn last line is repaired, anything else that is
not a metrics row (a gap, NaN, NUL, an empty value, an endless field) is refused in one line
naming the file and the line, before the run trains."""

import csv

import pytest

from minigan.app.cli import main
from minigan.app.runlog import METRICS_COLUMNS, MetricsLog


@pytest.fixture
def run_dir(train_args, data_dir, tmp_path):
    out = tmp_path / "run"
    assert main(train_args(data_dir, out, "--epochs", "1")) == 0
    return out


def _edit(path, line, column, value):
    lines = path.read_text().split("\n")
    cells = lines[line - 1].split(",")
    cells[column] = value
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines))


@pytest.mark.parametrize("line, column, value, words", [
    (4, 0, "7", "iteration 7 where 3 should follow"),          # a gap
    (3, 2, "", "not a number"),                                 # an empty d_loss
    (3, 6, "nan", "not finite"),                                # NaN in a column not plotted
    (3, 7, "1\0", "not a number"),                              # NUL in the penalty
    (3, 8, "1\0", "not a number"),                              # and in the seconds
    (3, 5, "x" * 140_000, "field larger than field limit"),     # an endless field
    (2, 1, "0", "epoch below 1"),
])
@pytest.mark.slow
def test_a_damaged_metrics_file_is_refused_before_training(line, column, value, words, run_dir,
                                                           data_dir, capsys,
                                                           assert_one_line_error):
    path = run_dir / "metrics.csv"
    _edit(path, line, column, value)
    before = path.read_bytes()
    rc = main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err, f"{path}, line {line}", words)
    assert path.read_bytes() == before


def test_a_metrics_file_from_before_the_penalty_column_resumes(run_dir, data_dir):
    """A run written before ``metrics.csv`` had its ``penalty`` column goes on: its rows keep
    their numbers with the penalty blank (not known), the new rows have it, the file its new
    header; a blank penalty reads back, a penalty that is not a number is refused."""
    path = run_dir / "metrics.csv"
    lines = path.read_text().splitlines()
    at = lines[0].split(",").index("penalty")
    old = [",".join(c for i, c in enumerate(line.split(",")) if i != at) for line in lines]
    path.write_text("\n".join(old) + "\n")
    assert main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet", "--device",
                 "cpu", "--data-dir", str(data_dir), "--no-download"]) == 0
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    assert path.read_text().splitlines()[0] == ",".join(METRICS_COLUMNS)
    assert [r["penalty"] for r in rows] == [""] * 8 + ["0.0"] * 8
    header = old[0].split(",")
    assert [{k: r[k] for k in header} for r in rows[:8]] == [
        dict(zip(header, line.split(","), strict=True)) for line in old[1:]]
    assert len(MetricsLog(path, upto=16).rows) == 16            # the blanks read back
    _edit(path, 3, at, "abc")
    with pytest.raises(ValueError, match="line 3: not a metrics row"):
        MetricsLog(path, upto=16)
    _edit(path, 3, at, "0.0")
    _edit(path, 4, lines[0].split(",").index("seconds"), "-7")      # the training time so far
    with pytest.raises(ValueError, match=r"line 4: not a metrics row \(seconds -7, a time below 0"):
        MetricsLog(path, upto=16)


def _resume(run_dir, data_dir, *more):
    return main(["train", "--resume", str(run_dir), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data_dir), "--no-download", *more])


def test_a_metrics_file_larger_than_a_run_writes_is_refused_unread(run_dir, data_dir, capsys,
                                                                   assert_one_line_error,
                                                                   monkeypatch):
    """The read is bounded by what the run can have written (a sparse file of gigabytes
    would otherwise be read whole): refused naming the file, nothing written."""
    from minigan.app import runlog
    monkeypatch.setattr(runlog, "ROWS_AFTER", 10)       # the bound, small enough to pass
    path = run_dir / "metrics.csv"
    with open(path, "r+b") as f:
        f.truncate(runlog.ROW_BYTES * (8 + 10) + 1)     # 8 iterations to the checkpoint
    before = path.stat().st_size
    assert_one_line_error(_resume(run_dir, data_dir), capsys.readouterr().err, str(path),
                          "more than the")
    assert path.stat().st_size == before


@pytest.mark.parametrize("name", ["metrics.csv", "scores.csv", "config.json"])
def test_a_fifo_in_place_of_a_run_file_is_refused_not_waited_on(name, run_dir, data_dir, capsys):
    """A FIFO would block the read for ever; it is refused (or, for config.json, whose
    recorded data folder eval only consults, passed over)."""
    import os
    path = run_dir / name
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    if name == "config.json":
        from minigan.app import runs
        assert runs._recorded_data_dir(run_dir) is None
        with pytest.raises(ValueError, match="not a regular file"):
            runs.read_config(run_dir)
        return
    rc = _resume(run_dir, data_dir, *(["--eval-every", "1"] if name == "scores.csv" else []))
    err = capsys.readouterr().err
    assert rc == 2 and "not a regular file" in err and str(path) in err, err


@pytest.mark.parametrize("edit, words", [
    ("1,8,9.1,abc,10,0.9,0.8,0.7,0.6,0.5,0.4", "line 2: not a scores row"),
    ("one,8,9.1,2.0,10,0.9,0.8,0.7,0.6,0.5,0.4", "line 2: not a scores row"),
    ("1,8,9.1,\0,10,0.9,0.8,0.7,0.6,0.5,0.4", "line 2: not a scores row"),
    ("1,8,9.1,2.0,10,0.9,0.8,0.7,0.6,0.5,0.4,7", "line 2: not a scores row (more values"),
    ("1,8,9.1,2.0,10\n2,16,9.1,2.0,10,0.9,0.8,0.7,0.6,0.5,0.4", "line 2: not a scores row"),
    ("1,8,9.1,-5,10,0.9,0.8,0.7,0.6,0.5,0.4", "line 2: not a scores row (fid -5, below any the "
                                              "lab gives)"),
    ("1,8,0.5,2.0,10,0.9,0.8,0.7,0.6,0.5,0.4", "not a scores row (inception_score 0.5, below"),
])
@pytest.mark.slow
def test_a_damaged_scores_file_is_refused_before_training(edit, words, run_dir, data_dir, capsys,
                                                          assert_one_line_error):
    """Read when the run starts, not when the first evaluation draws it an epoch later (which
    lost that epoch on every try)."""
    from minigan.app.runlog import SCORE_COLUMNS
    path = run_dir / "scores.csv"
    path.write_text(",".join(SCORE_COLUMNS) + "\n" + edit + "\n")
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    assert_one_line_error(_resume(run_dir, data_dir, "--eval-every", "1"),
                          capsys.readouterr().err, str(path), words)
    assert {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()} == before


def test_a_metrics_file_saved_with_windows_line_endings_resumes(run_dir, data_dir, metrics_rows):
    """An editor's CRLF and byte-order mark are read through, and the file written back plain."""
    path = run_dir / "metrics.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes().replace(b"\n", b"\r\n"))
    assert _resume(run_dir, data_dir) == 0
    text = path.read_bytes()
    assert b"\r" not in text and not text.startswith(b"\xef\xbb\xbf")
    assert [int(r["iteration"]) for r in metrics_rows(run_dir)] == list(range(1, 17))


def test_a_stray_quote_in_the_scores_loses_no_row(run_dir, data_dir, capsys,
                                                  assert_one_line_error):
    """scores.csv is rewritten whole, so no line of it is ever torn: a short row is refused,
    never dropped (a stray quote folds the rows after it into one)."""
    from minigan.app.runlog import SCORE_COLUMNS
    path = run_dir / "scores.csv"
    path.write_text(",".join(SCORE_COLUMNS) + "\n" + '1,8,"9.1,2.0,10,0.9,0.8,0.7,0.6,0.5\n'
                    + "2,16,9.1,2.0,10,0.9,0.8,0.7,0.6,0.5\n")
    before = path.read_bytes()
    assert_one_line_error(_resume(run_dir, data_dir, "--eval-every", "1"),
                          capsys.readouterr().err, str(path), "not a scores row")
    assert path.read_bytes() == before
