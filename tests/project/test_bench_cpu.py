"""benchmarks/bench_cpu.py's pieces that run without PyTorch."""

import numpy as np
import pytest

from minigan.gan import models


@pytest.fixture
def bench_cpu(benchmark_script):
    return benchmark_script("bench_cpu")


@pytest.mark.parametrize("name", sorted(models.MODELS))
def test_products_take_each_dense_layer_at_its_own_input(bench_cpu, name):
    """``--products`` times each Dense layer's products at the input it takes in training:
    ``[h, c]`` where the default's G joins its group to a layer (it fed ``h`` and stopped
    with a shape error)."""
    spec = models.MODELS[name]
    G, D = bench_cpu.build_models(spec, np.random.default_rng(0), np)
    dense = list(bench_cpu.dense_inputs(np, spec, G, D))
    if name.startswith("mlp") or name == "vanilla":
        assert dense                                          # their players are Dense only
    for layer, shape in dense:
        assert shape == (spec.batch_size, layer.params["W"].shape[0])
