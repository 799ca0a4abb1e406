# Sourced by the scripts that run the Python reference: sets reference_env (what to put
# before its command with env) and reference_allocator (a line for the record).
# The reference runs under jemalloc where Debian's libjemalloc2 is installed: glibc's malloc
# gives every freed block over 32 MB back to the system (AlexNet's 151 MB fc6 gradient, at
# every step) and page-faults it in again, which more than doubled the reference's epoch
# time here; results are the same with either allocator (docs/PERFORMANCE.md).
# shellcheck shell=bash
reference_jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
# Keep freed memory for reuse, also blocks of the size the huge-allocation arena would purge.
reference_jemalloc_conf=oversize_threshold:0,dirty_decay_ms:-1,muzzy_decay_ms:-1
reference_env=()
reference_allocator="glibc malloc"
if [[ -f "$reference_jemalloc" ]]; then
  reference_env=(LD_PRELOAD="$reference_jemalloc" MALLOC_CONF="$reference_jemalloc_conf")
  reference_allocator="jemalloc, MALLOC_CONF=$reference_jemalloc_conf"
fi
