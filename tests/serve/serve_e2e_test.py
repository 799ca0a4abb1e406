#!/usr/bin/python3
"""End-to-end test of greedyhash_serve (the HTTP image-search service).

Usage:
  serve_e2e_test.py --bin-dir DIR --run RUN_DIR --images IMAGES_DIR --work SCRATCH_DIR

  --bin-dir  folder holding greedyhash_serve, greedyhash_index and greedyhash_search
  --run      a trained run folder named bit_<K> (config.json, split.json, best.pt, ...),
             e.g. build/tests/e2e/work/out/bit_12
  --images   a folder of PNG/JPEG images to query with (searched recursively),
             e.g. build/tests/e2e/work/data/test
  --work     scratch folder (made if missing; SCRATCH/out is rebuilt on every run)

The run folder is copied to SCRATCH/out/bit_<K>/ (.pt files hard-linked), indexed with
greedyhash_index, and served by greedyhash_serve --port 0. Every check prints
"PASS name" or "FAIL name: why"; the exit status is 1 when any failed. Standard library
only; every service started is stopped (SIGKILL as a last resort) before exiting.
"""

import argparse
import base64
import http.client
import json
import os
import random
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import zlib

HOST = "127.0.0.1"
SERVICE_TIMEOUT_S = 2      # --timeout-s of the services the hostile cases talk to
MAX_BODY_MB = 1            # --max-body-mb of the main service
STARTUP_TIMEOUT_S = 90     # until the "listening on" line
RELOAD_DEADLINE_S = 10.0   # until a "reloaded" / "reload failed" line (watch interval 500 ms;
                           # a reload hashes and loads the checkpoint: ~2 s idle, more under load)

# A real 32x32 baseline JPEG (quality 90), so the test needs no image library.
QUERY_JPEG = base64.b64decode("""
/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAMCAgMCAgMDAwMEAwMEBQgFBQQEBQoHBwYIDAoMDAsK
CwsNDhIQDQ4RDgsLEBYQERMUFRUVDA8XGBYUGBIUFRT/2wBDAQMEBAUEBQkFBQkUDQsNFBQUFBQU
FBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBT/wAARCAAgACADASIA
AhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQA
AAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3
ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWm
p6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEA
AwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSEx
BhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElK
U1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3
uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDX83zo
ACyDYN20ncik49eTyQTyOnsMJLGiy4wJgccgktg4wB+aj/OKhmjSEqwbe4P38ELkDGCRnv8AzHXH
EwQDczR5QMg69CCflOc4Ht9OMV+Fr3fI/kjm08h29GZ5LhJYgCzFmJ3cgbTnGccHjOD171EIpkUx
PGvmAbmZDhQoGAvTkHGePXNTOuxE2BJcsQSjZCkYwSAcDopz7fjTI0MUplCZbDD5RkYzyOD07Yx/
Pl7p2X9ff/Wgun9f13HCKJIyypyBwpIJ46jBweeh9Me1Njk2p5e4IMDhm+6D6n3xjoe/UikjXbIi
qC7KQBGy7xkk9PX1x7duKIoPtijChQmfTPocc89Mc85GdtT0bHve44urujyJtLPgkgg985yOTnHb
uPXFMWRlCSRq7kK0Zwo5GMjqflOfXkc+tS+Y0atNGDt2k4K7dmQcDAHTpz/jUYPzP8ybyANzcnGB
k9e3B9MjA5q/6/r+vzBJNaf1/Xc//9k=
""")

FAILURES = []
PASSES = []


# ----------------------------------------------------------------------------- reporting

class CaseFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise CaseFailure(msg)


def note(msg):
    print("  note: " + msg, flush=True)


def report(name, ok, why=""):
    if ok:
        PASSES.append(name)
        print("PASS " + name, flush=True)
    else:
        FAILURES.append(name)
        why = " ".join(str(why).split("\n")) if len(str(why)) < 400 else str(why)
        print("FAIL %s: %s" % (name, why), flush=True)


def run_case(name, fn, *args, healthz_port=None):
    """Runs fn(*args); a CaseFailure or any exception is a FAIL. With healthz_port, the
    service must answer GET /healthz with 200 afterwards (part of the same case)."""
    try:
        fn(*args)
        if healthz_port is not None:
            ok, why = healthz_ok(healthz_port)
            check(ok, "afterwards GET /healthz did not answer 200: " + why)
    except CaseFailure as e:
        report(name, False, str(e))
        return False
    except Exception as e:  # a bug in the test or an unexpected failure: say where
        tb = traceback.extract_tb(e.__traceback__)[-1]
        report(name, False, "%s: %s (at line %d)" % (type(e).__name__, e, tb.lineno))
        return False
    report(name, True)
    return True


def show(b, n=300):
    """A short printable form of a body for messages."""
    if b is None:
        return "None"
    s = b[:n]
    try:
        t = s.decode("utf-8")
        if all(c.isprintable() or c in "\r\n\t" for c in t):
            return repr(t) + ("..." if len(b) > n else "")
    except UnicodeDecodeError:
        pass
    return "<%d bytes: %r%s>" % (len(b), s[:40], "..." if len(b) > 40 else "")


# ----------------------------------------------------------------------------- service

class Service:
    """A greedyhash_serve process whose stdout/stderr lines are collected by threads."""

    def __init__(self, bin_dir, args, label):
        self.label = label
        self.cmd = [os.path.join(bin_dir, "greedyhash_serve")] + [str(a) for a in args]
        self.lines = {"stdout": [], "stderr": []}
        self.cond = threading.Condition()
        self.port = None
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.readers = [threading.Thread(target=self._read, args=(self.proc.stdout, "stdout"), daemon=True),
                        threading.Thread(target=self._read, args=(self.proc.stderr, "stderr"), daemon=True)]
        for t in self.readers:
            t.start()

    def _read(self, pipe, name):
        for raw in iter(pipe.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            with self.cond:
                self.lines[name].append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def count(self, stream):
        with self.cond:
            return len(self.lines[stream])

    def wait_line(self, stream, pattern, start=0, timeout=5.0, reject=None):
        """Waits for a line of `stream` from index `start` on matching `pattern` (and not
        `reject`). Returns the re match, or None on timeout / process exit."""
        rx = re.compile(pattern)
        rj = re.compile(reject) if reject else None
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for line in self.lines[stream][start:]:
                    m = rx.search(line)
                    if m and not (rj and rj.search(line)):
                        return m
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not any(t.is_alive() for t in self.readers)):
                    return None
                self.cond.wait(min(left, 0.2))

    def tail(self, stream="stderr", n=25):
        with self.cond:
            return "\n".join(self.lines[stream][-n:])

    def wait_listening(self, timeout=STARTUP_TIMEOUT_S):
        m = self.wait_line("stdout", r"listening on http://127\.0\.0\.1:(\d+)/", timeout=timeout)
        if not m:
            rc = self.proc.poll()
            raise CaseFailure(
                "%s: no 'listening on http://127.0.0.1:PORT/' line on stdout within %d s (%s)\n"
                "command: %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
                    self.label, timeout,
                    "process still running" if rc is None else "process exited with %s" % rc,
                    " ".join(self.cmd), self.tail("stdout"), self.tail("stderr", 60)))
        self.port = int(m.group(1))
        check(self.port > 0, "%s: listening line names port %d" % (self.label, self.port))
        return self.port

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL. Returns the exit status."""
        if self.proc.poll() is None:
            try:
                self.proc.send_signal(signal.SIGTERM)
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for t in self.readers:
            t.join(timeout=2)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


SERVICES = []


def start_service(bin_dir, args, label):
    s = Service(bin_dir, args, label)
    SERVICES.append(s)
    return s


# ----------------------------------------------------------------------------- HTTP helpers

def http_req(port, method, path, body=None, headers=None, timeout=20):
    """One request on a fresh connection. Returns (status, headers (lower-case keys), body)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        conn.close()


