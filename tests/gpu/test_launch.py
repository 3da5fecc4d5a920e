"""Packed kernel launches (gpu/launch.py) on the GPU. Skipped without a CUDA GPU."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gpu import cupy_available

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not cupy_available(), reason="needs CuPy and a CUDA GPU")]

SOURCE = r"""
struct Pair { long long a; float b; float pad[29]; };  // 128 bytes, as PAIR
extern "C" __global__ void fill(float* out, int n, long long base, float v, Pair p) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) out[i] = v + (float)(base + i) + (float)p.a + p.b;
}
"""
PAIR = np.dtype({"names": ["a", "b"], "formats": [np.int64, np.float32], "offsets": [0, 8], "itemsize": 128})


@pytest.fixture
def fill():
    import cupy

    return cupy.RawKernel(SOURCE, "fill")


def pair(a: int, b: float) -> np.void:
    return np.array([(a, b)], dtype=PAIR)[0]


def test_a_launch_passes_every_kind_of_argument_and_takes_changes(fill):
    import cupy

    from gpu.launch import Launch

    out = cupy.zeros(40, cupy.float32)
    launch = Launch(fill, 1, 32, (out, np.int32(40), np.int64(100), np.float32(0.5), pair(1000, 0.25)))
    launch()
    np.testing.assert_array_equal(out.get(), 1100.75 + np.arange(40))
    other = cupy.zeros(40, cupy.float32)
    for i, x in ((0, other), (1, 10), (2, -5), (4, pair(7, 2.0))):
        launch.set(i, x)
    launch()
    np.testing.assert_array_equal(other.get()[:10], 4.5 + np.arange(10))
    assert (other.get()[10:] == 0).all() and (out.get() == 1100.75 + np.arange(40)).all()


def test_a_call_takes_the_varying_arguments_in_order(fill):
    import cupy

    from gpu.launch import Launch

    out = cupy.zeros(8, cupy.float32)
    launch = Launch(fill, 1, 32, (out, np.int32(8), np.int64(0), np.float32(0), pair(0, 0)), varying=(0, 2, 3))
    for base in (10, 20):  # the values of the last call stay packed for arguments it does not change
        launch(out.data.ptr, base, 0.5)
        np.testing.assert_array_equal(out.get(), base + 0.5 + np.arange(8))
    with pytest.raises(TypeError, match="struct"):
        Launch(fill, 1, 32, (out, np.int32(8), np.int64(0), np.float32(0), pair(0, 0)), varying=(4,))


def test_a_launch_keeps_its_arrays_alive(fill):
    """The packed slots hold bare device addresses: an array given only to the launch must not go back to the
    memory pool, where the next allocation of its size would take it and the launch would write into that."""
    import cupy

    from gpu.launch import Launch

    launch = Launch(fill, 1, 32, (cupy.zeros(1024, cupy.float32), np.int32(1024), np.int64(0), np.float32(1),
                                  pair(0, 0)))
    fresh = cupy.zeros(1024, cupy.float32)
    launch()
    assert (fresh.get() == 0).all()
    np.testing.assert_array_equal(launch.args[0].get(), 1 + np.arange(1024))


def test_set_for_makes_an_argument_once_per_key(fill):
    """A corpus's descriptor is made when the corpus changes, not on every search of it."""
    import cupy

    from gpu.launch import Launch

    out = cupy.zeros(4, cupy.float32)
    launch = Launch(fill, 1, 32, (out, np.int32(4), np.int64(0), np.float32(0), pair(0, 0)))
    made = []

    def make(a):
        made.append(a)
        return pair(a, 0)

    for key in ("first", "first", "second", "second", "first"):
        launch.set_for(4, key, lambda key=key: make({"first": 1, "second": 2}[key]))
        launch()
        assert out.get()[0] == {"first": 1, "second": 2}[key]
    assert made == [1, 2, 1]


DEPEND = r"""
extern "C" __global__ void slow_write(float* out, int n, long long spins, int* done) {
    let_next_start();  // its successor may start now
    const long long t0 = clock64();
    while (clock64() - t0 < spins) {}
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) out[i] = i + 1.f;
    __syncthreads();
    if (threadIdx.x == 0) atomicAdd(done, 1);
}
extern "C" __global__ void copy_after(const float* in, float* out, int n, const int* done, int* early) {
    if (threadIdx.x == 0 && blockIdx.x == 0) *early = atomicAdd((int*)done, 0) == 0;  // none had ended yet
    wait_for_previous();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) out[i] = in[i];
}
"""


def test_a_dependent_launch_starts_early_and_waits_where_it_reads():
    """`after=True`: the second kernel begins while the first still runs (Hopper), and sees all of the first's
    writes past wait_for_previous (gpu/depend.cuh); without the wait it would copy zeros."""
    import cupy

    from gpu import launch
    from gpu.launch import Launch

    src = Path(launch.__file__).with_name("depend.cuh").read_text() + DEPEND
    mod = cupy.RawModule(code=src)
    n = 1 << 20
    a, b = cupy.zeros(n, cupy.float32), cupy.zeros(n, cupy.float32)
    done, early = cupy.zeros(1, cupy.int32), cupy.zeros(1, cupy.int32)
    first = Launch(mod.get_function("slow_write"), 8, 256, (a, np.int32(n), np.int64(2_000_000), done))
    second = Launch(mod.get_function("copy_after"), 64, 256, (a, b, np.int32(n), done, early), after=True)
    first()
    second()
    np.testing.assert_array_equal(b.get(), np.arange(1, n + 1, dtype=np.float32))
    if int(cupy.cuda.Device().compute_capability) >= 90:
        assert early.get()[0] == 1, "the dependent launch waited for the whole first kernel"
