#!/usr/bin/env python3
"""Runs benchmark: many small runs on one host and on three hosts sharing one database.

For each configuration (1 host, then 3 hosts on a fresh database each):

- 500 jobs of one page each (a local page with one item) are created, each with a
  webhook for `run.succeeded` to a local receiver;
- one run of every job is queued at once (500 concurrent POSTs); measured: runs completed
  per second (first run queued to last run finished, database clock), and the time from a
  run ending (`finished_at`) to its webhook arriving at the receiver (p50/p99);
- then 100 of the jobs get a schedule firing every 5 seconds for 30 seconds; measured: the
  scheduler's fire latency, due time (`scheduled_for`) to the run created and to the run
  started (p50/p99).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 bench/runs/run.py

Needs: cargo (builds `target/release/trawl` unless --no-build), PostgreSQL at
DATABASE_URL (the database `trawl_runs_bench` is dropped and made again).
"""

import argparse
import concurrent.futures
from datetime import datetime, timezone
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

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
KEY = "trawl_runs_bench_admin_key_00000000000"
DB = "trawl_runs_bench"
JOBS = 500
SCHEDULED = 100


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


def psql(admin_url, sql, database=None):
    url = admin_url if database is None else admin_url.rsplit("/", 1)[0] + "/" + database
    out = subprocess.run(["psql", url, "-At", "-F", "\t", "-c", sql], check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def percentile(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    k = (len(values) - 1) * p
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<!doctype html><html><body><h1>Item</h1><p class='n'>1</p></body></html>"
        self.send_response(200 if self.path != "/robots.txt" else 404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


ARRIVALS = {}
ARRIVALS_LOCK = threading.Lock()


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        now = time.time()
        with ARRIVALS_LOCK:
            ARRIVALS.setdefault(body["run"]["id"], now)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def parse_ts(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def one_config(args, hosts, site, receiver):
    admin_url = args.database_url
    psql(admin_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(admin_url, f"CREATE DATABASE {DB}")
    db_url = admin_url.rsplit("/", 1)[0] + "/" + DB
    data_dir = tempfile.mkdtemp(prefix="trawl-runs-bench-")
    procs = []
    bases = []
    for i in range(hosts):
        port = free_port()
        env = dict(
            os.environ,
            DATABASE_URL=db_url,
            TRAWL_LISTEN=f"127.0.0.1:{port}",
            TRAWL_DATA_DIR=data_dir,
            TRAWL_ADMIN_KEY=KEY,
            TRAWL_ALLOW_NETWORKS="127.0.0.1/32",
            TRAWL_MAX_RUNS="16",
            # 500 runs queued at once with one key: the benchmark measures runs, not the
            # API's rate limit.
            TRAWL_RATE_LIMIT="off",
            TRAWL_LOG="warn",
        )
        procs.append(subprocess.Popen([args.trawl_binary, "serve"], env=env, stdout=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2)
                break
            except Exception:
                if time.time() > deadline:
                    sys.exit(f"host {i} did not start")
                time.sleep(0.2)
        bases.append(base)
    try:
        base = bases[0]
        schema = api(base, "POST", "/v1/schemas", {"name": "bench", "json_schema": {
            "type": "object", "properties": {"name": {"type": "string", "x-selector": "h1"}}, "required": ["name"]}})
        jobs = []
        for n in range(JOBS):
            job = api(base, "POST", "/v1/jobs", {
                "name": f"bench {n}", "schema_id": schema["id"],
                "start_urls": [f"http://127.0.0.1:{site}/{n}"], "max_pages": 1, "concurrency": 1,
                "fetch": {"obey_robots": False},
                "webhooks": [{"url": f"http://127.0.0.1:{receiver}/hook", "events": ["run.succeeded"]}],
            })
            jobs.append(job)
        with ARRIVALS_LOCK:
            ARRIVALS.clear()
        # 500 runs queued at once, spread over the hosts' APIs.
        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            runs = list(pool.map(lambda ij: api(bases[ij[0] % hosts], "POST", f"/v1/jobs/{ij[1]['id']}/runs"), enumerate(jobs)))
        ids = {r["id"] for r in runs}
        deadline = time.time() + 600
        while True:
            left = psql(admin_url, "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')", DB)[0][0]
            if left == "0":
                break
            if time.time() > deadline:
                sys.exit("runs did not end in 10 minutes")
            time.sleep(0.2)
        rows = psql(admin_url, "SELECT extract(epoch FROM min(created_at)), extract(epoch FROM max(finished_at)), "
                    "count(*) FILTER (WHERE status = 'succeeded') FROM runs", DB)
        first, last, ok = float(rows[0][0]), float(rows[0][1]), int(rows[0][2])
        deadline = time.time() + 120
        while len(ARRIVALS) < ok and time.time() < deadline:
            time.sleep(0.2)
        finished = {r[0]: float(r[1]) for r in psql(admin_url, "SELECT id, extract(epoch FROM finished_at) FROM runs", DB)}
        with ARRIVALS_LOCK:
            hook = [ARRIVALS[i] - finished[i] for i in ids if i in ARRIVALS and i in finished]
        result = {
            "hosts": hosts,
            "runs": len(ids),
            "succeeded": ok,
            "runs_per_s": len(ids) / (last - first),
            "webhook_p50_ms": percentile(hook, 0.5) * 1000,
            "webhook_p99_ms": percentile(hook, 0.99) * 1000,
            "webhooks_arrived": len(hook),
        }
        # Schedules: every 5 s, on SCHEDULED of the jobs, for 30 s.
        for job in jobs[:SCHEDULED]:
            body = {k: job[k] for k in ("name", "schema_id", "start_urls", "max_pages", "concurrency")}
            body.update({"cron": "*/5 * * * * *", "timezone": "UTC", "overlap": "queue"})
            api(base, "PUT", f"/v1/jobs/{job['id']}", body)
        time.sleep(30)
        for job in jobs[:SCHEDULED]:
            body = {k: job[k] for k in ("name", "schema_id", "start_urls", "max_pages", "concurrency")}
            api(base, "PUT", f"/v1/jobs/{job['id']}", body)
        deadline = time.time() + 120
        while psql(admin_url, "SELECT count(*) FROM runs WHERE status IN ('queued', 'running')", DB)[0][0] != "0":
            if time.time() > deadline:
                break
            time.sleep(0.2)
        fires = psql(admin_url, "SELECT extract(epoch FROM created_at - scheduled_for), extract(epoch FROM started_at - scheduled_for) "
                     "FROM runs WHERE trigger = 'schedule' AND started_at IS NOT NULL", DB)
        created = [float(f[0]) for f in fires]
        started = [float(f[1]) for f in fires]
        dup = psql(admin_url, "SELECT count(*) FROM (SELECT job_id, scheduled_for FROM runs WHERE scheduled_for IS NOT NULL "
                   "GROUP BY 1, 2 HAVING count(*) > 1) d", DB)[0][0]
        result.update({
            "fires": len(fires),
            "duplicate_fires": int(dup),
            "fire_created_p50_ms": percentile(created, 0.5) * 1000,
            "fire_created_p99_ms": percentile(created, 0.99) * 1000,
            "fire_started_p50_ms": percentile(started, 0.5) * 1000,
            "fire_started_p99_ms": percentile(started, 0.99) * 1000,
        })
        return result
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--trawl-binary", default=os.path.join(ROOT, "target/release/trawl"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--hosts", default="1,3", help="configurations to run, e.g. 1,3")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "trawl-host", "--bin", "trawl"], check=True, cwd=ROOT)
    site = serve(Page)
    receiver = serve(Receiver)
    results = [one_config(args, int(h), site, receiver) for h in args.hosts.split(",")]
    keys = ["hosts", "runs", "succeeded", "runs_per_s", "webhooks_arrived", "webhook_p50_ms", "webhook_p99_ms",
            "fires", "duplicate_fires", "fire_created_p50_ms", "fire_created_p99_ms", "fire_started_p50_ms", "fire_started_p99_ms"]
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for r in results:
        print("| " + " | ".join(f"{r[k]:.1f}" if isinstance(r[k], float) else str(r[k]) for k in keys) + " |")
    if len(results) == 2:
        print(f"\nthree hosts / one host, runs per second: {results[1]['runs_per_s'] / results[0]['runs_per_s']:.2f}x")


if __name__ == "__main__":
    main()
