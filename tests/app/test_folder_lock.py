"""One writer per run folder: a second train, resume or eval into a folder in use is refused
in one line naming the live process, before it writes anything; a killed run's lock does not
block the next one. Runs not given --out, started in the same second, each take a default
folder of their own."""

import csv
import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from minigan.app import folderlock, runs, trainer
from minigan.app.cli import main


def _args(data, out, *more):
    return ["train", "--split", "test", "--data-dir", str(data), "--no-download", "--device",
            "cpu", "--quiet", "--model", "vanilla", "--batch-size", "1", "--out", str(out), *more]


def _wait_for_rows(run, rows, proc, timeout=60):
    path = Path(run) / "metrics.csv"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if path.exists() and path.read_text().count("\n") > rows:
            return
        time.sleep(0.01)
    raise AssertionError(f"no {rows} rows in {path}")


def test_a_second_lock_on_a_folder_is_refused_naming_the_holder(tmp_path):
    folder = tmp_path / "run"
    with folderlock.FolderLock(folder, "first") as first:
        assert folder.is_dir() and first.path.is_file()
        with pytest.raises(folderlock.FolderInUse, match=rf"in use by minigan process {os.getpid()}"):
            folderlock.FolderLock(folder, "second").acquire()
        with pytest.raises(folderlock.FolderInUse):
            folderlock.check_not_in_use(folder)
    assert not folder.exists()           # made by the lock, and nothing was written: removed
    folder.mkdir()
    (folder / "kept.txt").write_text("x")
    with folderlock.FolderLock(folder):
        pass
    assert (folder / "kept.txt").exists() and not (folder / folderlock.LOCK_FILE).exists()
    folderlock.check_not_in_use(folder)  # free again


def test_a_refusal_in_the_instant_before_the_holder_writes_still_names_it(tmp_path):
    """The holder writes who it is just after it takes the lock; a refusal read in between
    waits for that line, and settles for "another minigan process" if it never comes."""
    path = tmp_path / folderlock.LOCK_FILE
    path.write_text("")
    writer = threading.Timer(0.05, path.write_text, [json.dumps({"pid": 4321, "host": "h"})])
    writer.start()
    try:
        assert folderlock._holder(path, wait=30).startswith("minigan process 4321 on h")
    finally:
        writer.join()
    path.write_text("")
    assert folderlock._holder(path, wait=0.05) == "another minigan process"


def test_a_lock_file_left_behind_blocks_nothing(tmp_path):
    """What a killed process leaves: the file, with its pid, but no lock held on it."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / folderlock.LOCK_FILE).write_text('{"pid": 999999, "command": "minigan train"}')
    folderlock.check_not_in_use(folder)
    with folderlock.FolderLock(folder):
        pass


@pytest.mark.parametrize("kind", ["symlink", "hardlink", "fifo"])
def test_a_lock_file_that_would_write_elsewhere_is_refused(tmp_path, kind):
    """The lock writes who holds it into .minigan.lock: a link there would send that write
    into a file outside the folder (a shared run folder could overwrite any file)."""
    folder, victim = tmp_path / "run", tmp_path / "victim.txt"
    folder.mkdir()
    victim.write_text("keep me")
    lock = folder / folderlock.LOCK_FILE
    if kind == "symlink":
        lock.symlink_to(victim)
    elif kind == "hardlink":
        os.link(victim, lock)
    else:
        os.mkfifo(lock)
    with pytest.raises(ValueError, match="nothing was written"):
        folderlock.FolderLock(folder, "sample").acquire()
    assert victim.read_text() == "keep me"


def test_sample_into_a_folder_whose_lock_is_a_link_writes_nothing_outside(train_args, data_dir,
                                                                          tmp_path, capsys):
    run, victim = tmp_path / "run", tmp_path / "victim.txt"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    victim.write_text("keep me")
    (run / folderlock.LOCK_FILE).symlink_to(victim)
    capsys.readouterr()
    assert main(["sample", str(run), "--seed", "1", "--device", "cpu"]) == 2
    assert "is a link" in capsys.readouterr().err
    assert victim.read_text() == "keep me"


def test_train_into_a_folder_in_use_is_refused_before_writing(train_args, data_dir, tmp_path,
                                                               capsys, assert_one_line_error):
    out = tmp_path / "run"
    with folderlock.FolderLock(out, "someone"):
        before = sorted(p.name for p in out.iterdir())
        assert main(train_args(data_dir, out, "--epochs", "1")) == 2
        assert_one_line_error(2, capsys.readouterr().err, f"{out} is in use by minigan process",
                              str(os.getpid()), "wait for it to end, or write elsewhere (--out "
                                                "in another folder)")
        assert sorted(p.name for p in out.iterdir()) == before


#: The time of day every run of the tests below starts at, to the second.
STAMP = "20261207-094627"


@pytest.fixture
def same_second(tmp_path, monkeypatch):
    """Runs not given --out start in ``tmp_path`` at the same second: their default folder
    is ``runs/vanilla-STAMP``, the path this returns (relative to ``tmp_path``)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(runs.time, "strftime", lambda fmt, *when: STAMP)
    return Path("runs") / f"vanilla-{STAMP}"