def healthz_ok(port):
    try:
        st, hd, body = http_req(port, "GET", "/healthz", timeout=10)
    except Exception as e:
        return False, "%s: %s" % (type(e).__name__, e)
    if st != 200 or body.strip() != b"ok":
        return False, "status %d body %s" % (st, show(body))
    return True, ""


def search(port, body, k=None, timeout=30):
    path = "/search" if k is None else "/search?k=%s" % k
    return http_req(port, "POST", path, body=body,
                    headers={"Content-Type": "application/octet-stream"}, timeout=timeout)


def json_body(body):
    try:
        return json.loads(body.decode("utf-8"))
    except Exception:
        return None


def check_error_json(what, body):
    """Spec: every error body is JSON {"error": "one line"}."""
    j = json_body(body)
    check(isinstance(j, dict) and isinstance(j.get("error"), str) and j["error"]
          and "\n" not in j["error"],
          "%s: the error body is not JSON {\"error\": \"one line\"}: %s" % (what, show(body)))


def parse_response(buf):
    """Parses a raw HTTP response. Returns None without a full header block, else
    (status, headers, body, complete)."""
    i = buf.find(b"\r\n\r\n")
    if i < 0:
        return None
    lines = buf[:i].decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    status = int(m.group(1)) if m else None
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    body = buf[i + 4:]
    complete = False
    if "content-length" in headers:
        n = int(headers["content-length"])
        complete = len(body) >= n
        body = body[:n]
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        out, rest = b"", body
        while True:
            j = rest.find(b"\r\n")
            if j < 0:
                break
            size = int(rest[:j].split(b";")[0] or b"0", 16)
            if size == 0:
                complete = True
                break
            if len(rest) < j + 2 + size + 2:
                break
            out += rest[j + 2:j + 2 + size]
            rest = rest[j + 2 + size + 2:]
        body = out
    elif status in (204, 304) or (status is not None and 100 <= status < 200):
        complete = True
    return status, headers, body, complete


class Raw:
    """A raw TCP connection to the service, for requests http.client would not send."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = b""
        self.closed = False      # the server closed (EOF or reset)
        self.reset = False
        self.send_error = None
        self.t0 = time.monotonic()
        self.closed_at = None

    def readable(self):
        r, _, _ = select.select([self.sock], [], [], 0)
        return bool(r)

    def send(self, data, piece=16384, stop_when_answered=True):
        """Sends data in pieces; stops early when the server has already answered (or
        closed) or the send fails. Returns the number of bytes sent."""
        sent = 0
        while sent < len(data):
            if stop_when_answered and self.readable():
                break
            try:
                self.sock.settimeout(10)
                self.sock.sendall(data[sent:sent + piece])
            except (BrokenPipeError, ConnectionResetError, socket.timeout, OSError) as e:
                self.send_error = "%s: %s" % (type(e).__name__, e)
                break
            sent += len(data[sent:sent + piece])
        return sent

    def read(self, deadline, until_close=False):
        """Reads until a complete response (or, with until_close, until the server closes),
        EOF, reset or the monotonic deadline."""
        while not self.closed:
            if not until_close:
                p = parse_response(self.buf)
                if p and p[3]:
                    return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self.sock.settimeout(min(left, 0.5))
            try:
                d = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, OSError):
                self.closed, self.reset, self.closed_at = True, True, time.monotonic()
                return
            if not d:
                self.closed, self.closed_at = True, time.monotonic()
                return
            self.buf += d

    def response(self):
        return parse_response(self.buf)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def raw_request(port, data, timeout=10):
    """Sends raw bytes (a whole request with Connection: close) and reads the answer.
    Returns (status or None, headers, body, closed)."""
    c = Raw(port, timeout)
    try:
        c.send(data)
        c.read(time.monotonic() + timeout, until_close=False)
        p = c.response()
        if p is None:
            return None, {}, c.buf, c.closed
        return p[0], p[1], p[2], c.closed
    finally:
        c.close()


# ----------------------------------------------------------------------------- image builders

def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width=50000, height=50000):
    """A small, well-formed PNG (correct CRCs) whose IHDR declares width x height RGB8;
    its IDAT holds only a few rows (a decoder that trusts the header allocates 7.5 GB)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = (b"\x00" + b"\x00" * (width * 3)) * 4
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(rows, 9)) + png_chunk(b"IEND", b""))


def jpeg_segment(marker, payload):
    return b"\xff" + bytes([marker]) + struct.pack(">H", len(payload) + 2) + payload


def jpeg_bomb(width=50000, height=50000):
    """A hand-built baseline JPEG header: SOI, APP0 (JFIF), DQT, SOF0 declaring
    width x height with 3 components, DHT, SOS, then garbage entropy data and EOI."""
    app0 = jpeg_segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = jpeg_segment(0xDB, b"\x00" + bytes([1] * 64))
    sof0 = jpeg_segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) +
                        bytes([1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]))
    counts = bytes([1] + [0] * 15)
    dht = jpeg_segment(0xC4, b"\x00" + counts + b"\x00" + b"\x10" + counts + b"\x00")
    sos = jpeg_segment(0xDA, bytes([3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]))
    garbage = bytes(b if b != 0xFF else 0xFE for b in random.Random(7).randbytes(2048))
    return b"\xff\xd8" + app0 + dqt + sof0 + dht + sos + garbage + b"\xff\xd9"


# ----------------------------------------------------------------------------- CLI helpers

def run_tool(cmd, timeout=180):
    p = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


HIT_RX = re.compile(r"^\s*(\d+)\. d=(\d+)")


