"""benchmarks/bench_gpu.py times PyTorch CUDA in the arithmetic minigan's GPU path computes in:
full float32, TF32 off (cuDNN's convolutions use TF32 unless told not to)."""

import importlib.util
import sys
import types


def test_pytorch_is_timed_in_full_float32(root, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))          # the script adds its folders
    monkeypatch.setitem(sys.modules, "bench_cpu", None)       # and imports this one: fresh
    del sys.modules["bench_cpu"]
    spec = importlib.util.spec_from_file_location("bench_gpu_under_test",
                                                  root / "benchmarks" / "bench_gpu.py")
    bench_gpu = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_gpu)
    backends = types.SimpleNamespace(cuda=types.SimpleNamespace(
        matmul=types.SimpleNamespace(allow_tf32=True)), cudnn=types.SimpleNamespace(allow_tf32=True))
    bench_gpu.full_float32(types.SimpleNamespace(backends=backends))
    assert backends.cuda.matmul.allow_tf32 is False and backends.cudnn.allow_tf32 is False