def _options(data, **more):
    """A quick vanilla run's settings as ``minigan train`` gives them, without ``--out``."""
    return {"model": "vanilla", "split": "test", "data_dir": str(data), "download": False,
            "device": "cpu", "quiet": True, "batch_size": 32, "epochs": 1, **more}


def _trained(folder):
    config = json.loads((folder / "config.json").read_text())
    return (folder / "checkpoint.npz").is_file() and Path(config["out"]) == folder


def test_runs_not_given_out_in_the_same_second_take_folders_of_their_own(data_dir, same_second,
                                                                          train_args, capsys):
    """Both find the stamped name free before either makes it (started together): the one
    that makes it first trains there, the other in the next name; one started after them
    takes the next free name at once; a run given --out of one of them is still refused."""
    base = same_second
    first, second = (trainer.Trainer(_options(data_dir, seed=seed)) for seed in (1, 2))
    assert first.out == second.out == base
    first.run()
    second.run()
    third = train_args(data_dir, "unused", "--epochs", "1")
    del third[third.index("--out"):third.index("--out") + 2]
    assert main(third) == 0
    named = [base, base.with_name(base.name + "-2"), base.with_name(base.name + "-3")]
    assert (first.out, second.out) == tuple(named[:2])
    assert all(_trained(folder) for folder in named)
    assert sorted(Path("runs").iterdir()) == named
    capsys.readouterr()
    assert main(train_args(data_dir, named[1], "--epochs", "1")) == 2
    assert f"--out {named[1]} already holds a run" in capsys.readouterr().err


def test_a_default_folder_another_process_holds_is_left_to_it(data_dir, same_second):
    """The stamped folder made and locked by another process between the run's checks and
    its start (the race of two runs started together): the run goes on in the next name and
    writes nothing into the other's folder."""
    run = trainer.Trainer(_options(data_dir))
    with folderlock.FolderLock(same_second, "another run"):
        run.run()
        assert [p.name for p in same_second.iterdir()] == [folderlock.LOCK_FILE]
    assert run.out == same_second.with_name(same_second.name + "-2") and _trained(run.out)
    assert not same_second.exists()              # the other's, made by its lock and empty


def test_a_folder_given_with_out_and_held_meanwhile_is_still_refused(data_dir, tmp_path):
    out = tmp_path / "named"
    run = trainer.Trainer(_options(data_dir, out=str(out)))
    with folderlock.FolderLock(out, "another run"):
        with pytest.raises(folderlock.FolderInUse, match=f"{out} is in use by minigan"):
            run.run()
        assert [p.name for p in out.iterdir()] == [folderlock.LOCK_FILE]
    assert run.out == out and not out.exists()


def test_a_new_folder_is_taken_only_by_the_lock_that_makes_it(tmp_path):
    folder = tmp_path / "runs" / "new"
    lock = folderlock.FolderLock(folder)
    lock.acquire(new=True)
    assert lock.created and lock.held
    lock.release()
    folder.mkdir()
    with pytest.raises(FileExistsError):
        folderlock.FolderLock(folder).acquire(new=True)
    assert list(folder.iterdir()) == []


def test_a_run_folder_removed_while_it_trains_ends_in_one_line(train_args, data_dir, tmp_path,
                                                               monkeypatch, capsys):
    """The run folder removed by hand while the run trains: the run stops with the line that
    says what it could not write (exit code 1), not with the error of letting its lock go
    (the lock's release looked into the folder it had made, gone: "[Errno 2]", exit code 2)."""
    run = tmp_path / "run"
    real = trainer.Trainer._save_samples

    def removed_before_epoch_2(self):
        if self.epoch == 2:
            shutil.rmtree(run)
        return real(self)

    monkeypatch.setattr(trainer.Trainer, "_save_samples", removed_before_epoch_2)
    rc = main(train_args(data_dir, run, "--epochs", "2"))
    err = capsys.readouterr().err
    assert rc == 1 and err.count("\n") == 1, err
    assert f"cannot write {run / 'samples' / 'epoch_0002.png'}: No such file or directory" in err