def parse_search_output(text):
    """greedyhash_search prints 'code <hex>' and lines printf'd as
    "  %2zu. d=%-3d %-5s %s" (rank, distance, verdict match/miss/blank, path)."""
    code = None
    hits = []
    for line in text.splitlines():
        m = re.match(r"^code ([0-9a-fA-F]+)\s*$", line)
        if m:
            code = m.group(1).lower()
            continue
        m = HIT_RX.match(line)
        if m:
            digits = m.group(2)
            rest = line[m.end():]
            rest = rest[max(0, 3 - len(digits)) + 1:]   # %-3d padding and the space
            verdict, path = rest[:5].strip(), rest[6:]
            if verdict not in ("", "match", "miss"):
                raise CaseFailure("cannot parse greedyhash_search line %r" % line)
            hits.append((int(m.group(1)), int(digits), path))
    return code, hits


def read_sidecar(index):
    with open(index + ".json") as f:
        return json.load(f)


def label_of(sidecar, item_id):
    labels = sidecar.get("labels")
    names = sidecar.get("class_names")
    if not labels or not names:
        return None
    return ",".join(names[i] for i in labels[item_id])


def metric_lines(text, name):
    """[(labels dict, value)] of the samples of `name` in Prometheus text."""
    out = []
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)", line)
        if not m or m.group(1) != name:
            continue
        labels = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m.group(3) or ""))
        try:
            out.append((labels, float(m.group(4))))
        except ValueError:
            out.append((labels, None))
    return out


def get_metrics(port):
    st, hd, body = http_req(port, "GET", "/metrics")
    check(st == 200, "GET /metrics -> %d %s" % (st, show(body)))
    return body.decode("utf-8", "replace")


# ----------------------------------------------------------------------------- the test

class Ctx:
    pass


def setup(ctx, args):
    run = os.path.abspath(args.run.rstrip("/"))
    m = re.fullmatch(r"bit_(\d+)", os.path.basename(run))
    check(m, "--run %s is not a folder named bit_<K>" % run)
    ctx.bit = int(m.group(1))
    ctx.bin = os.path.abspath(args.bin_dir)
    for tool in ("greedyhash_serve", "greedyhash_index", "greedyhash_search"):
        check(os.access(os.path.join(ctx.bin, tool), os.X_OK), "no executable %s in %s" % (tool, ctx.bin))
    ctx.work = os.path.abspath(args.work)
    ctx.out = os.path.join(ctx.work, "out")
    if os.path.exists(ctx.out):
        shutil.rmtree(ctx.out)
    ctx.rundir = os.path.join(ctx.out, "bit_%d" % ctx.bit)
    os.makedirs(ctx.rundir)
    for name in sorted(os.listdir(run)):
        src, dst = os.path.join(run, name), os.path.join(ctx.rundir, name)
        if name.startswith("database.faiss") or name.endswith(".lock"):
            continue                      # rebuilt below / a stale lock
        if os.path.isdir(src):
            shutil.copytree(src, dst)
        elif name.endswith(".pt"):
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)
        else:
            shutil.copy2(src, dst)
    check(os.path.exists(os.path.join(ctx.rundir, "config.json")), "the run folder has no config.json")
    ctx.index = os.path.join(ctx.rundir, "database.faiss")
    rc, out, err = run_tool([os.path.join(ctx.bin, "greedyhash_index"), "--bit", ctx.bit,
                             "--output-dir", ctx.out, "--threads", 2])
    check(rc == 0 and os.path.exists(ctx.index) and os.path.exists(ctx.index + ".json"),
          "greedyhash_index --bit %d --output-dir %s failed (rc %d):\n%s\n%s" % (ctx.bit, ctx.out, rc, out, err))
    ctx.sidecar = read_sidecar(ctx.index)
    ctx.saved = os.path.join(ctx.work, "saved")          # case 6 replaces database.faiss
    if os.path.exists(ctx.saved):
        shutil.rmtree(ctx.saved)
    os.makedirs(ctx.saved)
    for f in (ctx.index, ctx.index + ".json"):
        shutil.copy2(f, ctx.saved)
    ctx.items = ctx.sidecar["items"]

    imgs = []
    for root, dirs, files in os.walk(os.path.abspath(args.images)):
        dirs.sort()
        for f in sorted(files):
            if f.lower().endswith((".png", ".jpg", ".jpeg")):
                imgs.append(os.path.join(root, f))
    check(len(imgs) >= 3, "fewer than 3 images under --images %s" % args.images)
    # one per sub-folder (class) first, then the rest
    firsts, seen = [], set()
    for p in imgs:
        d = os.path.dirname(p)
        if d not in seen:
            seen.add(d)
            firsts.append(p)
    ctx.queries = (firsts + [p for p in imgs if p not in firsts])[:3]
    ctx.query_bytes = [open(p, "rb").read() for p in ctx.queries]
    ctx.png = next((p for p in imgs if p.lower().endswith(".png")), None)
    ctx.jpeg_path = os.path.join(ctx.work, "query.jpg")
    with open(ctx.jpeg_path, "wb") as f:
        f.write(QUERY_JPEG)


def start_background_tools(ctx):
    """greedyhash_search for every query (2 at a time) and the second index for the reload
    case, while the service loads."""
    ctx.cli = {}
    jobs = []
    for i, img in enumerate(ctx.queries + [ctx.jpeg_path]):
        jobs.append(("search", img, [os.path.join(ctx.bin, "greedyhash_search"), "--index", ctx.index,
                                     "--image", img, "--topk", 6, "--threads", 1,
                                     "--mosaic", os.path.join(ctx.work, "x%d.png" % i)]))
    ctx.index2_dir = os.path.join(ctx.work, "index2")
    if os.path.exists(ctx.index2_dir):
        shutil.rmtree(ctx.index2_dir)
    os.makedirs(ctx.index2_dir)
    ctx.index2 = os.path.join(ctx.index2_dir, "db2.faiss")
    jobs.append(("index2", None, [os.path.join(ctx.bin, "greedyhash_index"), "--bit", ctx.bit,
                                  "--output-dir", ctx.out, "--images", ctx.images_dir,
                                  "--output", ctx.index2, "--threads", 1]))
    sem = threading.Semaphore(2)

    def work(kind, img, cmd):
        with sem:
            try:
                res = run_tool(cmd)
            except Exception as e:
                res = (-1, "", "%s: %s" % (type(e).__name__, e))
        ctx.cli[(kind, img)] = (cmd, res)

    ctx.tool_threads = [threading.Thread(target=work, args=j, daemon=True) for j in jobs]
    for t in ctx.tool_threads:
        t.start()


def wait_tools(ctx):
    for t in ctx.tool_threads:
        t.join(timeout=240)


def cli_result(ctx, img):
    cmd, (rc, out, err) = ctx.cli[("search", img)]
    check(rc == 0, "%s failed (rc %d): %s" % (" ".join(map(str, cmd)), rc, err[-2000:]))
    code, hits = parse_search_output(out)
    check(code and hits, "cannot find 'code <hex>' and the hit lines in greedyhash_search's output:\n" + out)
    return code, hits


