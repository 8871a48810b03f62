"""A run's config.json is read back as the command line is: every setting checked, and an
error names the file and the setting, before anything is written."""

import json

import pytest

from minigan.app.cli import main


@pytest.fixture
def stopped_run(train_args, data_dir, tmp_path, monkeypatch):
    """A run folder that holds only its config.json: stopped before its first checkpoint."""
    from minigan.app import trainer

    run = tmp_path / "run"

    def stop_at_once(self, stop):
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(trainer.Trainer, "_train_epoch", stop_at_once)
        assert main(train_args(data_dir, run, "--epochs", "1")) == 130
    assert (run / "config.json").is_file() and not (run / "checkpoint.npz").exists()
    return run


@pytest.mark.parametrize("key, value", [
    ("dtype", "int8"), ("split", "validation"), ("data_dir", 123), ("batch_size", "abc"),
    ("epochs", "x"), ("epochs", -1), ("conditional", "false"), ("spectral_norm", "false"),
    ("model", ["vanilla"]), ("betas", []), ("files", {"test": None}), ("lr", True),
    ("files", {"test": {"images": ["./../../x.gz", None], "labels": ["l", None]}}),
])
def test_a_hand_edited_config_json_is_checked(key, value, stopped_run, data_dir, capsys,
                                              assert_one_line_error):
    path = stopped_run / "config.json"
    config = json.loads(path.read_text())
    config[key] = value
    config.get("asked", {}).pop(key, None)
    path.write_text(json.dumps(config))
    before = {p.name: p.read_bytes() for p in stopped_run.rglob("*") if p.is_file()}
    rc = main(["train", "--resume", str(stopped_run), "--quiet", "--device", "cpu",
               "--data-dir", str(data_dir), "--no-download"])
    assert_one_line_error(rc, capsys.readouterr().err, str(path), f'"{key}"')
    assert {p.name: p.read_bytes() for p in stopped_run.rglob("*") if p.is_file()} == before


def test_a_config_json_nested_deep_or_cut_short_is_one_line(stopped_run, data_dir, capsys,
                                                            assert_one_line_error):
    path = stopped_run / "config.json"
    for text in ("[" * 100_000 + "]" * 100_000, path.read_text()[:40]):
        path.write_text(text)
        rc = main(["train", "--resume", str(stopped_run), "--quiet", "--device", "cpu",
                   "--data-dir", str(data_dir), "--no-download"])
        assert_one_line_error(rc, capsys.readouterr().err, str(path))
