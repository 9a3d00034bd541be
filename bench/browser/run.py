#!/usr/bin/env python3
"""Browser benchmark: pages per second and peak memory of `browser` rendering on a local
site whose items a script builds, against `http` mode on the same site's server-rendered
twin; and a browser context per page against one per run.

The site has PAGES listing pages of 20 items each. `/js/N` is a page whose script fetches
its items from `/api/N` (JSON) and inserts them; `/html/N` is the same page with the items
in the HTML. Each configuration is one run of a job over every page (url-template
pagination with an end, so pages go in parallel up to the job's concurrency), on a fresh
database and a fresh host:

- http:         `/html/N` in `http` mode
- browser-run:  `/js/N` in `browser` mode, one browser context for the run
- browser-page: `/js/N` in `browser` mode, a fresh context per page

Measured per configuration: pages per second (the run's `started_at` to `finished_at`),
items, the peak resident memory of the host, and the peak proportional set size (PSS) of
Chromium's processes below the host (shared pages counted once), sampled every 100 ms.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 bench/browser/run.py

Needs: cargo (builds `target/release/trawl` unless --no-build), Debian's chromium, and
PostgreSQL at DATABASE_URL (the database `trawl_browser_bench` is dropped and made again).
"""

import argparse
import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KEY = "trawl_browser_bench_admin_key_000000000"
DB = "trawl_browser_bench"
ITEMS = 20


def items(n):
    return [{"name": f"item {n}-{i}", "price": f"{n}.{i:02d}"} for i in range(ITEMS)]


def page(body):
    return f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>".encode()


