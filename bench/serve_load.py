#!/usr/bin/env python3
"""Loopback load generator for greedyhash_serve and bench/reference/flask_search_service.py.

Standard library only. For each --concurrency C (a phase): C client threads, each with
its own keep-alive http.client connection (reopened by http.client when the server
closes it, as Flask's HTTP/1.0 server does after every answer), send POST /search?k=K
with the bytes of the --images (read once into memory, cycled in order) until --requests
answers have come back or --max-seconds have passed (then the clients finish the request
they are in and stop; "requests" says how many were answered, "stopped_by_time" why).
50 connection failures in a row (server gone) end the phase too ("aborted": true).
--warmup requests per phase are sent first and not counted.

With --pid, the server's VmRSS and VmHWM are read from /proc/PID/status every 100 ms
during the phase: peak_rss_mb is the largest VmRSS sampled in the phase, vmhwm_mb the
kernel's high-water mark at its end (since the process started), rss_first_quarter_mb /
rss_last_quarter_mb the mean VmRSS over the first and the last quarter of the phase's
samples (flat: about equal; a leak: the last quarter higher).

Output, one JSON object per phase on stdout (progress on stderr):
  concurrency, requests (answered, any status), errors (answers other than 200, plus
  connection failures, counted under status "exception"), status_counts, rps (200 answers
  per second of the phase's wall time), p50_ms / p99_ms (latency of 200 answers, request
  sent to body read), peak_rss_mb, rss_first_quarter_mb, rss_last_quarter_mb, seconds,
  plus requests_planned, stopped_by_time, aborted, vmhwm_mb, rss_samples, warmup, and
  server_timing_ms_mean: the mean of the answers' own "timing_ms" (decode, encode, search).

Only loopback URLs (127.0.0.0/8, ::1, or a name that resolves only to those) are
accepted: this is a benchmark for one machine, not a tool to load someone else's server.
"""

import argparse
import glob
import http.client
import ipaddress
import json
import math
import os
import socket
import sys
import threading
import time
import urllib.parse

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
MAX_FAILURES_IN_A_ROW = 50  # connection failures with no answer between them end a phase


def log(message):
    print(message, file=sys.stderr, flush=True)


def loopback_target(url):
    """(host, port) of an http:// URL whose host is a loopback address; exits otherwise."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        sys.exit(f"serve_load: --url must be http://HOST:PORT, got {url!r}")
    host, port = parts.hostname, parts.port or 80
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except socket.gaierror as e:
        sys.exit(f"serve_load: cannot resolve {host}: {e}")
    bad = [a for a in addresses if not ipaddress.ip_address(a.split("%")[0]).is_loopback]
    if not addresses or bad:
        sys.exit(f"serve_load: refusing {url}: {host} is not a loopback address "
                 f"({', '.join(sorted(bad or addresses))}); this benchmark only loads this machine")
    return host, port


def read_images(specs):
    """Bytes of the images named by files, folders (searched recursively) or globs."""
    paths = []
    for spec in specs:
        if os.path.isdir(spec):
            for root, _, files in os.walk(spec):
                paths += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_SUFFIXES)]
        elif os.path.isfile(spec):
            paths.append(spec)
        else:
            paths += [p for p in glob.glob(spec) if os.path.isfile(p)]
    paths.sort()
    if not paths:
        sys.exit(f"serve_load: no .jpg/.jpeg/.png images in {' '.join(specs)}")
    images = []
    for p in paths:
        with open(p, "rb") as f:
            images.append(f.read())
    return paths, images


class RssSampler(threading.Thread):
    """VmRSS / VmHWM of a process, every `interval` seconds, until stop()."""

    def __init__(self, pid, interval=0.1):
        super().__init__(daemon=True)
        self.path = f"/proc/{pid}/status"
        self.interval = interval
        self.samples = []
        self.hwm_kb = None
        self.stopping = threading.Event()

    def read(self):
        rss = hwm = None
        try:
            with open(self.path) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss = int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm = int(line.split()[1])
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return
        if rss is not None:
            self.samples.append(rss)
        if hwm is not None:
            self.hwm_kb = hwm

    def run(self):
        while not self.stopping.is_set():
            self.read()
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join()
        self.read()

    def summary(self):
        mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
        if not self.samples:
            return {"peak_rss_mb": None, "rss_first_quarter_mb": None,
                    "rss_last_quarter_mb": None, "vmhwm_mb": None, "rss_samples": 0}
        n = len(self.samples)
        quarter = max(1, n // 4)
        first = self.samples[:quarter]
        last = self.samples[-quarter:]
        return {"peak_rss_mb": mb(max(self.samples)),
                "rss_first_quarter_mb": mb(sum(first) / len(first)),
                "rss_last_quarter_mb": mb(sum(last) / len(last)),
                "vmhwm_mb": mb(self.hwm_kb) if self.hwm_kb is not None else None,
                "rss_samples": n}


def server_timing(body):
    """The "timing_ms" object of a search answer ({} when absent or not JSON)."""
    try:
        timing = json.loads(body).get("timing_ms") or {}
        return {k: float(v) for k, v in timing.items() if isinstance(v, (int, float))}
    except (ValueError, AttributeError):
        return {}


def percentile(sorted_values, p):
    """Nearest-rank percentile of a sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