@pytest.mark.slow
def test_a_second_run_or_resume_of_a_live_run_is_refused(start_cli, write_tiny_mnist, tmp_path):
    data = write_tiny_mnist(tmp_path / "mnist", n=2000, seed=2)
    run = tmp_path / "run"
    first = start_cli(*_args(data, run, "--epochs", "1", "--seed", "0"))
    _wait_for_rows(run, 5, first)
    for argv in (_args(data, run, "--epochs", "1", "--seed", "7", "--lr", "0.0005"),
                 ["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                  "--data-dir", str(data), "--no-download"]):
        second = start_cli(*argv)
        out, err = second.communicate(timeout=120)
        assert second.returncode == 2, err
        assert err.count("\n") == 1 and f"is in use by minigan process {first.pid}" in err, err
    first.send_signal(signal.SIGTERM)             # a SIGTERM saves, then exits 143
    first.communicate(timeout=120)
    assert first.returncode == 143
    with open(run / "metrics.csv", newline="") as f:
        its = [int(r["iteration"]) for r in csv.DictReader(f)]
    assert its == list(range(1, len(its) + 1))    # one writer: every iteration once


@pytest.mark.slow
def test_runs_started_together_on_one_folder_leave_one_run(start_cli, write_tiny_mnist,
                                                           tmp_path):
    data = write_tiny_mnist(tmp_path / "mnist", n=600, seed=3)
    run = tmp_path / "run"
    procs = [start_cli(*_args(data, run, "--epochs", "1", "--seed", str(seed)))
             for seed in (0, 7)]
    results = [(p.wait(timeout=300), p.communicate()[1]) for p in procs]
    codes = sorted(rc for rc, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, err in results if rc == 2)
    assert "is in use by" in loser or "already holds a run" in loser, loser
    with open(run / "metrics.csv", newline="") as f:
        its = [int(r["iteration"]) for r in csv.DictReader(f)]
    assert its == list(range(1, 601))


@pytest.mark.slow
def test_a_run_killed_with_sigkill_resumes(start_cli, write_tiny_mnist, tmp_path):
    """The lock of a process killed with SIGKILL is gone with it; its file stays behind."""
    data = write_tiny_mnist(tmp_path / "mnist", n=300, seed=4)
    run = tmp_path / "run"
    assert main(_args(data, run, "--epochs", "1")) == 0
    proc = start_cli("train", "--resume", str(run), "--epochs", "3", "--quiet", "--device",
                     "cpu", "--data-dir", str(data), "--no-download")
    _wait_for_rows(run, 310, proc)
    with proc:                              # its pipes closed at the end of the block
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    assert (run / folderlock.LOCK_FILE).exists()
    assert main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
                 "--data-dir", str(data), "--no-download"]) == 0


