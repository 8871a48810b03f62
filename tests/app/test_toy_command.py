"""``minigan toy NAME``: what it prints and writes, over several seeds."""

import json

from minigan.app.cli import main
from minigan.lab import toys


def test_a_seed_without_a_reverse_kl_is_left_out_of_its_summary(tmp_path, monkeypatch, capsys):
    """A seed whose samples are all far from the modes has no reverse KL (None); the summary
    over the seeds averages the others instead of failing after the whole run."""
    kls = iter([0.5, None, 0.25])

    def fake_run(name, iterations, seed, snapshots, opts=None, record_frames=True):
        metrics = {"modes_covered": seed, "high_quality": 0.1 * seed, "reverse_kl": next(kls)}
        return {"metrics": metrics, "frames": [], "real": None, "history": [], "seconds": 0.0,
                "iterations": 10}

    monkeypatch.setattr(toys, "run_gan_toy", fake_run)
    monkeypatch.setattr(toys, "save_pictures", lambda *a, **k: [])
    assert main(["toy", "ring8", "--seeds", "3", "--out", str(tmp_path / "t")]) == 0
    report = json.loads((tmp_path / "t" / "metrics.json").read_text())
    assert report["mean_std"]["reverse_kl"] == [0.375, 0.125]
    assert report["mean_std"]["modes_covered"][0] == 1.0
    assert "modes 1.0" in capsys.readouterr().out