# --- case 1

def case_search_matches_cli(ctx, img, body):
    code, hits = cli_result(ctx, img)
    st, hd, resp = search(ctx.port, body, k=6)
    check(st == 200, "POST /search?k=6 (%s) -> %d %s" % (img, st, show(resp)))
    check(hd.get("content-type", "").startswith("application/json"),
          "Content-Type %r, not application/json" % hd.get("content-type"))
    j = json_body(resp)
    check(isinstance(j, dict), "body is not a JSON object: %s" % show(resp))
    ctx.searches_200 += 1
    got = [(r.get("rank"), r.get("distance"), r.get("path")) for r in j.get("results", [])]
    check(got == hits, "results differ from greedyhash_search --topk 6:\n  service: %s\n  CLI:     %s" % (got, hits))
    check(str(j.get("code", "")).lower() == code,
          "code %r, greedyhash_search printed code %s" % (j.get("code"), code))
    ctx.codes_seen.add(code)
    check(j.get("bits") == ctx.bit, "bits %r, expected %d" % (j.get("bits"), ctx.bit))
    for r in j["results"]:
        i = r.get("id")
        check(isinstance(i, int) and 0 <= i < len(ctx.items) and ctx.items[i] == r["path"],
              "result %s: id does not name that path in the index sidecar (items[id] = %r)" % (
                  r, ctx.items[i] if isinstance(i, int) and 0 <= i < len(ctx.items) else None))
        want = label_of(ctx.sidecar, i)
        check(r.get("label") == want, "result %s: label %r, expected %r" % (r, r.get("label"), want))
    tm = j.get("timing_ms")
    check(isinstance(tm, dict) and all(isinstance(tm.get(k), (int, float)) and tm[k] >= 0
                                       for k in ("decode", "encode", "search")),
          "timing_ms lacks non-negative decode/encode/search numbers: %r" % tm)
    ctx.first_hit = ctx.first_hit or j["results"][0]


def case_search_k_default(ctx):
    st, hd, resp = search(ctx.port, ctx.query_bytes[0])
    check(st == 200, "POST /search (no k) -> %d %s" % (st, show(resp)))
    ctx.searches_200 += 1
    j = json_body(resp)
    n = len(j.get("results", []))
    check(n == min(10, len(ctx.items)), "k defaults to 10: got %d results" % n)
    check([r["rank"] for r in j["results"]] == list(range(1, n + 1)), "ranks are not 1..%d" % n)
    d = [r["distance"] for r in j["results"]]
    check(d == sorted(d), "distances not ascending: %s" % d)


def case_search_k_max(ctx):
    st, hd, resp = search(ctx.port, ctx.query_bytes[1], k=1000)
    check(st == 200, "POST /search?k=1000 (= default --max-k) -> %d %s" % (st, show(resp)))
    ctx.searches_200 += 1
    n = len(json_body(resp).get("results", []))
    check(n == min(1000, len(ctx.items)), "k=1000 on %d items: got %d results" % (len(ctx.items), n))


# --- case 2

def case_items_first_hit(ctx):
    check(ctx.first_hit, "no search hit to fetch (case 1 failed)")
    i, path = ctx.first_hit["id"], ctx.first_hit["path"]
    st, hd, body = http_req(ctx.port, "GET", "/items/%d" % i)
    check(st == 200, "GET /items/%d -> %d %s" % (i, st, show(body)))
    want = open(path, "rb").read()
    check(body == want, "GET /items/%d: %d bytes, not the %d bytes of %s" % (i, len(body), len(want), path))
    ext = os.path.splitext(path)[1].lower()
    ctype = "image/png" if ext == ".png" else "image/jpeg"
    check(hd.get("content-type", "").split(";")[0].strip() == ctype,
          "GET /items/%d: Content-Type %r, expected %s" % (i, hd.get("content-type"), ctype))
    last = len(ctx.items) - 1
    st, hd, body = http_req(ctx.port, "GET", "/items/%d" % last)
    check(st == 200 and body == open(ctx.items[last], "rb").read(),
          "GET /items/%d (the last item) -> %d, %d bytes" % (last, st, len(body)))


def case_items_404(ctx, item):
    st, hd, body = http_req(ctx.port, "GET", "/items/" + item)
    check(st in (404, 400), "GET /items/%s -> %d %s (expected 404)" % (item, st, show(body)))
    if st != 404:
        note("GET /items/%s -> %d (spec says 404)" % (item, st))
    check_error_json("GET /items/%s" % item, body)


def case_items_traversal(ctx, target):
    passwd = open("/etc/passwd", "rb").read()
    req = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: close\r\n\r\n" % (target, HOST, ctx.port)).encode()
    st, hd, body, closed = raw_request(ctx.port, req)
    check(b"root:" not in body and passwd[:40] not in body, "GET %s served /etc/passwd: %s" % (target, show(body)))
    check(st in (404, 400), "raw GET %s -> %s %s (expected 404 or 400)" % (target, st, show(body)))


# --- case 3

def case_root_page(ctx):
    st, hd, body = http_req(ctx.port, "GET", "/")
    check(st == 200, "GET / -> %d %s" % (st, show(body)))
    check(hd.get("content-type", "").startswith("text/html"), "GET /: Content-Type %r" % hd.get("content-type"))
    html = body.decode("utf-8", "replace")
    for needle in ('id="file"', 'id="k"', 'id="drop"', 'id="query"', 'id="code"', 'id="status"', 'id="results"'):
        check(needle in html or needle.replace('"', "'") in html, "GET /: the page has no element with %s" % needle)
    ext = re.search(r"""(?:\b(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//|@import)""", html)
    check(not ext, "GET /: the page refers to an external URL: ...%s..." % html[max(0, ext.start() - 40):ext.end() + 60] if ext else "")


def case_healthz(ctx):
    st, hd, body = http_req(ctx.port, "GET", "/healthz")
    check(st == 200 and body == b"ok\n", "GET /healthz -> %d %s (expected 200 'ok\\n')" % (st, show(body)))
    check(hd.get("content-type", "").startswith("text/plain"), "GET /healthz: Content-Type %r" % hd.get("content-type"))


