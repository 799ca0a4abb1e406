#!/usr/bin/env bash
# Load test of greedyhash_serve against the Flask + PyTorch service a PyTorch user would
# write (bench/reference/flask_search_service.py), on this machine, one after the other,
# with the same index (and so the same checkpoint) and the same query images.
#
#   bench/serve_load.sh --index RUN/database.faiss --images DIR [--requests N] [--out FILE.json]
#       [--concurrency 1,8,32] [--k 10] [--max-seconds 300] [--threads N]
#       [--precision auto|fp32|bf16] [--flask-precision same|fp32|bf16]
#       [--flask-allocator both|jemalloc|glibc] [--only cpp|flask] [--log-dir DIR]
#
# 1. greedyhash_serve --threads N (default nproc) --precision P (auto: bf16 when the CPU
#    has avx512_bf16, else fp32) --port 0; waits for its "listening" line; sends the
#    first 16 images once and keeps their codes; runs bench/serve_load.py with
#    --concurrency 1,8,32 (each phase: --requests answers or --max-seconds, whichever comes
#    first; the server's RSS sampled through --pid); stops it with SIGTERM.
# 2. The same for the Flask service under /usr/bin/python3, torch threads = N, the same
#    precision (bf16: weights cast to bfloat16 once, see flask_search_service.py) and
#    channels-last, as bench/run_benchmark.sh gives the reference the same settings.
#    Allocator: "jemalloc" preloads jemalloc with bench/reference/allocator.sh's settings,
#    "glibc" runs without it, "both" (default) runs the Flask side twice. jemalloc is what
#    the training reference uses, but Flask's server starts a thread per request and
#    jemalloc starts every thread with empty caches: measured on a 2-core AMD EPYC, Flask
#    answered about 40% fewer requests per second under jemalloc than under glibc malloc
#    (one image decoded and resized in a fresh thread: 18.7 ms under jemalloc, 8.3 ms
#    under glibc).
# 3. Prints (and with --out writes) one JSON object: the machine, the settings and
#    per-concurrency results of "cpp" and of "flask" (one entry per allocator), rps_ratio
#    (greedyhash_serve rps / the higher Flask rps at that concurrency; which allocator that
#    was: rps_ratio_against_allocator; rps_ratio_by_allocator: each), and "probe": how
#    many of the first 16 images got the same code from both services.
# Each phase takes at most --max-seconds plus its warm-up, so a run takes at most about
# (1 + Flask allocators) x phases x --max-seconds, plus start-ups.
# The load generator runs on the same machine and takes some CPU from the server under
# test; both sides pay that alike. Server logs stay in --log-dir (default: a new
# temporary folder, printed). Environment: GREEDYHASH_SERVE (the binary; default
# build/apps/greedyhash_serve), PYTHON (default /usr/bin/python3: PyTorch 1.13, Flask).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
serve_bin=${GREEDYHASH_SERVE:-$repo/build/apps/greedyhash_serve}
python=${PYTHON:-/usr/bin/python3}

index="" images="" requests=10000 out="" concurrency="1,8,32" k=10 max_seconds=300
threads=$(nproc) precision=auto flask_precision=same flask_allocator=both only="" log_dir=""
usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case $1 in
    --index) index=$2; shift 2 ;;
    --images) images=$2; shift 2 ;;
    --requests) requests=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --k) k=$2; shift 2 ;;
    --max-seconds) max_seconds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --precision) precision=$2; shift 2 ;;
    --flask-precision) flask_precision=$2; shift 2 ;;
    --flask-allocator) flask_allocator=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --log-dir) log_dir=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "serve_load.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done
[[ -n $index && -n $images ]] || { usage >&2; exit 2; }
[[ -f $index ]] || { echo "serve_load.sh: no index $index" >&2; exit 2; }
[[ -f $index.json ]] || { echo "serve_load.sh: no sidecar $index.json" >&2; exit 2; }
[[ -e $images ]] || { echo "serve_load.sh: no images $images" >&2; exit 2; }
case $only in ""|cpp|flask) ;; *) echo "serve_load.sh: --only cpp or flask" >&2; exit 2 ;; esac
if [[ $only != flask && ! -x $serve_bin ]]; then
  echo "serve_load.sh: no $serve_bin (build it, or set GREEDYHASH_SERVE)" >&2; exit 2
fi
has_bf16=false
if grep -qw avx512_bf16 /proc/cpuinfo; then has_bf16=true; fi
case $precision in
  auto) if $has_bf16; then precision=bf16; else precision=fp32; fi ;;
  fp32|bf16) ;;
  *) echo "serve_load.sh: --precision auto, fp32 or bf16" >&2; exit 2 ;;
