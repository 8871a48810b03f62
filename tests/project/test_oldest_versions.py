"""``.ci/oldest.txt``, the versions ``.ci/run`` tests as the oldest ``setup.cfg`` allows, is
``setup.cfg``'s lower bounds: a bound raised in one and not the other fails here."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def lower_bounds():
    """``{name: version}`` of each ``name>=version`` of install_requires and the test extra."""
    cfg = configparser.ConfigParser(interpolation=None)
    cfg.read(ROOT / "setup.cfg")
    lines = (cfg["options"]["install_requires"] + cfg["options.extras_require"]["test"]).split()
    return dict(re.fullmatch(r"([\w.-]+)>=([\d.]+)", line).groups() for line in lines)


def pinned():
    """``[(name, version)]`` of each line of ``.ci/oldest.txt`` (a name may come once per
    Python, with a marker)."""
    lines = (ROOT / ".ci" / "oldest.txt").read_text().splitlines()
    return [re.fullmatch(r"([\w.-]+)==([\d.]+)(; .+)?", line).groups()[:2]
            for line in lines if line and not line.startswith("#")]


def test_the_oldest_versions_tested_are_setup_cfgs_lower_bounds():
    bounds, pins = lower_bounds(), pinned()
    assert {name for name, _ in pins} == set(bounds)
    for name, version in pins:          # numpy 1.23.2 for numpy>=1.23: its oldest 3.11 wheel
        bound = bounds[name].split(".")
        assert version.split(".")[:len(bound)] == bound, (name, version, bounds[name])