def test_a_lock_whose_note_cannot_be_written_is_let_go(tmp_path, monkeypatch):
    """A full disk while the lock notes who holds it: the error, and neither the lock nor its
    file left behind (a second try in the same process is not 'in use')."""
    folder = tmp_path / "run"
    real_write = os.write

    def full(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(folderlock.os, "write", full)
    with pytest.raises(OSError, match="No space left"):
        folderlock.FolderLock(folder, "train").acquire()
    monkeypatch.setattr(folderlock.os, "write", real_write)
    assert not (folder / folderlock.LOCK_FILE).exists()
    with folderlock.FolderLock(folder, "train") as lock:
        assert lock.path.is_file()


def test_a_lock_file_left_unwritable_by_a_killed_run_is_removed(tmp_path, monkeypatch):
    """A killed run's lock file owned by another user, or read-only: nobody holds it, so it is
    removed and the lock taken (a held one would be 'in use')."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / folderlock.LOCK_FILE).write_text('{"pid": 1}')
    real_open, refused = folderlock._open_lock_file, []

    def unwritable(path, flags):
        if not refused and os.path.exists(path):      # as for a file root does not own
            refused.append(path)
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags)

    monkeypatch.setattr(folderlock, "_open_lock_file", unwritable)
    with folderlock.FolderLock(folder, "train") as lock:
        assert refused and json.loads(lock.path.read_text())["pid"] == os.getpid()
    refused.clear()
    with folderlock.FolderLock(folder, "first"):      # held: the unwritable file is not stale
        with pytest.raises(folderlock.FolderInUse):
            with folderlock.FolderLock(folder, "second"):
                pass


def test_a_file_system_without_locks_goes_on_with_a_warning(tmp_path, monkeypatch):
    import errno

    def no_locks(fd, op):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(folderlock.fcntl, "flock", no_locks)
    folder = tmp_path / "run"
    with pytest.warns(UserWarning, match="cannot lock .* going on without the lock"):
        folderlock.FolderLock(folder, "train").acquire()
    assert not (folder / folderlock.LOCK_FILE).exists()


def test_eval_refuses_a_linked_lock_before_it_scores(train_args, data_dir, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    (run / folderlock.LOCK_FILE).symlink_to(tmp_path / "elsewhere")
    capsys.readouterr()
    assert main(["eval", str(run), "--data-dir", str(data_dir), "--device", "cpu", "--n", "500",
                 "--no-parzen"]) == 2
    out, err = capsys.readouterr()
    assert "is a link" in err and "FID" not in out and not (run / "eval.json").exists()
    (run / folderlock.LOCK_FILE).unlink()
    (run / folderlock.LOCK_FILE).mkdir()
    assert main(["sample", str(run), "--seed", "1", "--device", "cpu"]) == 2
    assert "is a folder where minigan writes its lock" in capsys.readouterr().err


def test_eval_holds_the_run_folder_while_it_scores(train_args, data_dir, tmp_path, capsys,
                                                  monkeypatch):
    """A training started in the run folder while eval scored took the folder, and eval's
    report was refused after its minutes of work: eval holds the lock from its start, so the
    training is the one refused, naming eval; the lock is let go when eval ends."""
    from minigan.app import commands
    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    refusals, real = [], commands.evaluate_checkpoint

    def scoring_while_a_training_starts(*args, **kwargs):
        with pytest.raises(folderlock.FolderInUse) as refused:
            folderlock.check_not_in_use(run)          # what `minigan train --resume` asks
        refusals.append(str(refused.value))
        return real(*args, **kwargs)

    monkeypatch.setattr(commands, "evaluate_checkpoint", scoring_while_a_training_starts)
    capsys.readouterr()
    assert main(["eval", str(run), "--data-dir", str(data_dir), "--device", "cpu", "--n", "500",
                 "--no-parzen"]) == 0
    assert len(refusals) == 1 and "in use by minigan process" in refusals[0]
    assert (run / "eval.json").is_file() and (run / "eval_classes.png").is_file()
    assert not (run / folderlock.LOCK_FILE).exists()
    folderlock.check_not_in_use(run)                  # free again


def test_a_stale_lock_replaced_meanwhile_is_not_removed(tmp_path, monkeypatch):
    """Between opening the unwritable stale file and locking it, another process removed it
    and took the folder with a new lock file: that one stays, and this command is refused."""
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / folderlock.LOCK_FILE).write_text('{"pid": 1}')
    real_open, real_flock, state = folderlock._open_lock_file, folderlock.fcntl.flock, {}

    def unwritable_once(path, flags):
        if "refused" not in state:
            state["refused"] = True
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, flags)

    def flock(fd, op):           # the first lock after the refusal: the stale file's
        if "refused" in state and "other" not in state:
            os.unlink(folder / folderlock.LOCK_FILE)          # the other process, meanwhile
            state["other"] = folderlock.FolderLock(folder, "other")
            state["other"].acquire()
        return real_flock(fd, op)

    monkeypatch.setattr(folderlock, "_open_lock_file", unwritable_once)
    monkeypatch.setattr(folderlock.fcntl, "flock", flock)
    with pytest.raises(folderlock.FolderInUse):
        folderlock.FolderLock(folder, "train").acquire()
    assert json.loads((folder / folderlock.LOCK_FILE).read_text())["pid"] == os.getpid()
    assert state["other"]._fd is not None                     # still held by the other
    state["other"].release()


def test_a_resume_in_place_that_cannot_write_its_lock_says_so_of_the_run_folder(
        train_args, data_dir, tmp_path, monkeypatch, capsys, assert_one_line_error):
    """`train --resume RUN` on a full disk said "cannot create --out RUN ...; choose another
    --out", of a folder that exists and an --out never given."""
    import errno

    run = tmp_path / "run"
    assert main(train_args(data_dir, run, "--epochs", "1")) == 0
    capsys.readouterr()

    def full(self, new=False):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(trainer.FolderLock, "acquire", full)
    rc = main(["train", "--resume", str(run), "--epochs", "2", "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err,
                          f"cannot write in the run folder {run} (its lock file .minigan.lock): "
                          "No space left on device; free some space")
    rc = main(train_args(data_dir, tmp_path / "new", "--epochs", "1"))
    assert_one_line_error(rc, capsys.readouterr().err, "cannot create --out", "choose another --out")