def case_metrics(ctx):
    st, hd, body = http_req(ctx.port, "GET", "/metrics")
    check(st == 200, "GET /metrics -> %d %s" % (st, show(body)))
    check(hd.get("content-type", "").startswith("text/plain"), "GET /metrics: Content-Type %r" % hd.get("content-type"))
    text = body.decode("utf-8", "replace")
    problems = []
    req = metric_lines(text, "greedyhash_requests_total")
    s200 = [v for lb, v in req if lb.get("path") == "/search" and lb.get("status") == "200"]
    if not req:
        problems.append("no greedyhash_requests_total samples")
    elif not s200 or s200[0] is None or s200[0] < ctx.searches_200:
        problems.append('greedyhash_requests_total{path="/search",status="200"} is %s, but %d searches answered 200'
                        % (s200, ctx.searches_200))
    q = metric_lines(text, "greedyhash_queue_depth")
    if not q:
        problems.append("no greedyhash_queue_depth")
    elif q[0][1] != 0:
        problems.append("greedyhash_queue_depth %s while idle" % q[0][1])
    n = metric_lines(text, "greedyhash_index_items")
    if not n or n[0][1] != len(ctx.items):
        problems.append("greedyhash_index_items %s, the index has %d items" % (n, len(ctx.items)))
    mi = metric_lines(text, "greedyhash_model_info")
    if not mi:
        problems.append("no greedyhash_model_info")
    else:
        lb, v = mi[0]
        if lb.get("index_sha256") != ctx.sidecar["index_sha256"]:
            problems.append("greedyhash_model_info index_sha256=%r, the sidecar says %s" % (
                lb.get("index_sha256"), ctx.sidecar["index_sha256"]))
        if lb.get("checkpoint_sha256") != ctx.sidecar.get("checkpoint_sha256"):
            problems.append("greedyhash_model_info checkpoint_sha256=%r, the sidecar says %s" % (
                lb.get("checkpoint_sha256"), ctx.sidecar.get("checkpoint_sha256")))
        if v != 1:
            problems.append("greedyhash_model_info value %s, expected 1" % v)
    for suffix in ("_bucket", "_sum", "_count"):
        if not metric_lines(text, "greedyhash_request_duration_seconds" + suffix):
            problems.append("no greedyhash_request_duration_seconds%s" % suffix)
    check(not problems, "; ".join(problems))


# --- case 4 (hostile); each is followed by GET /healthz (run_case(healthz_port=...))

def expect_error(what, st, body, codes, json_required=True):
    check(st in codes, "%s -> %s %s (expected %s)" % (what, st, show(body), "/".join(map(str, codes))))
    if json_required:
        check_error_json(what, body)