esac
case $flask_precision in
  same) flask_precision=$precision ;;
  fp32|bf16) ;;
  *) echo "serve_load.sh: --flask-precision same, fp32 or bf16" >&2; exit 2 ;;
esac
case $flask_allocator in
  both) flask_allocators=(jemalloc glibc) ;;
  jemalloc|glibc) flask_allocators=("$flask_allocator") ;;
  *) echo "serve_load.sh: --flask-allocator both, jemalloc or glibc" >&2; exit 2 ;;
esac
if [[ -z $log_dir ]]; then log_dir=$(mktemp -d /tmp/serve_load.XXXXXX); fi
mkdir -p "$log_dir"
rm -f "$log_dir"/{cpp,flask-jemalloc,flask-glibc}.{jsonl,command,exit_code,stdout,stderr,codes.json}
echo "serve_load.sh: logs and per-phase results in $log_dir" >&2

# shellcheck source-path=SCRIPTDIR source=reference/allocator.sh
source "$repo/bench/reference/allocator.sh"

server_pid=""
stop_rc=0
stop_server() {  # SIGTERM, then up to 60 s to exit (SIGKILL after); exit status -> stop_rc
  local pid=$1 i
  stop_rc=0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 600; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "serve_load.sh: $pid still running 60 s after SIGTERM; SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || stop_rc=$?
}
cleanup() { if [[ -n $server_pid ]]; then kill -TERM "$server_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT

wait_listening() {  # $1 pid, $2 stdout file, $3 stderr file: prints the port
  local pid=$1 log=$2 err=$3 i
  for ((i = 0; i < 3000; i++)); do   # up to 5 minutes (loading a checkpoint, warm-up)
    if grep -q "listening on" "$log" 2>/dev/null; then
      grep -m1 -o 'http://[^/ ]*:[0-9]*' "$log" | sed 's/.*://'
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "serve_load.sh: the server exited before listening; its stderr:" >&2
      tail -20 "$err" >&2
      return 1
    fi
    sleep 0.1
  done
  echo "serve_load.sh: no \"listening\" line after 5 minutes; stderr:" >&2
  tail -20 "$err" >&2
  return 1
}

probe_codes() {  # $1 port, $2 output file: the code and ids answered for the first 16 images
  "$python" - "$1" "$images" "$2" "$k" <<'PY'
import json, os, sys, urllib.request
port, spec, out, k = sys.argv[1:]
paths = []
if os.path.isdir(spec):
    for root, _, files in os.walk(spec):
        paths += [os.path.join(root, f) for f in files
                  if f.lower().endswith((".jpg", ".jpeg", ".png"))]
else:
    paths = [spec]
codes = {}
for p in sorted(paths)[:16]:
    with open(p, "rb") as f:
        request = urllib.request.Request(f"http://127.0.0.1:{port}/search?k={k}",
                                         data=f.read(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            answer = json.load(response)
        codes[p] = {"code": answer["code"], "ids": [r["id"] for r in answer["results"]]}
    except Exception as e:  # recorded, not fatal: the load test says more
        codes[p] = {"error": str(e)}
with open(out, "w") as f:
    json.dump(codes, f)
PY
}

run_side() {  # $1 name (cpp, flask-jemalloc, flask-glibc), then the server command
  local name=$1; shift
  local log=$log_dir/$name.stdout err=$log_dir/$name.stderr port
  printf '%s\n' "$@" >"$log_dir/$name.command"
  echo "serve_load.sh: $name: $*" >&2
  "$@" >"$log" 2>"$err" &
  server_pid=$!
  port=$(wait_listening "$server_pid" "$log" "$err") || exit 1
  echo "serve_load.sh: $name listening on port $port (pid $server_pid)" >&2
  probe_codes "$port" "$log_dir/$name.codes.json"
  "$python" "$repo/bench/serve_load.py" --url "http://127.0.0.1:$port" --images "$images" \
    --requests "$requests" --concurrency "$concurrency" --k "$k" --max-seconds "$max_seconds" \
    --pid "$server_pid" >"$log_dir/$name.jsonl"
  stop_server "$server_pid"
  server_pid=""
  echo "$stop_rc" >"$log_dir/$name.exit_code"
  echo "serve_load.sh: $name stopped, exit status $stop_rc" >&2
}

if [[ $only != flask ]]; then
  run_side cpp "$serve_bin" --index "$index" --bind 127.0.0.1 --port 0 --threads "$threads" \
    --precision "$precision"
fi
if [[ $only != cpp ]]; then
  for allocator in "${flask_allocators[@]}"; do
    env_cmd=(env)
    if [[ $allocator == jemalloc ]]; then
      if [[ ${#reference_env[@]} -eq 0 ]]; then
        echo "serve_load.sh: no jemalloc here ($reference_allocator); skipping that run" >&2
        continue
      fi
      env_cmd+=("${reference_env[@]}")
    fi
    run_side "flask-$allocator" "${env_cmd[@]}" "$python" \
      "$repo/bench/reference/flask_search_service.py" --index "$index" --bind 127.0.0.1 \
      --port 0 --threads "$threads" --precision "$flask_precision" --channels-last
  done
fi

summary=$("$python" - "$log_dir" "$index" "$images" "$requests" "$k" "$max_seconds" \
          "$threads" "$precision" "$flask_precision" "$has_bf16" "$reference_allocator" <<'PY'
import json, os, platform, sys
(log_dir, index, images, requests, k, max_seconds, threads, precision, flask_precision,
 has_bf16, jemalloc_allocator) = sys.argv[1:]


def run(name, **settings):
    if not os.path.exists(f"{log_dir}/{name}.jsonl"):
        return None
    phases = [json.loads(line) for line in open(f"{log_dir}/{name}.jsonl")]
    command = open(f"{log_dir}/{name}.command").read().split("\n")[:-1]
    exit_code = int(open(f"{log_dir}/{name}.exit_code").read())
    stdout = open(f"{log_dir}/{name}.stdout").read()
    return dict(settings, command=command, exit_code=exit_code,
                listening=next((l for l in stdout.splitlines() if "listening" in l), None),
                stopped_cleanly=exit_code == 0 and "stopped" in stdout, phases=phases)


def codes(name):
    path = f"{log_dir}/{name}.codes.json"
    return json.load(open(path)) if os.path.exists(path) else {}


cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
            if l.startswith("model name")), platform.machine())
result = {
    "machine": {"cpu": cpu, "nproc": os.cpu_count(), "avx512_bf16": has_bf16 == "true"},
    "index": os.path.abspath(index),
    "images": os.path.abspath(images),
    "requests_per_phase": int(requests), "k": int(k), "max_seconds_per_phase": float(max_seconds),
    "cpp": run("cpp", server="greedyhash_serve", threads=int(threads), precision=precision,
               batching="dynamic (default --max-batch 32, --batch-wait-ms 2)"),
    "flask": {},
}
allocator_text = {"jemalloc": jemalloc_allocator, "glibc": "glibc malloc"}
for allocator in ("jemalloc", "glibc"):
    r = run(f"flask-{allocator}", server="flask_search_service.py (Flask threaded server)",
            torch_threads=int(threads), precision=flask_precision, channels_last=True,
            allocator=allocator_text[allocator], batching="none: one forward pass per request")
    if r:
        result["flask"][allocator] = r
if result["cpp"] and result["flask"]:
    ratio, versus, by_allocator = {}, {}, {a: {} for a in result["flask"]}
    for p in result["cpp"]["phases"]:
        c = str(p["concurrency"])
        best = (0, None)
        for allocator, r in result["flask"].items():
            rps = next((f["rps"] for f in r["phases"] if f["concurrency"] == p["concurrency"]), 0)
            by_allocator[allocator][c] = round(p["rps"] / rps, 2) if rps else None
            if rps and rps > best[0]:
                best = (rps, allocator)
        ratio[c] = round(p["rps"] / best[0], 2) if best[0] else None
        versus[c] = best[1]
    result["rps_ratio"] = ratio
    result["rps_ratio_against_allocator"] = versus
    result["rps_ratio_by_allocator"] = by_allocator
    a = codes("cpp")
    b = codes(f"flask-{next(iter(result['flask']))}")
    both = [p for p in a if "code" in a[p] and "code" in b.get(p, {})]
    result["probe"] = {
        "images": len(both),
        "same_code": sum(a[p]["code"] == b[p]["code"] for p in both),
        "same_ids": sum(a[p]["ids"] == b[p]["ids"] for p in both),
        "differing_bits": sum(bin(int(a[p]["code"], 16) ^ int(b[p]["code"], 16)).count("1")
                              for p in both),
        "note": f"the first 16 images, once to each service (greedyhash_serve {precision}, "
                f"Flask {flask_precision}); resizing differs (OpenCV vs PIL) and so does bf16 "
                "(autocast vs bf16 weights): see flask_search_service.py",
    }
result["log_dir"] = log_dir
print(json.dumps(result, indent=2))
PY
)
echo "$summary"
if [[ -n $out ]]; then
  mkdir -p "$(dirname "$out")"
  echo "$summary" >"$out"
  echo "serve_load.sh: wrote $out" >&2
fi