class Site(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        kind, _, n = self.path.strip("/").partition("/")
        if kind == "html" and n.isdigit():
            rows = "".join(
                f"<li class='item'><h3>{i['name']}</h3><span class='price'>{i['price']}</span></li>"
                for i in items(int(n)))
            self.reply(200, "text/html; charset=utf-8", page(f"<ul>{rows}</ul>"))
        elif kind == "js" and n.isdigit():
            script = (
                "<ul id='list'></ul><script>"
                f"fetch('/api/{n}').then(r => r.json()).then(items => {{"
                "const list = document.getElementById('list');"
                "for (const i of items) { const li = document.createElement('li'); li.className = 'item';"
                "li.innerHTML = '<h3></h3><span class=price></span>';"
                "li.children[0].textContent = i.name; li.children[1].textContent = i.price;"
                "list.appendChild(li); } });</script>")
            self.reply(200, "text/html; charset=utf-8", page(script))
        elif kind == "api" and n.isdigit():
            self.reply(200, "application/json", json.dumps(items(int(n))).encode())
        else:
            self.reply(404, "text/plain", b"not found")

    def reply(self, status, media_type, body):
        self.send_response(status)
        self.send_header("Content-Type", media_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {KEY}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read()
        return json.loads(text) if text else None


def psql(admin_url, sql):
    subprocess.run(["psql", admin_url, "-At", "-c", sql], check=True, capture_output=True, text=True)


def memory_of(pids, field):
    """Sum of `field` (VmRSS from status, or Pss from smaps_rollup) over `pids`, in bytes."""
    total = 0
    for pid in pids:
        path = f"/proc/{pid}/status" if field == "VmRSS:" else f"/proc/{pid}/smaps_rollup"
        try:
            with open(path) as f:
                for line in f:
                    if line.startswith(field):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def descendants(root):
    """The processes below `root` (Chromium's, started by the host)."""
    children = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(pid))
    out, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Sampler(threading.Thread):
    def __init__(self, host_pid):
        super().__init__(daemon=True)
        self.host_pid = host_pid
        self.peak_host = 0
        self.peak_browser = 0
        self.stop = False

    def run(self):
        while not self.stop:
            self.peak_host = max(self.peak_host, memory_of([self.host_pid], "VmRSS:"))
            # Proportional set size: pages Chromium's processes share are counted once.
            self.peak_browser = max(self.peak_browser, memory_of(descendants(self.host_pid), "Pss:"))
            time.sleep(0.1)


def ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def one_config(args, name, site):
    psql(args.database_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(args.database_url, f"CREATE DATABASE {DB}")
    db_url = args.database_url.rsplit("/", 1)[0] + "/" + DB
    data_dir = tempfile.mkdtemp(prefix="trawl-browser-bench-")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=db_url, TRAWL_LISTEN=f"127.0.0.1:{port}", TRAWL_DATA_DIR=data_dir,
               TRAWL_ADMIN_KEY=KEY, TRAWL_ALLOW_NETWORKS="127.0.0.1/32", TRAWL_RATE_LIMIT="off",
               TRAWL_LOG="warn", TRAWL_BROWSER_CONTEXTS=str(args.contexts))
    proc = subprocess.Popen([args.trawl_binary, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(base + "/readyz", timeout=2)
            break
        except Exception:
            if time.time() > deadline:
                sys.exit("the host did not start")
            time.sleep(0.2)
    sampler = Sampler(proc.pid)
    try:
        schema = api(base, "POST", "/v1/schemas", {"name": "bench", "json_schema": {
            "type": "object", "x-scope": "li.item",
            "properties": {"name": {"type": "string", "x-selector": "h3"},
                           "price": {"type": "number", "x-selector": ".price"}},
            "required": ["name"]}})
        kind = "html" if name == "http" else "js"
        fetch = {"per_host_concurrency": args.concurrency}
        if name != "http":
            fetch["render"] = "browser"
            fetch["browser"] = {"context": "run" if name == "browser-run" else "page",
                                "wait_for": "li.item", "network_idle": False}
        job = api(base, "POST", "/v1/jobs", {
            "name": name, "schema_id": schema["id"], "max_pages": args.pages, "concurrency": args.concurrency,
            "pagination": {"type": "url-template", "template": f"http://127.0.0.1:{site}/{kind}/{{page}}",
                           "start": 1, "end": args.pages},
            "fetch": fetch})
        sampler.start()
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        while run["status"] in ("queued", "running"):
            time.sleep(0.2)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
        sampler.stop = True
        sampler.join()
        elapsed = ts(run["finished_at"]) - ts(run["started_at"])
        c = run["counters"]
        return {"config": name, "status": run["status"], "pages": c["pages_fetched"], "failed": c["pages_failed"],
                "items": c["items_new"], "seconds": elapsed, "pages_per_s": c["pages_fetched"] / elapsed,
                "host_peak_mib": sampler.peak_host / 2**20, "browser_peak_mib": sampler.peak_browser / 2**20}
    finally:
        sampler.stop = True
        proc.terminate()
        proc.wait(timeout=60)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--trawl-binary", default=os.path.join(ROOT, "target/release/trawl"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--contexts", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--configs", default="http,browser-run,browser-page")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "trawl-host", "--bin", "trawl"], check=True, cwd=ROOT)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Site)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    site = server.server_address[1]
    rows = []
    for name in args.configs.split(","):
        runs = [one_config(args, name, site) for _ in range(args.repeat)]
        for r in runs:
            print(json.dumps(r), file=sys.stderr)
        med = lambda k: statistics.median(r[k] for r in runs)
        rows.append({"config": name, "pages": runs[0]["pages"], "failed": max(r["failed"] for r in runs),
                     "items": runs[0]["items"], "pages_per_s": med("pages_per_s"),
                     "host_peak_mib": med("host_peak_mib"), "browser_peak_mib": med("browser_peak_mib")})
    keys = ["config", "pages", "failed", "items", "pages_per_s", "host_peak_mib", "browser_peak_mib"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in rows:
        print("| " + " | ".join(f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
    by = {r["config"]: r for r in rows}
    if "http" in by:
        for name in ("browser-run", "browser-page"):
            if name in by:
                print(f"{name} / http, pages per second: {by[name]['pages_per_s'] / by['http']['pages_per_s']:.3f}x")
    if "browser-run" in by and "browser-page" in by:
        print(f"context per page / per run, pages per second: "
              f"{by['browser-page']['pages_per_s'] / by['browser-run']['pages_per_s']:.2f}x")


if __name__ == "__main__":
    main()
