"""Packed kernel launches (gpu/launch.py) on the GPU. Skipped without a CUDA GPU."""
from __future__ import annotations

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
