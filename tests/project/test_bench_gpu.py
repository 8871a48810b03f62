"""benchmarks/bench_gpu.py, what benchmarks/gpu_check.sh's bench and each stages run: it times
PyTorch CUDA in the arithmetic minigan's GPU path computes in (full float32, TF32 off: cuDNN's
convolutions use TF32 unless told not to), and it runs through on the GPU path."""

import csv
import re
import types

import pytest


def test_pytorch_is_timed_in_full_float32(benchmark_script):
    bench_gpu = benchmark_script("bench_gpu")
    backends = types.SimpleNamespace(cuda=types.SimpleNamespace(
        matmul=types.SimpleNamespace(allow_tf32=True)), cudnn=types.SimpleNamespace(allow_tf32=True))
    bench_gpu.full_float32(types.SimpleNamespace(backends=backends))
    assert backends.cuda.matmul.allow_tf32 is False and backends.cudnn.allow_tf32 is False


@pytest.mark.gpu
@pytest.mark.slow
def test_the_gpu_benchmark_runs_through(benchmark_script, tmp_path, capsys):
    """One tiny configuration with the plain-formula rows, each kernel its iteration runs
    alone (the others named) and the CSV, on CuPy (or the stand-in): a slip in the script's
    GPU lines (the device's name, the synchronization, the memory pool) shows here, not in
    a GPU session's short loan."""
    bench_gpu = benchmark_script("bench_gpu")
    table = tmp_path / "gpu.csv"
    bench_gpu.main(["--models", "vanilla", "--batches", "8", "--iters", "1", "--rounds", "1",
                    "--warmup", "0", "--no-torch", "--plain", "--plain-each", "--csv", str(table)])
    out = capsys.readouterr().out
    assert "GPU     :" in out and "GPU memory, MB" in out and "saves" in out
    measured = set(re.findall(r"^measured: vanilla 8 (\w+):", out, re.M))   # as they come
    unused = re.search(r"^vanilla 8: not timed, never run by its iteration: (.*)$", out, re.M)
    unused = set(unused.group(1).split(", ")) if unused else set()
    assert measured | unused == set(bench_gpu.kernel_operations()) and not measured & unused
    assert "adam_update" in measured and {"im2col", "col2im"} <= unused   # no convolution
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[0]["model"] == "vanilla" and float(rows[0]["minigan_ms"]) > 0
    assert {row["operation"] for row in rows[1:]} == measured
