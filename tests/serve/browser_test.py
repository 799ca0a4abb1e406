#!/usr/bin/python3
"""Browser test of greedyhash_serve's page, driven by headless Chromium through Selenium.

  browser_test.py --bin-dir DIR --run RUN_DIR --image IMG [--expect-first PATH_OR_EMPTY]
                  --screenshot OUT.png --work SCRATCH

1. Copies the trained run RUN_DIR (.../bit_N) to SCRATCH/out/bit_N (.pt files hard-linked,
   .json files copied) and indexes it with DIR/greedyhash_index --bit N.
2. Starts DIR/greedyhash_serve --index SCRATCH/out/bit_N/database.faiss --port 0 and reads
   its "listening on http://127.0.0.1:PORT/" line; meanwhile asks DIR/greedyhash_search for
   the expected answer (first path, its distance, the query's code).
3. Opens the page in headless Chromium: no request leaves the page's origin, no console
   errors; sets input#k to 6, chooses IMG in input#file, waits for div#status
   data-state="done", then checks the hits (6 div.hit, loaded images, ascending distances,
   first path and distance as greedyhash_search's), code#code and the query preview;
   saves a screenshot to OUT.png.
4. Chooses a text file named .png: data-state must become "error" with the message shown
   (screenshot: OUT-error.png).
5. Stops the service with SIGTERM: exit 0 and "greedyhash_serve: stopped".

Prints PASS/FAIL per check. Exit 0: all passed; 1: a check failed; 77: skipped because
Chromium, chromedriver or Selenium is missing (Debian: chromium chromium-driver
python3-selenium), or the binaries were built without FAISS.
"""
import argparse
import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

SKIP_EXIT = 77
PACKAGES = "(Debian: chromium chromium-driver python3-selenium)"
START = time.monotonic()


def elapsed():
    return time.monotonic() - START


def log(message):
    print(f"[{elapsed():5.1f}s] {message}", flush=True)


class Checks:
    def __init__(self):
        self.failed = []
        self.passed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            if len(detail) > 160:
                detail = detail[:157] + "..."
            print(f"PASS: {name}" + (f" ({detail})" if detail else ""), flush=True)
        else:
            self.failed.append(name)
            print(f"FAIL: {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok


class Fatal(Exception):
    """A failure after which the remaining checks cannot run."""


def skip(what):
    print(f"SKIP: {what} {PACKAGES}", flush=True)
    sys.exit(SKIP_EXIT)


def find_browser():
    """Selenium, chromium and chromedriver, or exit 77 naming what is missing."""
    missing = []
    try:
        import selenium  # noqa: F401
        from selenium import webdriver  # noqa: F401
    except ImportError as error:
        missing.append(f"python3-selenium ({error})")
    chromium = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                                 shutil.which("chromium-browser") or "")
                     if p and os.access(p, os.X_OK)), None)
    if not chromium:
        missing.append("chromium")
    driver = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "")
                   if p and os.access(p, os.X_OK)), None)
    if not driver:
        missing.append("chromedriver")
    if missing:
        skip(", ".join(missing) + " missing")
    return chromium, driver


def tail(text, lines=15):
    return "\n".join(text.strip().splitlines()[-lines:])


# ---------------------------------------------------------------- run, index, search


def copy_run(run_dir, out_dir):
    """RUN_DIR/bit_N -> out_dir/bit_N: .pt files hard-linked (copied across file systems),
    .json files copied (not a previous index's sidecar). Returns (N, the copy)."""
    name = os.path.basename(os.path.normpath(run_dir))
    m = re.fullmatch(r"bit_(\d+)", name)
    if not m:
        raise Fatal(f"--run {run_dir}: the folder is not named bit_N")
    target = os.path.join(out_dir, name)
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(target)
    for entry in sorted(os.listdir(run_dir)):
        source = os.path.join(run_dir, entry)
        if not os.path.isfile(source):
            continue
        if entry.endswith(".pt"):
            try:
                os.link(source, os.path.join(target, entry))
            except OSError:
                shutil.copy2(source, os.path.join(target, entry))
        elif entry.endswith(".json") and not entry.startswith("database"):
            shutil.copy2(source, os.path.join(target, entry))
    return int(m.group(1)), target


