#!/usr/bin/env bash
# Data-parallel training: starts N greedyhash_train workers on this machine with the
# environment torchrun would give them (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
# MASTER_PORT), waits for all of them, and fails as soon as one fails (the others are
# stopped). Each worker's output is prefixed with "[rank R]"; rank 0 writes the run folder.
#
# Usage: scripts/train_distributed.sh N [greedyhash_train flags...]
#   --batch-size is per worker: the global batch is N x batch size (x NNODES).
#   GPUs: with --device auto/cuda, worker LOCAL_RANK uses cuda:LOCAL_RANK (N = GPU count);
#   LibTorch must be built with NCCL for the GPU collectives (else Gloo is used).
#
# One machine, 2 workers on the CPU:
#   scripts/train_distributed.sh 2 --data-dir DATA --device cpu --threads 1
#
# M machines with N workers each: run the same command on every machine, with
#   NNODES=M, NODE_RANK=0..M-1 (0 on the machine hosting the rendezvous),
#   MASTER_ADDR=<address of machine 0 reachable from all>, MASTER_PORT=<same free port>:
#   NNODES=2 NODE_RANK=0 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 \
#     scripts/train_distributed.sh 8 --data-dir DATA      # on 10.0.0.1
#   NNODES=2 NODE_RANK=1 MASTER_ADDR=10.0.0.1 MASTER_PORT=29500 \
#     scripts/train_distributed.sh 8 --data-dir DATA      # on the second machine
# Every machine needs the data; --resume needs the run folder (last.pt, last_state.pt,
# split.json, config.json) readable on every machine (shared storage or a copy).
# GLOO_SOCKET_IFNAME picks the network interface Gloo uses; GREEDYHASH_DIST_TIMEOUT_S
# (default 1800) bounds how long a worker waits for a dead or missing peer.
# torchrun works too: torchrun --nproc-per-node N --no-python build/apps/greedyhash_train ...
# Binaries: $GREEDYHASH_BIN (default build/apps next to this script).
set -euo pipefail

if [[ $# -lt 1 || ! "$1" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 N [greedyhash_train flags...]   (N workers on this machine)" >&2
  exit 2
fi
workers=$1
shift
bin=${GREEDYHASH_BIN:-$(cd "$(dirname "$0")/.." && pwd)/build/apps}
nnodes=${NNODES:-1}
node_rank=${NODE_RANK:-0}
if [[ -z "${MASTER_PORT:-}" ]]; then
  if [[ "$nnodes" -gt 1 ]]; then
    echo "$0: MASTER_PORT must be set (the same on every machine) when NNODES > 1" >&2
    exit 2
  fi
  # A port the kernel just handed out is very likely still free.
  MASTER_PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' 2>/dev/null ||
    echo $((20000 + RANDOM % 30000)))
fi
export MASTER_ADDR=${MASTER_ADDR:-127.0.0.1} MASTER_PORT
export WORLD_SIZE=$((workers * nnodes))

pids=()
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap 'stop_all; exit 130' INT TERM

for ((local = 0; local < workers; ++local)); do
  rank=$((node_rank * workers + local))
  RANK=$rank LOCAL_RANK=$local "$bin/greedyhash_train" "$@" \
    > >(sed -u "s/^/[rank $rank] /") 2>&1 &
  pids+=($!)
done

# Poll rather than `wait -n`: the first worker to fail stops the others at once.
status=0
remaining=${#pids[@]}
declare -A done_pids=()
while [[ $remaining -gt 0 ]]; do
  for pid in "${pids[@]}"; do
    [[ -n "${done_pids[$pid]:-}" ]] && continue
    kill -0 "$pid" 2>/dev/null && continue
    code=0
    wait "$pid" || code=$?
    done_pids[$pid]=1
    remaining=$((remaining - 1))
    if [[ $code -ne 0 && $status -eq 0 ]]; then
      status=$code
      echo "$0: a worker (pid $pid) exited with status $code; stopping the others" >&2
      stop_all
    fi
  done
  sleep 0.2
done
exit $status