def case_body_over_limit(ctx):
    body = os.urandom(2 << 20)
    head = ("POST /search?k=3 HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body)).encode()
    c = Raw(ctx.port)
    try:
        t0 = time.monotonic()
        c.send(head)
        time.sleep(0.05)
        sent = c.send(body)
        c.read(t0 + 15)
        p = c.response()
        check(p is not None, "POST of 2 MB with --max-body-mb %d: no response (sent %d body bytes; %s; %s)" % (
            MAX_BODY_MB, sent, "connection reset" if c.reset else "closed" if c.closed else "timed out",
            c.send_error or "no send error"))
        expect_error("POST /search with a 2 MB body (--max-body-mb %d)" % MAX_BODY_MB, p[0], p[2], (413,))
    finally:
        c.close()


def case_chunked_over_limit(ctx):
    """The body limit must hold without a Content-Length too. libmicrohttpd 0.9.x cannot
    queue an answer while a body is arriving, so the service may close the connection
    instead of answering 413 (src/serve/http_server.cpp says so); both pass, a 2xx or a
    connection that takes the whole body and hangs do not."""
    c = Raw(ctx.port)
    try:
        t0 = time.monotonic()
        c.send(b"POST /search?k=3 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        piece = b"%x\r\n" % 65536 + os.urandom(65536) + b"\r\n"
        sent = 0
        while sent < (2 << 20) and not c.readable() and not c.send_error:
            sent += c.send(piece)
        if not c.readable() and not c.send_error:
            c.send(b"0\r\n\r\n")
        c.read(t0 + SERVICE_TIMEOUT_S + 5)
        p = c.response()
        if p is None:
            check(c.closed or c.send_error, "chunked POST of 2 MB (--max-body-mb %d): no answer and the "
                  "connection still open after %.1f s" % (MAX_BODY_MB, time.monotonic() - t0))
            note("chunked POST over the limit: connection closed without an answer (%s) after %d KB sent"
                 % ("reset" if c.reset else c.send_error or "EOF", sent // 1024))
            return
        expect_error("chunked POST /search of 2 MB (--max-body-mb %d)" % MAX_BODY_MB, p[0], p[2], (413,))
    finally:
        c.close()


def case_announced_100mb_then_close(ctx):
    c = Raw(ctx.port)
    try:
        t0 = time.monotonic()
        c.send(b"POST /search HTTP/1.1\r\nHost: x\r\nContent-Length: 104857600\r\n\r\n")
        c.send(os.urandom(1000))
        c.read(time.monotonic() + 1.0)           # an early 413?
        c.sock.shutdown(socket.SHUT_WR)          # then the client stops sending
        deadline = time.monotonic() + SERVICE_TIMEOUT_S + 3
        c.read(deadline, until_close=True)
        p = c.response()
        if p is not None:
            expect_error("POST announcing Content-Length 100 MB", p[0], p[2], (413,))
            note("Content-Length 100 MB -> %d after %.2f s" % (p[0], time.monotonic() - t0))
        else:
            check(c.closed, "POST announcing 100 MB, then the client half-closed: no answer and the "
                            "connection still open after %.1f s (--timeout-s %d)" % (
                                time.monotonic() - t0, SERVICE_TIMEOUT_S))
    finally:
        c.close()


def case_chunked_never_ends(ctx):
    c = Raw(ctx.port)
    try:
        c.send(b"POST /search HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        for _ in range(3):
            if c.readable():
                break
            c.send(b"10\r\n" + b"\x89PNG\r\n\x1a\n01234567" + b"\r\n", stop_when_answered=False)
            time.sleep(0.4)
        last = time.monotonic()
        c.read(last + SERVICE_TIMEOUT_S + 3, until_close=True)
        p = c.response()
        if p is not None and p[0] is not None and 400 <= p[0] < 500:
            return
        check(p is None, "chunked body that never ends -> %s %s" % ((p[0], show(p[2])) if p else (None, None)))
        check(c.closed, "chunked body that never ends: connection still open %.1f s after the last chunk "
                        "(--timeout-s %d)" % (time.monotonic() - last, SERVICE_TIMEOUT_S))
        note("chunked-never-ends connection closed %.1f s after the last chunk" % (c.closed_at - last))
    finally:
        c.close()


def header_case(ctx, what, headers):
    req = ("GET /healthz HTTP/1.1\r\nHost: x\r\n" + headers + "Connection: close\r\n\r\n").encode()
    c = Raw(ctx.port)
    try:
        c.send(req)
        c.read(time.monotonic() + SERVICE_TIMEOUT_S + 5)
        p = c.response()
        if p is None:
            check(c.closed, "%s: no answer and the connection still open" % what)
            note("%s: connection closed without an answer" % what)
            return
        check(p[0] is not None and 400 <= p[0] < 500,
              "%s -> %s %s (expected 431/413/400 or the connection closed)" % (what, p[0], show(p[2])))
        note("%s -> %d" % (what, p[0]))
    finally:
        c.close()


def case_many_headers(ctx):
    hs = "".join("X-Pad-%03d: %s\r\n" % (i, "a" * 88) for i in range(200))
    header_case(ctx, "GET /healthz with 200 headers of 100 bytes (%d bytes)" % len(hs), hs)


def case_huge_header(ctx):
    header_case(ctx, "GET /healthz with one 64 KB header", "X-Big: %s\r\n" % ("a" * 65536))


def case_bad_image(ctx, what, body, k=3):
    st, hd, resp = search(ctx.port, body, k=k)
    expect_error("POST /search with %s" % what, st, resp, (400,))


def case_bomb(ctx, what, body):
    t0 = time.monotonic()
    st, hd, resp = search(ctx.port, body, k=3, timeout=30)
    dt = time.monotonic() - t0
    expect_error("POST /search with %s (%d bytes)" % (what, len(body)), st, resp, (413,))
    check(dt < 2.0, "POST /search with %s took %.2f s (expected < 2 s)" % (what, dt))


def case_bad_k(ctx, k):
    st, hd, resp = search(ctx.port, ctx.query_bytes[0], k=k)
    expect_error("POST /search?k=%s" % k, st, resp, (400,))


def case_wrong_method(ctx):
    st, hd, body = http_req(ctx.port, "GET", "/search")
    expect_error("GET /search", st, body, (405,))


def case_unknown_path(ctx):
    st, hd, body = http_req(ctx.port, "GET", "/nope")
    expect_error("GET /nope", st, body, (404,))


def case_slow_client(ctx):
    c = Raw(ctx.port)
    try:
        t0 = time.monotonic()
        c.send(b"POST /search HTTP/1.1\r\n")
        c.read(t0 + SERVICE_TIMEOUT_S + 3, until_close=True)
        p = c.response()
        check(c.closed, "a client that sent only the request line: connection still open after %.1f s "
                        "(--timeout-s %d)" % (time.monotonic() - t0, SERVICE_TIMEOUT_S))
        if p is not None:
            check(p[0] is not None and 400 <= p[0] < 500, "slow client -> %s %s" % (p[0], show(p[2])))
        note("slow client closed after %.1f s" % (c.closed_at - t0))
    finally:
        c.close()


# --- case 6 (reload)

class SearchStream(threading.Thread):
    """Searches back to back until stopped; records every failure."""

    def __init__(self, port, body):
        super().__init__(daemon=True)
        self.port, self.body = port, body
        self.stop_flag = threading.Event()
        self.ok = 0
        self.errors = []

    def run(self):
        while not self.stop_flag.is_set():
            try:
                st, hd, resp = search(self.port, self.body, k=3, timeout=30)
                if st == 200 and isinstance(json_body(resp), dict) and json_body(resp).get("results"):
                    self.ok += 1
                else:
                    self.errors.append("%d %s" % (st, show(resp, 200)))
            except Exception as e:
                self.errors.append("%s: %s" % (type(e).__name__, e))
            time.sleep(0.01)

    def finish(self):
        self.stop_flag.set()
        self.join(timeout=40)
        check(not self.errors, "concurrent searches failed during the reload (%d ok, %d failed): %s" % (
            self.ok, len(self.errors), "; ".join(self.errors[:5])))
        check(self.ok > 0, "no concurrent search completed during the reload")
        return self.ok


def case_reload_sighup(ctx, svc):
    stream = SearchStream(ctx.port, ctx.query_bytes[0])
    stream.start()
    time.sleep(0.3)
    n = svc.count("stderr")
    t0 = time.monotonic()
    svc.proc.send_signal(signal.SIGHUP)
    m = svc.wait_line("stderr", r"reloaded", start=n, timeout=RELOAD_DEADLINE_S + 5, reject=r"reload failed")
    dt = time.monotonic() - t0
    time.sleep(0.5)
    n_ok = stream.finish()
    check(m, "SIGHUP: no 'reloaded' line on stderr within %.0f s; stderr since the signal:\n%s" % (
        RELOAD_DEADLINE_S + 5, "\n".join(svc.lines["stderr"][n:]) or "(nothing)"))
    note("SIGHUP reload logged after %.2f s; %d concurrent searches, all 200" % (dt, n_ok))
    st, hd, resp = search(ctx.port, ctx.query_bytes[1], k=6)
    check(st == 200, "after SIGHUP: POST /search -> %d %s" % (st, show(resp)))
    check(svc.proc.poll() is None, "the service exited after SIGHUP (status %s)" % svc.proc.returncode)


def case_reload_rename(ctx, svc):
    cmd, (rc, out, err) = ctx.cli[("index2", None)]
    check(rc == 0 and os.path.exists(ctx.index2) and os.path.exists(ctx.index2 + ".json"),
          "building the second index failed: %s (rc %d) %s" % (" ".join(map(str, cmd)), rc, err[-1500:]))
    side2 = read_sidecar(ctx.index2)
    check(side2["index_sha256"] != ctx.sidecar["index_sha256"], "the second index equals the first")
    stream = SearchStream(ctx.port, ctx.query_bytes[2])
    stream.start()
    time.sleep(0.3)
    n = svc.count("stderr")
    t0 = time.monotonic()
    os.replace(ctx.index2 + ".json", ctx.index + ".json")
    os.replace(ctx.index2, ctx.index)
    m = svc.wait_line("stderr", r"reloaded|reload failed", start=n, timeout=RELOAD_DEADLINE_S)
    dt = time.monotonic() - t0
    time.sleep(0.5)
    try:
        n_ok = stream.finish()
    finally:
        ctx.sidecar2 = side2
    check(m, "the index was replaced by rename: no 'reloaded' line on stderr within %.0f s; stderr since:\n%s" % (
        RELOAD_DEADLINE_S, "\n".join(svc.lines["stderr"][n:]) or "(nothing)"))
    check("reload failed" not in m.string, "replacing the index by a valid one logged: %s" % m.string)
    note("rename reload logged after %.2f s; %d concurrent searches, all 200" % (dt, n_ok))
    # the new index is the one answering
    text = get_metrics(ctx.port)
    n_items = metric_lines(text, "greedyhash_index_items")
    check(n_items and n_items[0][1] == len(side2["items"]),
          "after the reload greedyhash_index_items is %s, the new index has %d items" % (n_items, len(side2["items"])))
    mi = metric_lines(text, "greedyhash_model_info")
    check(mi and mi[0][0].get("index_sha256") == side2["index_sha256"],
          "after the reload greedyhash_model_info says index_sha256=%r, the new index's is %s" % (
              mi[0][0].get("index_sha256") if mi else None, side2["index_sha256"]))
    st, hd, resp = search(ctx.port, ctx.query_bytes[0], k=100)
    check(st == 200, "after the reload POST /search -> %d %s" % (st, show(resp)))
    paths = [r["path"] for r in json_body(resp)["results"]]
    check(len(paths) == len(side2["items"]) and set(paths) <= set(side2["items"]),
          "after the reload the results are not the new index's items: %s" % paths[:5])


def case_reload_broken(ctx, svc):
    check(getattr(ctx, "sidecar2", None), "needs the rename case's index")
    side2 = ctx.sidecar2
    garbage = os.path.join(ctx.work, "garbage.faiss")
    with open(garbage, "wb") as f:
        f.write(random.Random(3).randbytes(4096))
    stream = SearchStream(ctx.port, ctx.query_bytes[1])
    stream.start()
    time.sleep(0.2)
    n = svc.count("stderr")
    t0 = time.monotonic()
    os.replace(garbage, ctx.index)
    m = svc.wait_line("stderr", r"reload failed|reloaded", start=n, timeout=RELOAD_DEADLINE_S)
    time.sleep(0.5)
    stream.finish()
    check(m, "garbage renamed over database.faiss: no 'reload failed' line on stderr within %.0f s; stderr since:\n%s" % (
        RELOAD_DEADLINE_S, "\n".join(svc.lines["stderr"][n:]) or "(nothing)"))
    check("reload failed" in m.string, "garbage renamed over database.faiss logged: %s" % m.string)
    note("'reload failed' logged after %.2f s: %s" % (time.monotonic() - t0, m.string))
    st, hd, resp = search(ctx.port, ctx.query_bytes[0], k=100)
    check(st == 200, "after the failed reload POST /search -> %d %s" % (st, show(resp)))
    paths = [r["path"] for r in json_body(resp)["results"]]
    check(len(paths) == len(side2["items"]) and set(paths) <= set(side2["items"]),
          "after the failed reload the results are not the previous index's: %s" % paths[:5])
    check(svc.proc.poll() is None, "the service exited after a broken index (status %s)" % svc.proc.returncode)


# --- case 5 (queue full)

def case_queue_full(ctx, port):
    body = ctx.query_bytes[0]
    barrier = threading.Barrier(3)
    results = [None] * 3

    def one(i):
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        try:
            conn.connect()
            barrier.wait(timeout=10)
            t0 = time.monotonic()
            conn.request("POST", "/search?k=3", body=body, headers={"Content-Type": "image/png"})
            r = conn.getresponse()
            data = r.read()
            results[i] = (r.status, time.monotonic() - t0, data)
        except Exception as e:
            results[i] = (None, None, "%s: %s" % (type(e).__name__, e))
        finally:
            conn.close()

    ts = [threading.Thread(target=one, args=(i,)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=40)
    desc = "; ".join("%s after %s s %s" % (st, "%.2f" % dt if dt is not None else "?",
                                          show(d, 120) if isinstance(d, bytes) else d) for st, dt, d in results)
    sts = [r[0] for r in results]
    check(sts.count(503) == 1 and sts.count(200) == 2,
          "3 concurrent POST /search with --queue-size 2 --max-batch 100 --batch-wait-ms 3000: "
          "expected two 200 and one 503, got: " + desc)
    for st, dt, d in results:
        if st == 503:
            check(dt < 1.0, "the 503 took %.2f s (expected at once, < 1 s)" % dt)
            check_error_json("the 503", d)
        else:
            check(2.0 <= dt <= 10.0, "a 200 came after %.2f s (expected ~3 s: the batch waits 3000 ms)" % dt)
    note("queue-full: " + "; ".join("%s after %.2f s" % (st, dt) for st, dt, d in results))


def case_queue_full_metrics(ctx, port):
    text = get_metrics(port)
    req = metric_lines(text, "greedyhash_requests_total")
    s503 = [v for lb, v in req if lb.get("path") == "/search" and lb.get("status") == "503"]
    check(s503 and s503[0] >= 1, 'greedyhash_requests_total{path="/search",status="503"} is %s after a 503; samples: %s'
          % (s503, req))


# --- case 7 (SIGTERM)

def case_sigterm_inflight(ctx, svc):
    res = {}

    def req():
        try:
            t0 = time.monotonic()
            res["r"] = search(svc.port, ctx.query_bytes[0], k=3, timeout=30)
            res["dt"] = time.monotonic() - t0
        except Exception as e:
            res["e"] = "%s: %s" % (type(e).__name__, e)

    t = threading.Thread(target=req)
    t.start()
    # wait until the request is pending in the batcher
    deadline = time.monotonic() + 1.0
    pending = False
    while time.monotonic() < deadline:
        try:
            q = metric_lines(get_metrics(svc.port), "greedyhash_queue_depth")
            if q and q[0][1] and q[0][1] >= 1:
                pending = True
                break
        except Exception:
            pass
        time.sleep(0.05)
    if not pending:
        note("greedyhash_queue_depth never showed the pending request; sending SIGTERM anyway")
    t_sig = time.monotonic()
    svc.proc.send_signal(signal.SIGTERM)
    t.join(timeout=30)
    try:
        rc = svc.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        rc = None
    for r in svc.readers:
        r.join(timeout=3)
    check("e" not in res, "the request in flight at SIGTERM failed: %s" % res.get("e"))
    check("r" in res, "the request in flight at SIGTERM got no answer in 30 s")
    st, hd, body = res["r"]
    check(st == 200 and json_body(body) and json_body(body).get("results"),
          "the request in flight at SIGTERM -> %d %s" % (st, show(body)))
    check(rc is not None, "the service did not exit within 20 s of SIGTERM")
    check(rc == 0, "the service exited with status %s after SIGTERM; stderr:\n%s" % (rc, svc.tail()))
    allout = svc.lines["stdout"] + svc.lines["stderr"]
    check(any("greedyhash_serve: stopped" in l for l in allout),
          "no 'greedyhash_serve: stopped' line after SIGTERM; stdout:\n%s\nstderr:\n%s" % (svc.tail("stdout"), svc.tail()))
    note("SIGTERM: request answered after %.2f s, exit %.2f s after the signal" % (res["dt"], time.monotonic() - t_sig))


# ----------------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin-dir", required=True)
    ap.add_argument("--run", required=True)
    ap.add_argument("--images", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    t_start = time.monotonic()
    os.makedirs(args.work, exist_ok=True)
    # SIGTERM to this script still runs the cleanup below; a hung run ends after 300 s
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

    def watchdog():
        print("FAIL watchdog: the test ran over 300 s; killing the services", flush=True)
        for s in SERVICES:
            s.kill()
        os._exit(1)

    timer = threading.Timer(300, watchdog)
    timer.daemon = True
    timer.start()
    ctx = Ctx()
    ctx.images_dir = os.path.abspath(args.images)
    ctx.searches_200 = 0
    ctx.codes_seen = set()
    ctx.first_hit = None
    try:
        if not run_case("setup_copy_run_and_index", setup, ctx, args):
            return 1
        start_background_tools(ctx)

        common = ["--threads", 2, "--timeout-s", SERVICE_TIMEOUT_S]
        main_svc = start_service(ctx.bin, ["--index", ctx.index, "--port", 0, "--max-body-mb", MAX_BODY_MB,
                                           "--watch-interval-ms", 500] + common, "main service")
        if not run_case("service_starts", lambda: setattr(ctx, "port", main_svc.wait_listening())):
            return 1
        note("main service on port %d after %.1f s" % (ctx.port, time.monotonic() - t_start))
        m = re.search(r"\((\d+) items, (\d+)-bit codes\)", main_svc.lines["stdout"][0] if main_svc.lines["stdout"] else "")
        run_case("listening_line_counts", lambda: check(
            m and int(m.group(1)) == len(ctx.items) and int(m.group(2)) == ctx.bit,
            "listening line %r should say (%d items, %d-bit codes)" % (
                main_svc.lines["stdout"][:1], len(ctx.items), ctx.bit)))
        wait_tools(ctx)

        # 1. searches agree with greedyhash_search
        for img, body in zip(ctx.queries, ctx.query_bytes):
            run_case("search_matches_cli[%s]" % os.path.relpath(img, ctx.images_dir),
                     case_search_matches_cli, ctx, img, body)
        run_case("search_matches_cli[jpeg]", case_search_matches_cli, ctx, ctx.jpeg_path, QUERY_JPEG)
        # A model that gives every image one code would make the comparison above vacuous
        # (every distance 0, ties in index order): the run must tell the queries apart.
        run_case("queries_have_codes_of_their_own", lambda: check(
            len(ctx.codes_seen) >= 3, "the queries' codes %s: use a run whose codes follow the "
            "images (tests/e2e: E2E.Serve gives the run freshly initialised weights)" %
            sorted(ctx.codes_seen)))
        run_case("search_k_default_10", case_search_k_default, ctx)
        run_case("search_k_1000_returns_all", case_search_k_max, ctx)

        # 2. items
        run_case("items_first_hit_bytes", case_items_first_hit, ctx)
        for item in ("999999", str(len(ctx.items)), "-1", "abc", "", "1.5"):
            run_case("items_404[%s]" % item, case_items_404, ctx, item)
        for target in ("/items/../../etc/passwd", "/items/0/../../../../../etc/passwd",
                       "/items/..%2f..%2f..%2fetc%2fpasswd", "/items/%2e%2e/%2e%2e/etc/passwd",
                       "/../../../../etc/passwd"):
            run_case("items_traversal[%s]" % target, case_items_traversal, ctx, target)

        # 3. page, health, metrics
        run_case("root_page", case_root_page, ctx)
        run_case("healthz", case_healthz, ctx)
        run_case("metrics", case_metrics, ctx)

        # the services of cases 5 and 7 load meanwhile, from a copy of the first index
        # (case 6 replaces database.faiss)
        saved_index = os.path.join(ctx.saved, "database.faiss")
        qsvc = start_service(ctx.bin, ["--index", saved_index, "--port", 0, "--queue-size", 2,
                                       "--max-batch", 100, "--batch-wait-ms", 3000] + common, "queue service")
        tsvc = start_service(ctx.bin, ["--index", saved_index, "--port", 0,
                                       "--batch-wait-ms", 1500] + common, "SIGTERM service")

        # 4. hostile clients; /healthz must answer after each
        hp = ctx.port
        png_bytes = open(ctx.png, "rb").read() if ctx.png else ctx.query_bytes[0]
        hostile = [
            ("hostile_body_over_limit_413", case_body_over_limit, ()),
            ("hostile_chunked_body_over_limit_413_or_closed", case_chunked_over_limit, ()),
            ("hostile_content_length_100mb_then_close", case_announced_100mb_then_close, ()),
            ("hostile_chunked_never_ends", case_chunked_never_ends, ()),
            ("hostile_200_headers", case_many_headers, ()),
            ("hostile_64kb_header", case_huge_header, ()),
            ("hostile_truncated_png_400", case_bad_image, ("the first 100 bytes of a PNG", png_bytes[:100])),
            ("hostile_truncated_jpeg_400", case_bad_image, ("the first 100 bytes of a JPEG", QUERY_JPEG[:100])),
            ("hostile_truncated_jpeg_half_400", case_bad_image, ("the first half of a JPEG", QUERY_JPEG[:len(QUERY_JPEG) // 2])),
            ("hostile_random_bytes_400", case_bad_image, ("4 KB of random bytes", random.Random(1).randbytes(4096))),
            ("hostile_empty_body_400", case_bad_image, ("an empty body", b"")),
            ("hostile_png_bomb_413", case_bomb, ("a PNG whose IHDR declares 50000x50000", png_bomb())),
            ("hostile_jpeg_bomb_413", case_bomb, ("a JPEG whose SOF0 declares 50000x50000", jpeg_bomb())),
        ]
        for k in ("0", "-1", "abc", "100000", "1001", "1.5", "3x"):
            hostile.append(("hostile_bad_k_400[k=%s]" % k, case_bad_k, (k,)))
        hostile += [
            ("hostile_get_search_405", case_wrong_method, ()),
            ("hostile_unknown_path_404", case_unknown_path, ()),
            ("hostile_slow_client_closed", case_slow_client, ()),
        ]
        for name, fn, extra in hostile:
            run_case(name, fn, ctx, *extra, healthz_port=hp)

        # 6. reload (last on this service: it replaces the index)
        run_case("reload_sighup", case_reload_sighup, ctx, main_svc)
        run_case("reload_rename", case_reload_rename, ctx, main_svc)
        run_case("reload_broken_keeps_old", case_reload_broken, ctx, main_svc)
        main_svc.stop()

        # 5. queue full
        if run_case("queue_service_starts", qsvc.wait_listening):
            run_case("queue_full_503", case_queue_full, ctx, qsvc.port)
            run_case("queue_full_metrics_503", case_queue_full_metrics, ctx, qsvc.port)
        qsvc.stop()

        # 7. SIGTERM with a request in flight
        if run_case("sigterm_service_starts", tsvc.wait_listening):
            run_case("sigterm_inflight_answered_exit0_stopped", case_sigterm_inflight, ctx, tsvc)
    finally:
        for s in SERVICES:
            s.kill()
    print("%d passed, %d failed in %.1f s" % (len(PASSES), len(FAILURES), time.monotonic() - t_start), flush=True)
    if FAILURES:
        print("failed: " + ", ".join(FAILURES), flush=True)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
