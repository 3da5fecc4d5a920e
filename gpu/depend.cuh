// Programmatic dependent launch (Hopper): a kernel launched with it (gpu/launch.py, `after=True`) may start
// while the kernel before it in the stream still runs, and waits only where it reads that kernel's output.
// Prepended by cupy_backend._source and sm90.source; no-ops before sm_90 and for a plain launch.

// Let the kernel after this one be scheduled (once every block of this one has said so or exited).
__device__ __forceinline__ void let_next_start() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Wait until the kernel before this one has finished and its writes are visible. Its output must not be read
// through a `const __restrict__` pointer: the compiler may load those (read-only to it) before the wait.
__device__ __forceinline__ void wait_for_previous() {
#if __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}