def run_tool(command, timeout):
    log("$ " + " ".join(command))
    try:
        r = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fatal(f"{os.path.basename(command[0])} took over {timeout} s")
    return r.returncode, r.stdout


RESULT_LINE = re.compile(r"^\s*(\d+)\.\s+d=(\d+)\s+(?:(?:match|miss)\s+)?(.*?)\s*$")


def parse_search(output):
    """greedyhash_search's output -> (code, [(rank, distance, path)])."""
    code = None
    hits = []
    for line in output.splitlines():
        if line.startswith("code "):
            code = line[len("code "):].strip()
        m = RESULT_LINE.match(line)
        if m:
            hits.append((int(m.group(1)), int(m.group(2)), m.group(3)))
    return code, hits


# ---------------------------------------------------------------- the service


class Service:
    LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:(\d+)/)")

    def __init__(self, command, stderr_path):
        log("$ " + " ".join(command))
        self.stderr_path = stderr_path
        self.stderr_file = open(stderr_path, "w")
        self.proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self.stderr_file,
                                     text=True, bufsize=1)
        self.lines = queue.Queue()
        self.stdout = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self.stdout.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def stderr_tail(self):
        try:
            if not self.stderr_file.closed:
                self.stderr_file.flush()
            with open(self.stderr_path) as f:
                return tail(f.read())
        except OSError:
            return ""

    def wait_listening(self, timeout):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Fatal(f"greedyhash_serve printed no 'listening on' line in {timeout} s; "
                            f"stdout: {''.join(self.stdout)!r}; stderr:\n{self.stderr_tail()}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line is None:
                self.proc.wait()
                raise Fatal(f"greedyhash_serve exited with {self.proc.returncode} before "
                            f"listening; stdout: {''.join(self.stdout)!r}; stderr:\n"
                            f"{self.stderr_tail()}")
            m = self.LISTENING.search(line)
            if m:
                return line.strip(), m.group(1)

    def stop(self, timeout=15):
        """SIGTERM, then SIGKILL after timeout. Returns (exit status, whether it was killed)."""
        killed = False
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                killed = True
        self.reader.join(timeout=5)
        self.stderr_file.close()
        return self.proc.returncode, killed


# ---------------------------------------------------------------- the browser


def start_browser(chromium, chromedriver):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1280,900",
                     "--no-first-run", "--no-default-browser-check",
                     "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--disable-extensions"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    try:
        driver = webdriver.Chrome(service=DriverService(chromedriver), options=options)
    except Exception as error:  # a browser that is installed but cannot start
        skip(f"headless chromium could not start ({str(error).strip().splitlines()[0]})")
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(10)
    # JS errors and rejected promises of the page, in addition to the console log.
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": """
        window.__testErrors = [];
        // Script errors only: a resource that fails to load (an img of the non-image)
        // is not one, and the hits' images are checked by naturalWidth.
        window.addEventListener('error', e => {
            if (e instanceof ErrorEvent) window.__testErrors.push(
                'error: ' + e.message + ' at ' + e.filename + ':' + e.lineno);
        });
        window.addEventListener('unhandledrejection', e => window.__testErrors.push(
            'unhandled rejection: ' + (e.reason && (e.reason.stack || e.reason))));
    """})
    return driver


class BrowserLogs:
    """The console and network events, drained from the driver phase by phase."""

    def __init__(self, driver):
        self.driver = driver

    def console(self):
        try:
            return self.driver.get_log("browser")
        except Exception as error:
            return [{"level": "SEVERE", "source": "test", "message": f"get_log failed: {error}"}]

    def requests(self):
        """URLs of the requests the page sent since the last call."""
        urls = []
        for entry in self.driver.get_log("performance"):
            try:
                message = json.loads(entry["message"])["message"]
            except (KeyError, ValueError):
                continue
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
            elif message.get("method") == "Network.webSocketCreated":
                urls.append(message["params"]["url"])
        return urls


def same_origin(url, base):
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about", "javascript", ""):
        return True if parts.scheme != "blob" else same_origin(url[len("blob:"):], base)
    b = urlsplit(base)
    return (parts.scheme, parts.hostname, parts.port or 80) == \
        (b.scheme, b.hostname, b.port or 80)


def console_errors(entries, allow_http_errors=False):
    """Console entries that count as errors. A favicon request is not the page's doing; with
    allow_http_errors a 4xx answer the page provoked on purpose is expected."""
    errors = []
    for e in entries:
        if e.get("level") != "SEVERE":
            continue
        message = e.get("message", "")
        if "favicon.ico" in message:
            continue
        if allow_http_errors and e.get("source") == "network" and \
                re.search(r"status of 4\d\d", message):
            continue
        errors.append(f"[{e.get('source')}] {message}")
    return errors


def page_errors(driver):
    try:
        return driver.execute_script("return window.__testErrors || []") or []
    except Exception as error:
        return [f"could not read the page's errors: {error}"]


def state_of(driver):
    return driver.execute_script("""
        const s = document.getElementById('status');
        return s ? [s.getAttribute('data-state'), s.textContent.trim()] : [null, null];""")


def wait_state(driver, wanted, timeout):
    """Waits until div#status's data-state is one of wanted; returns (state, text, seconds or
    None on timeout, the states seen while waiting)."""
    t0 = time.monotonic()
    state, text = None, None
    seen = []
    while time.monotonic() - t0 < timeout:
        state, text = state_of(driver)
        if not seen or seen[-1] != state:
            seen.append(state)
        if state in wanted:
            return state, text, time.monotonic() - t0, seen
        time.sleep(0.1)
    return state, text, None, seen


HITS_JS = """
const hits = [...document.querySelectorAll('#results div.hit')];
return hits.map(h => {
  const img = h.querySelector('img');
  const text = sel => { const e = h.querySelector(sel); return e ? e.textContent.trim() : null; };
  return {
    img: img ? {src: img.getAttribute('src'), url: img.src, complete: img.complete,
                width: img.naturalWidth} : null,
    rank: text('span.rank'), distance: text('span.distance'),
    label: text('span.label'), path: text('span.path')};
});"""


def number_in(text):
    m = re.search(r"-?\d+(?:\.\d+)?", text or "")
    return float(m.group(0)) if m else None


def check_page(driver, logs, base, args, expected, checks, work):
    """Everything the browser checks; raises Fatal when the rest cannot run."""
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.common.by import By

    # ---- the page loads, self-contained
    driver.get(base)
    t0 = time.monotonic()
    while driver.execute_script("return document.readyState") != "complete" and \
            time.monotonic() - t0 < 10:
        time.sleep(0.05)
    missing = driver.execute_script("""
        const want = {'file': 'INPUT', 'k': 'INPUT', 'drop': 'DIV', 'query': 'IMG',
                      'code': 'CODE', 'status': 'DIV', 'results': 'DIV'};
        return Object.entries(want).filter(([id, tag]) => {
          const e = document.getElementById(id); return !e || e.tagName !== tag;
        }).map(([id, tag]) => tag.toLowerCase() + '#' + id + ' (' +
          (document.getElementById(id) ? 'is ' + document.getElementById(id).tagName
                                        : 'missing') + ')');""")
    checks.check("page has input#file, input#k, div#drop, img#query, code#code, div#status, "
                 "div#results", not missing, ", ".join(missing))
    if missing and any(m.startswith(("input#file", "div#status", "div#results"))
                       for m in missing):
        raise Fatal("the page lacks the elements the rest of the test needs")
    file_type, accept = driver.execute_script(
        "const f = document.getElementById('file'); return [f.type, f.accept];")
    checks.check("input#file is type=file accepting image/*",
                 file_type == "file" and "image" in (accept or ""),
                 f"type={file_type!r} accept={accept!r}")
    state, text = state_of(driver)
    checks.check('div#status starts with data-state="idle"', state == "idle",
                 f"data-state={state!r} text={text!r}")

    # Self-contained: every src/href in the DOM and every request sent stays on the origin.
    refs = driver.execute_script("""
        return [...document.querySelectorAll('[src],[href]')].map(
          e => e.tagName.toLowerCase() + ' ' + (e.getAttribute('src') !== null ? e.src : e.href));""")
    foreign_refs = [r for r in refs if not same_origin(r.split(" ", 1)[1], base)]
    checks.check("page references no other origin (src/href)", not foreign_refs,
                 "; ".join(foreign_refs))
    css_urls = driver.execute_script("""
        const out = [];
        for (const sheet of document.styleSheets) {
          let rules; try { rules = sheet.cssRules; } catch (e) { out.push('unreadable sheet ' + sheet.href); continue; }
          for (const r of rules) for (const m of (r.cssText.match(/url\\(([^)]*)\\)/g) || [])) out.push(m);
          if (sheet.href) out.push(sheet.href);
        }
        return out;""")
    foreign_css = [u for u in css_urls
                   if re.search(r"(?:https?:)?//", u) and
                   not same_origin(re.sub(r"^url\(['\"]?|['\"]?\)$", "", u), base)]
    checks.check("page's CSS loads nothing from another origin", not foreign_css,
                 "; ".join(foreign_css))
    load_requests = logs.requests()
    foreign = [u for u in load_requests if not same_origin(u, base)]
    checks.check("loading the page requested nothing from another origin", not foreign,
                 "; ".join(foreign) or f"{len(load_requests)} requests")
    errors = console_errors(logs.console()) + page_errors(driver)
    checks.check("no console/JS errors after loading the page", not errors, " | ".join(errors))

    # ---- a search: k = 6, choose the image
    k = driver.find_element(By.ID, "k")
    k.clear()
    k.send_keys("6")
    k_value = driver.execute_script("return document.getElementById('k').value")
    checks.check("input#k set to 6", k_value == "6", f"value={k_value!r}")
    driver.find_element(By.ID, "file").send_keys(os.path.abspath(args.image))
    state, text, took, seen = wait_state(driver, ("done", "error"), 30)
    detail = f"data-state={state!r} text={text!r}, states seen {seen}"
    if not checks.check('div#status reaches data-state="done" within 30 s after choosing '
                        'the image', state == "done",
                        (f"in {took:.2f} s; " if took is not None else "") + detail):
        errors = console_errors(logs.console(), True) + page_errors(driver)
        if errors:
            print("  browser console: " + " | ".join(errors))
        raise Fatal("the search did not finish")

    # Result images: give them a moment to load.
    t0 = time.monotonic()
    hits = driver.execute_script(HITS_JS)
    while time.monotonic() - t0 < 10 and \
            not all(h["img"] and h["img"]["complete"] for h in hits):
        time.sleep(0.1)
        hits = driver.execute_script(HITS_JS)
    checks.check("div#results has exactly 6 div.hit", len(hits) == 6, f"{len(hits)} hits")
    no_img = [i + 1 for i, h in enumerate(hits) if not h["img"]]
    bad_img = [f"hit {i + 1}: src={h['img']['src']!r} complete={h['img']['complete']} "
               f"naturalWidth={h['img']['width']}"
               for i, h in enumerate(hits) if h["img"] and not h["img"]["width"]]
    checks.check("every hit has an img that loaded (naturalWidth > 0)",
                 hits and not no_img and not bad_img,
                 "; ".join(([f"hits without img: {no_img}"] if no_img else []) + bad_img))
    bad_src = [f"hit {i + 1}: {h['img']['src']!r}" for i, h in enumerate(hits)
               if h["img"] and not re.fullmatch(r"(?:/|" + re.escape(base) + r")items/\d+",
                                                h["img"]["src"] or "")]
    checks.check("hit images come from /items/<id>", hits and not bad_src, "; ".join(bad_src))
    lacking = [f"hit {i + 1} lacks span.{field}" for i, h in enumerate(hits)
               for field in ("rank", "distance", "label", "path") if h[field] is None]
    checks.check("every hit has span.rank, span.distance, span.label, span.path",
                 hits and not lacking, "; ".join(lacking))
    ranks = [number_in(h["rank"]) for h in hits]
    checks.check("span.rank reads 1..6", ranks == [1, 2, 3, 4, 5, 6],
                 f"ranks {[h['rank'] for h in hits]}")
    distances = [number_in(h["distance"]) for h in hits]
    checks.check("span.distance numbers ascending",
                 hits and None not in distances and distances == sorted(distances),
                 f"distances {[h['distance'] for h in hits]}")
    if hits:
        want_path = expected["first_path"]
        checks.check("first hit's span.path is the expected first result",
                     hits[0]["path"] == want_path,
                     f"page {hits[0]['path']!r}, expected {want_path!r}")
        checks.check("first hit's span.distance is greedyhash_search's d=",
                     distances[0] == expected["first_distance"],
                     f"page {hits[0]['distance']!r}, greedyhash_search d={expected['first_distance']}")
        page_paths = [h["path"] for h in hits]
        checks.check("all 6 paths as greedyhash_search's top 6 (same order)",
                     page_paths == expected["paths"],
                     f"page {page_paths}, greedyhash_search {expected['paths']}")
    code = driver.execute_script(
        "const c = document.getElementById('code'); return c ? c.textContent.trim() : null")
    checks.check("code#code is a hex string", bool(code) and
                 re.fullmatch(r"(?:0x)?[0-9a-fA-F]+", code) is not None, f"{code!r}")
    if expected["code"] is not None:
        normal = lambda c: re.sub(r"^0x", "", (c or "").lower())  # noqa: E731
        checks.check("code#code equals greedyhash_search's code for the image",
                     normal(code) == normal(expected["code"]),
                     f"page {code!r}, greedyhash_search {expected['code']!r}")
    query = driver.execute_script("""
        const q = document.getElementById('query');
        return q ? [q.getAttribute('src'), q.naturalWidth] : [null, 0];""")
    checks.check("img#query shows the chosen image", bool(query[0]) and query[1] > 0,
                 f"src={str(query[0])[:60]!r} naturalWidth={query[1]}")
    search_requests = logs.requests()
    foreign = [u for u in search_requests if not same_origin(u, base)]
    posts = [u for u in search_requests if "/search" in u]
    checks.check("the search requested nothing from another origin", not foreign,
                 "; ".join(foreign) or f"{len(search_requests)} requests")
    checks.check("the page asked /search with k=6",
                 any(re.search(r"[?&]k=6(?:&|$)", u) for u in posts), f"{posts}")
    errors = console_errors(logs.console()) + page_errors(driver)
    checks.check("no console/JS errors during the search", not errors, " | ".join(errors))
    driver.save_screenshot(args.screenshot)
    log(f"screenshot {args.screenshot}")

    # ---- the error path: a text file named .png
    bogus = os.path.join(work, "not_an_image.png")
    with open(bogus, "w") as f:
        f.write("this is plain text, not a PNG image\n" * 4)
    driver.find_element(By.ID, "file").send_keys(bogus)
    state, text, took, seen = wait_state(driver, ("error",), 30)
    checks.check('choosing a non-image: div#status reaches data-state="error"',
                 state == "error",
                 (f"in {took:.2f} s; " if took is not None else "") +
                 f"data-state={state!r} text={text!r}, states seen {seen}")
    shown = False
    try:
        shown = driver.find_element(By.ID, "status").is_displayed()
    except WebDriverException:
        pass
    checks.check("the error message is shown in div#status", bool(text) and shown,
                 f"text={text!r} displayed={shown}")
    errors = console_errors(logs.console(), allow_http_errors=True) + page_errors(driver)
    checks.check("no JS errors on the error path (the 400 answer aside)", not errors,
                 " | ".join(errors))
    root, ext = os.path.splitext(args.screenshot)
    driver.save_screenshot(f"{root}-error{ext or '.png'}")


# ---------------------------------------------------------------- main


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", required=True, help="folder of the greedyhash_* binaries")
    parser.add_argument("--run", required=True, help="a trained run folder .../bit_N")
    parser.add_argument("--image", required=True, help="the query image")
    parser.add_argument("--expect-first", default="",
                        help="the first hit's path; empty: greedyhash_search's first result")
    parser.add_argument("--screenshot", required=True, help="where to save the screenshot")
    parser.add_argument("--work", required=True, help="scratch folder")
    parser.add_argument("--threads", default="2", help="greedyhash_serve --threads")
    args = parser.parse_args()

    chromium, chromedriver = find_browser()
    checks = Checks()
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    args.screenshot = os.path.abspath(args.screenshot)
    os.makedirs(os.path.dirname(args.screenshot), exist_ok=True)
    tools = {name: os.path.join(args.bin_dir, name)
             for name in ("greedyhash_index", "greedyhash_search", "greedyhash_serve")}
    service = None
    driver = None
    try:
        for name, path in tools.items():
            if not os.access(path, os.X_OK):
                raise Fatal(f"{path} is missing")
        if not os.path.isfile(args.image):
            raise Fatal(f"--image {args.image} is missing")

        bits, run_copy = copy_run(args.run, os.path.join(work, "out"))
        rc, output = run_tool([tools["greedyhash_index"], "--bit", str(bits),
                               "--output-dir", os.path.join(work, "out")], 120)
        if rc != 0 and "GREEDYHASH_WITH_FAISS" in output:
            print(f"SKIP: built without FAISS: {tail(output, 2)}", flush=True)
            return SKIP_EXIT
        index = os.path.join(run_copy, "database.faiss")
        if not checks.check("greedyhash_index builds the index", rc == 0 and
                            os.path.isfile(index), tail(output, 3) if rc else ""):
            raise Fatal("no index")

        # The service starts while greedyhash_search answers the same query.
        service = Service([tools["greedyhash_serve"], "--index", index, "--port", "0",
                           "--threads", args.threads],
                          os.path.join(work, "serve.stderr"))
        rc, output = run_tool([tools["greedyhash_search"], "--index", index, "--image",
                               os.path.abspath(args.image), "--topk", "6", "--mosaic",
                               os.path.join(work, "m.png")], 120)
        code, hits = parse_search(output)
        ok = rc == 0 and len(hits) == 6
        if not checks.check("greedyhash_search answers the query", ok,
                            f"first d={hits[0][1]} {hits[0][2]}" if ok else
                            f"exit {rc}, {len(hits)} result lines: {tail(output, 4)}"):
            raise Fatal("no expected answer")
        expected = {"first_path": args.expect_first or hits[0][2],
                    "first_distance": hits[0][1], "paths": [h[2] for h in hits],
                    "code": code}
        if args.expect_first and args.expect_first != hits[0][2]:
            print(f"NOTE: --expect-first {args.expect_first!r} differs from "
                  f"greedyhash_search's first result {hits[0][2]!r}")
        log(f"greedyhash_search: code {code}, first d={hits[0][1]} {hits[0][2]}")

        line, base = service.wait_listening(60)
        checks.check("greedyhash_serve prints its listening line",
                     re.search(r"\(\d+ items, \d+-bit codes\)", line) is not None, line)
        log(f"service at {base}")

        driver = start_browser(chromium, chromedriver)
        log("browser started")
        check_page(driver, BrowserLogs(driver), base, args, expected, checks, work)
    except Fatal as error:
        checks.check("the test ran to its end", False, str(error))
    except Exception as error:  # a WebDriver error and the like: report, clean up
        checks.check("the test ran to its end", False, f"{type(error).__name__}: {error}")
    finally:
        if driver is not None:
            if not os.path.exists(args.screenshot):
                try:
                    driver.save_screenshot(args.screenshot)
                    with open(os.path.join(work, "page.html"), "w") as f:
                        f.write(driver.page_source)
                except Exception:
                    pass
            try:
                driver.quit()
            except Exception:
                pass
        if service is not None:
            rc, killed = service.stop()
            stopped = any("greedyhash_serve: stopped" in line for line in service.stdout)
            checks.check("greedyhash_serve stops on SIGTERM (exit 0, prints 'stopped')",
                         rc == 0 and stopped and not killed,
                         f"exit {rc}, 'stopped' printed: {stopped}, killed: {killed}")
            if checks.failed:
                print("greedyhash_serve stderr (last lines):\n" + service.stderr_tail())
    took = elapsed()
    if checks.failed:
        print(f"FAILED {len(checks.failed)} of {len(checks.failed) + checks.passed} checks "
              f"in {took:.1f} s: " + "; ".join(checks.failed))
        return 1
    print(f"ALL {checks.passed} CHECKS PASSED in {took:.1f} s; screenshot {args.screenshot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
