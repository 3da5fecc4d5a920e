"""Kernel launches whose arguments are packed once, for the small calls where host time is most of the call.

CuPy's `RawKernel.__call__` converts every argument on every launch, which costs more host time than a
small top-k spends on the GPU; the driver's cuLaunchKernel on a packed argument array costs much less. A
`Launch` holds the C values of a kernel's arguments and the array of their addresses that cuLaunchKernel
reads. The arguments that change on every call (query, corpus and output addresses, sizes) are named when
the Launch is made (`varying`) and given to the call as plain ints and floats, device pointers as
`array.data.ptr` (changing them through `set`, one call each, would cost as much as CuPy's own call);
`set` is for the rare change of anything else. cuLaunchKernel copies the values when
it is called, so a Launch can be changed and launched again at once. A Launch belongs to one thread
(cupy_backend keeps them with its per-thread scratch buffers). `after=True` launches it through
cuLaunchKernelEx as a programmatic dependent of the kernel before it (gpu/depend.cuh): its blocks start
while that kernel ends, instead of a launch gap and a cold start after it.
"""
from __future__ import annotations

import ctypes
from functools import lru_cache
from typing import Any, Callable, Hashable, Sequence

import cupy as cp
import numpy as np

_C_TYPES = {np.dtype(np.int32): ctypes.c_int32, np.dtype(np.int64): ctypes.c_int64,
            np.dtype(np.uint32): ctypes.c_uint32, np.dtype(np.uint64): ctypes.c_uint64,
            np.dtype(np.float32): ctypes.c_float}


def _slot(value: Any) -> tuple[Any, int]:
    """The C value cuLaunchKernel reads for one argument, and its address: a device pointer for an array, the
    scalar's own C type for a NumPy scalar, the raw bytes of a struct passed by value (a TMA descriptor, kept
    64-byte aligned as the driver's own CUtensorMap is)."""
    if isinstance(value, cp.ndarray):
        slot = ctypes.c_uint64(value.data.ptr)
    elif isinstance(value, np.generic) and value.dtype in _C_TYPES:
        slot = _C_TYPES[value.dtype](value.item())
    elif isinstance(value, np.void):
        raw = value.tobytes()
        slot = (ctypes.c_uint8 * (len(raw) + 64))()
        addr = (ctypes.addressof(slot) + 63) & ~63
        ctypes.memmove(addr, raw, len(raw))
        return slot, addr
    else:
        raise TypeError(f"cannot pass {type(value).__name__} to a kernel")
    return slot, ctypes.addressof(slot)


class _Config(ctypes.Structure):
    """CUlaunchConfig (cuda.h)."""

    _fields_ = [("grid", ctypes.c_uint * 3), ("block", ctypes.c_uint * 3), ("smem", ctypes.c_uint),
                ("stream", ctypes.c_void_p), ("attrs", ctypes.c_void_p), ("count", ctypes.c_uint)]


class _Attribute(ctypes.Structure):
    """CUlaunchAttribute: an id, then a 64-byte value union (padded to 8 bytes after the id)."""

    _fields_ = [("id", ctypes.c_int), ("pad", ctypes.c_int), ("value", ctypes.c_int * 16)]


_PROGRAMMATIC_STREAM_SERIALIZATION = 6  # CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION


@lru_cache(maxsize=1)
def _launch_ex():
    f = ctypes.CDLL("libcuda.so.1").cuLaunchKernelEx
    f.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    f.restype = ctypes.c_int
    return f


class Launch:
    """One kernel with its launch shape and packed arguments. `set(i, value)` replaces argument i (an array,
    scalar or struct of the same kind); `(*values)` launches on the current stream with `values` for the
    `varying` arguments, in order (ints and floats; arrays as their device address, which the caller keeps
    alive until the launch is made: stream order does the rest, as for CuPy's own launches)."""

    def __init__(self, fn: cp.RawKernel, grid: int, block: int, args: Sequence[Any], smem: int = 0,
                 varying: Sequence[int] = (), after: bool = False):
        self.fn, self.grid, self.block, self.smem, self.after = fn, grid, block, smem, after
        self.ptr = fn.kernel.ptr
        self.args = list(args)  # the slots hold bare addresses: the arrays must live as long as the launch
        self.slots, self.addrs = zip(*[_slot(a) for a in args]) if args else ((), ())
        self.params = (ctypes.c_void_p * len(self.slots))(*self.addrs)
        self.params_ptr = ctypes.addressof(self.params)
        self.varying = [self.slots[i] for i in varying]
        if any(not hasattr(v, "value") for v in self.varying):
            raise TypeError("a struct argument changes through set(), not as a varying value")
        self.keys: dict[int, Hashable] = {}

    def set(self, i: int, value: Any) -> None:
        slot = self.slots[i]
        if isinstance(value, cp.ndarray):
            slot.value = value.data.ptr
            self.args[i] = value
        elif isinstance(value, np.void):
            ctypes.memmove(self.addrs[i], value.tobytes(), value.dtype.itemsize)
        else:
            slot.value = value.item() if isinstance(value, np.generic) else value

    def set_for(self, i: int, key: Hashable, make: Callable[[], Any]) -> None:
        """set(i, make()) unless argument i was last set for the same key: a corpus's TMA descriptor is made
        and copied in once, not on every search of it (encoding one costs host time between launches)."""
        if self.keys.get(i) != key:
            self.set(i, make())
            self.keys[i] = key

    def __call__(self, *values: int | float) -> None:
        for slot, v in zip(self.varying, values):
            slot.value = v
        if not self.after:
            cp.cuda.driver.launchKernel(self.ptr, self.grid, 1, 1, self.block, 1, 1, self.smem,
                                        cp.cuda.get_current_stream().ptr, self.params_ptr, 0)
            return
        if self.smem != self.config.smem:
            self.config.smem = self.smem
        self.config.stream = cp.cuda.get_current_stream().ptr
        err = _launch_ex()(self.config_ptr, self.ptr, self.params_ptr, None)
        if err:
            raise RuntimeError(f"cuLaunchKernelEx failed with CUresult {err}")

    @property
    def after(self) -> bool:
        return self._after

    @after.setter
    def after(self, on: bool) -> None:
        """Launch as a programmatic dependent of the kernel before it in the stream (Hopper and later): it
        may be scheduled once that kernel's blocks have all called let_next_start (depend.cuh), and must
        call wait_for_previous before it reads that kernel's output."""
        self._after = on
        if on:
            self.attr = _Attribute(_PROGRAMMATIC_STREAM_SERIALIZATION, 0, (ctypes.c_int * 16)(1))
            self.config = _Config((ctypes.c_uint * 3)(self.grid, 1, 1), (ctypes.c_uint * 3)(self.block, 1, 1),
                                  self.smem, None, ctypes.addressof(self.attr), 1)
            self.config_ptr = ctypes.addressof(self.config)