class Phase:
    """One concurrency level: `total` requests shared by `concurrency` clients."""

    def __init__(self, host, port, path, images, concurrency, total, max_seconds, timeout):
        self.host, self.port, self.path = host, port, path
        self.images = images
        self.concurrency = concurrency
        self.total = total
        self.max_seconds = max_seconds
        self.timeout = timeout
        self.lock = threading.Lock()
        self.issued = 0
        self.deadline = None
        self.stopped_by_time = False
        self.latencies = []      # seconds, 200 answers
        self.status_counts = {}
        self.first_body = None
        self.timing_sums = {}        # the server's own timing_ms of 200 answers, summed
        self.timing_count = 0
        self.failures_in_a_row = 0   # connection failures since the last answer
        self.aborted = False

    def next_request(self):
        """Index of the next request to send, or None when the phase is over."""
        with self.lock:
            if self.issued >= self.total:
                return None
            if self.failures_in_a_row >= MAX_FAILURES_IN_A_ROW:
                self.aborted = True
                return None
            if self.deadline is not None and time.monotonic() >= self.deadline:
                self.stopped_by_time = True
                return None
            self.issued += 1
            return self.issued - 1

    def record(self, status, latency, body=None, timing=None):
        with self.lock:
            self.status_counts[status] = self.status_counts.get(status, 0) + 1
            self.failures_in_a_row = self.failures_in_a_row + 1 if status == "exception" else 0
            failures = self.status_counts.get("exception", 0)
            if status == "200":
                self.latencies.append(latency)
                if self.first_body is None:
                    self.first_body = body
                if timing:
                    self.timing_count += 1
                    for key, value in timing.items():
                        self.timing_sums[key] = self.timing_sums.get(key, 0.0) + value
        return failures

    def client(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        headers = {"Content-Type": "application/octet-stream"}
        while True:
            i = self.next_request()
            if i is None:
                break
            body = self.images[i % len(self.images)]
            start = time.perf_counter()
            try:
                conn.request("POST", self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                latency = time.perf_counter() - start
                status = str(response.status)
                if response.will_close:
                    conn.close()  # http.client reopens it for the next request
                self.record(status, latency, data if status == "200" else None,
                            server_timing(data) if status == "200" else None)
            except (OSError, http.client.HTTPException) as e:
                conn.close()
                if self.record("exception", time.perf_counter() - start) <= 10:
                    log(f"serve_load: request {i}: {type(e).__name__}: {e}")
        conn.close()

    def run(self):
        self.deadline = time.monotonic() + self.max_seconds if self.max_seconds > 0 else None
        threads = [threading.Thread(target=self.client, daemon=True) for _ in range(self.concurrency)]
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n", 2)[2])
    parser.add_argument("--url", required=True, help="http://127.0.0.1:PORT (loopback only)")
    parser.add_argument("--images", nargs="+", required=True,
                        help="image files, folders (recursive) or globs; cycled in sorted order")
    parser.add_argument("--requests", type=int, default=10000, help="per phase (default 10000)")
    parser.add_argument("--concurrency", default="1,8,32",
                        help="comma-separated client counts, one phase each (default 1,8,32)")
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--max-seconds", type=float, default=300,
                        help="per phase: stop after this long even if fewer requests were "
                             "answered (0: no limit; default 300)")
    parser.add_argument("--warmup", type=int, default=-1,
                        help="uncounted requests before each phase (default: 2 x concurrency, "
                             "at least 5)")
    parser.add_argument("--pid", type=int, help="server process whose RSS is sampled")
    parser.add_argument("--timeout", type=float, default=120, help="socket timeout, seconds")
    args = parser.parse_args()

    host, port = loopback_target(args.url)
    base = urllib.parse.urlsplit(args.url).path.rstrip("/")
    path = f"{base}/search?k={args.k}"
    try:
        levels = [int(c) for c in args.concurrency.split(",") if c.strip()]
    except ValueError:
        sys.exit(f"serve_load: --concurrency takes numbers like 1,8,32, got {args.concurrency!r}")
    if not levels or min(levels) < 1 or args.requests < 1:
        sys.exit("serve_load: --concurrency and --requests must be >= 1")
    if args.pid is not None and not os.path.exists(f"/proc/{args.pid}/status"):
        sys.exit(f"serve_load: no process {args.pid}")
    paths, images = read_images(args.images)
    log(f"serve_load: {len(images)} images, {args.requests} requests per phase, "
        f"concurrency {levels}, {host}:{port}{path}")

    for concurrency in levels:
        warmup = args.warmup if args.warmup >= 0 else max(5, 2 * concurrency)
        if warmup:
            Phase(host, port, path, images, concurrency, warmup, args.max_seconds, args.timeout).run()
        phase = Phase(host, port, path, images, concurrency, args.requests, args.max_seconds,
                      args.timeout)
        sampler = RssSampler(args.pid) if args.pid is not None else None
        if sampler:
            sampler.start()
        seconds = phase.run()
        if sampler:
            sampler.stop()
        rss = (sampler or RssSampler(0)).summary()
        latencies = sorted(phase.latencies)
        answered = sum(n for s, n in phase.status_counts.items() if s != "exception")
        ok = phase.status_counts.get("200", 0)
        if phase.first_body is not None:
            try:
                results = json.loads(phase.first_body)["results"]
                if not 1 <= len(results) <= args.k:
                    log(f"serve_load: an answer with {len(results)} results for k={args.k}")
            except (ValueError, KeyError) as e:
                log(f"serve_load: a 200 answer that is not the search JSON: {e}")
        record = {
            "concurrency": concurrency,
            "requests": answered,
            "errors": sum(phase.status_counts.values()) - ok,
            "status_counts": dict(sorted(phase.status_counts.items())),
            "rps": round(ok / seconds, 2) if seconds > 0 else None,
            "p50_ms": round(percentile(latencies, 50) * 1e3, 2) if latencies else None,
            "p99_ms": round(percentile(latencies, 99) * 1e3, 2) if latencies else None,
            "peak_rss_mb": rss["peak_rss_mb"],
            "rss_first_quarter_mb": rss["rss_first_quarter_mb"],
            "rss_last_quarter_mb": rss["rss_last_quarter_mb"],
            "seconds": round(seconds, 2),
            "requests_planned": args.requests,
            "stopped_by_time": phase.stopped_by_time,
            "aborted": phase.aborted,
            "vmhwm_mb": rss["vmhwm_mb"],
            "rss_samples": rss["rss_samples"],
            "warmup": warmup,
            "server_timing_ms_mean": ({k: round(v / phase.timing_count, 2)
                                       for k, v in sorted(phase.timing_sums.items())}
                                      if phase.timing_count else None),
        }
        print(json.dumps(record), flush=True)
        log(f"serve_load: concurrency {concurrency}: {answered} answered in {seconds:.1f} s, "
            f"{record['rps']} rps, p50 {record['p50_ms']} ms, p99 {record['p99_ms']} ms, "
            f"errors {record['errors']}")


if __name__ == "__main__":
    main()
