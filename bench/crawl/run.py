#!/usr/bin/env python3
"""Crawl benchmark: trawl versus Scrapy on the same local site, one after the other.

Generates (once) a site of 10,000 product pages and 500 listing pages shaped like
books.toscrape.com, serves it from memory with `static-site`, then

- trawl: a release `trawl serve` on a fresh PostgreSQL database crawls it with a `crawl`
  job (links `article.product_pod h3 a, li.next a`) and the css-extractor, storing every
  item in PostgreSQL;
- Scrapy 2.19: `books_spider.py` crawls the same links and extracts the same fields into
  JSON lines;

with the same caps: 16 requests at once, 16 per host, no delay, robots.txt obeyed, retries
on. Prints pages per second, CPU seconds per 1,000 pages and the ratio.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 bench/crawl/run.py

Needs: cargo, psql, PostgreSQL at DATABASE_URL (the database `trawl_crawl_bench` is
dropped and made again), and Scrapy in bench/crawl/.venv (made with pip when missing).

For profiling: `--only trawl --perf FILE` runs trawl under `perf record -g` (its CPU is
then not measured); BENCH_DB_PARAMS is appended to trawl's database URL (for example
`?options=-c%20log_min_duration_statement%3D0` to log every statement's duration);
BENCH_VERBOSE=1 prints the CPU of each PostgreSQL process counted.
"""

import argparse
from datetime import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TICK = os.sysconf("SC_CLK_TCK")
KEY = "trawl_crawl_bench_admin_key_0000000000"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """User + system CPU of a process (all its threads)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (FileNotFoundError, ProcessLookupError):
        return 0.0


def postgres_processes():
    """CPU of each PostgreSQL process: pid -> (command line, seconds)."""
    out = {}
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/comm") as f:
                    if f.read().strip() != "postgres":
                        continue
                with open(f"/proc/{pid}/cmdline") as f:
                    cmdline = f.read()
            except OSError:
                continue
            out[int(pid)] = (cmdline, cpu_seconds(pid))
    return out


def postgres_cpu(before, admin_url, database):
    """CPU PostgreSQL spent for `database` since `before`: its backends, plus the WAL
    writer, background writer and checkpointer (which other databases' work may share:
    other users of the server make this an upper bound)."""
    backends = subprocess.run(
        ["psql", admin_url, "-At", "-c", f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    now = postgres_processes()
    pids = {int(p) for p in backends} | {
        pid for pid, (cmd, _) in now.items() if any(w in cmd for w in ("walwriter", "background writer", "checkpointer"))
    }
    used = {p: now[p][1] - before.get(p, ("", 0.0))[1] for p in pids if p in now}
    if os.environ.get("BENCH_VERBOSE"):
        for p, cpu in sorted(used.items(), key=lambda x: -x[1]):
            print(f"  postgres {p} {now[p][0][:60]!r}: {cpu:.2f} s", file=sys.stderr)
    return sum(used.values())


def api(base, method, path, body=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return json.loads(response.read() or b"null")


def wait_until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


SCHEMA = {
    "type": "object",
    "x-scope": "article.product_page",
    "properties": {
        "title": {"type": "string", "x-selector": "h1"},
        "price": {"type": "number", "x-selector": "p.price_color"},
        "stock": {"type": "integer", "x-selector": "p.availability", "x-regex": "\\((\\d+) available\\)"},
        "rating": {
            "type": "integer",
            "x-selector": "p.star-rating",
            "x-attr": "class",
            "x-regex": "star-rating (\\w+)",
            "x-map": {"One": 1, "Two": 2, "Three": 3, "Four": 4, "Five": 5},
        },
        "upc": {"type": "string", "x-selector": "table tr:first-child td"},
    },
    "required": ["title", "price", "upc"],
}


def run_trawl(args, start_url, pages, charged=False):
    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    for sql in ["DROP DATABASE IF EXISTS trawl_crawl_bench WITH (FORCE)", "CREATE DATABASE trawl_crawl_bench"]:
        subprocess.run(["psql", admin_url, "-q", "-c", sql], check=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tempfile.mkdtemp(prefix="trawl-crawl-bench-")
    env = dict(
        os.environ,
        DATABASE_URL=args.database_url.rsplit("/", 1)[0] + "/trawl_crawl_bench" + os.environ.get("BENCH_DB_PARAMS", ""),
        TRAWL_LISTEN=f"127.0.0.1:{port}",
        TRAWL_DATA_DIR=data_dir,
        TRAWL_ADMIN_KEY=KEY,
        # The SSRF guard stays on; only the benchmark's own address is opened.
        TRAWL_ALLOW_NETWORKS="127.0.0.1/32",
        RUST_LOG="warn",
    )
    if charged:
        # The admin's runs are charged like a member's: a ledger line per kind per batch.
        env["TRAWL_CHARGE_ADMINS"] = "true"
    command = [args.trawl_binary, "serve"]
    if args.perf:
        command = ["perf", "record", "-F", "999", "-g", "-o", args.perf, "--"] + command
    trawl = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: urllib.request.urlopen(base + "/readyz").status == 200, 120, "trawl to start")
        if charged:
            me = api(base, "GET", "/v1/me")
            api(base, "POST", f"/v1/users/{me['id']}/credits", {"amount": 10**12, "reason": "benchmark"})
        schema = api(base, "POST", "/v1/schemas", {"name": "books", "json_schema": SCHEMA})
        job = api(
            base,
            "POST",
            "/v1/jobs",
            {
                "name": "books",
                "schema_id": schema["id"],
                "start_urls": [start_url],
                # Product pages list related books in `article.product_pod` too, pointing
                # outside the site: the include pattern keeps to the catalogue, as a user would.
                "pagination": {
                    "type": "crawl",
                    "selector": "article.product_pod h3 a, li.next a",
                    "include": ["/catalogue/(page|product)-\\d+\\.html$"],
                },
                "max_pages": pages,
                "concurrency": args.concurrency,
                "fetch": {"per_host_concurrency": args.concurrency, "obey_robots": True},
            },
        )
        cpu0, pg0 = cpu_seconds(trawl.pid), postgres_processes()
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        while run["status"] in ("queued", "running"):
            time.sleep(0.2)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
        cpu1, pg_cpu = cpu_seconds(trawl.pid), postgres_cpu(pg0, admin_url, "trawl_crawl_bench")
        if run["status"] != "succeeded":
            raise SystemExit(f"the trawl run ended {run['status']}: {run.get('error')}")
        started = datetime.fromisoformat(run["started_at"])
        finished = datetime.fromisoformat(run["finished_at"])
        if charged and run["credits_consumed"] <= 0:
            raise SystemExit(f"the charged run was not charged: {run}")
        return {
            "credits": run["credits_consumed"],
            "pages": run["counters"]["pages_fetched"],
            "items": run["counters"]["items_new"],
            "seconds": (finished - started).total_seconds(),
            "cpu": cpu1 - cpu0,
            "pg_cpu": pg_cpu,
        }
    finally:
        trawl.send_signal(signal.SIGTERM)
        trawl.wait(timeout=60)


def run_scrapy(args, start_url):
    venv = os.path.join(HERE, ".venv")
    scrapy = os.path.join(venv, "bin", "scrapy")
    if not os.path.exists(scrapy):
        subprocess.run([sys.executable, "-m", "venv", venv], check=True)
        subprocess.run([os.path.join(venv, "bin", "pip"), "install", "-q", "scrapy==2.19.*"], check=True)
    out = tempfile.mkdtemp(prefix="scrapy-crawl-bench-")
    stats = os.path.join(out, "stats.json")
    settings = {
        "CONCURRENT_REQUESTS": args.concurrency,
        "CONCURRENT_REQUESTS_PER_DOMAIN": args.concurrency,
        "DOWNLOAD_DELAY": 0,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": "WARNING",
        "FEEDS": json.dumps({os.path.join(out, "items.jsonl"): {"format": "jsonlines"}}),
    }
    command = [scrapy, "runspider", os.path.join(HERE, "books_spider.py"), "-a", f"start_url={start_url}", "-a", f"stats={stats}"]
    for k, v in settings.items():
        command += ["-s", f"{k}={v}"]
    subprocess.run(command, check=True, cwd=out)
    with open(stats) as f:
        result = json.load(f)
    with open(os.path.join(out, "items.jsonl")) as f:
        result["stored"] = sum(1 for _ in f)
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--site", default=os.path.join(ROOT, "target", "crawl-bench-site"))
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--trawl-binary", default=os.path.join(ROOT, "target", "release", "trawl"), help="the trawl to measure (default: the release build)")
    parser.add_argument("--only", choices=["trawl", "scrapy"])
    parser.add_argument("--perf", metavar="FILE", help="profile trawl with `perf record` into FILE")
    parser.add_argument("--compare-charging", type=int, metavar="ROUNDS",
                        help="instead: ROUNDS pairs of trawl runs, uncharged and charged (admins charged, a ledger line per kind per batch) in turn; medians and the ratio")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "trawl-host", "--bin", "trawl", "-p", "trawl-bench", "--bin", "static-site"], check=True, cwd=ROOT)
    marker = os.path.join(args.site, "catalogue", f"product-{args.products}.html")
    if not os.path.exists(marker):
        subprocess.run([sys.executable, os.path.join(HERE, "gen_site.py"), args.site, "--products", str(args.products)], check=True)
    pages = args.products + (args.products + 19) // 20

    port = free_port()
    server = subprocess.Popen([os.path.join(ROOT, "target/release/static-site"), args.site, f"127.0.0.1:{port}"], stdout=subprocess.DEVNULL)
    start_url = f"http://127.0.0.1:{port}/catalogue/page-1.html"
    try:
        wait_until(lambda: urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt").status == 200, 60, "the static server")
        if args.compare_charging:
            compare_charging(args, start_url, pages)
            return
        results = {}
        for name in ["trawl", "scrapy"]:
            if args.only and args.only != name:
                continue
            server0 = cpu_seconds(server.pid)
            results[name] = run_trawl(args, start_url, pages) if name == "trawl" else run_scrapy(args, start_url)
            results[name]["server_cpu"] = cpu_seconds(server.pid) - server0
    finally:
        server.terminate()
        server.wait()

    print(f"\n{pages} pages ({args.products} products), concurrency {args.concurrency}, {os.cpu_count()} CPUs\n")
    print(f"| crawler | pages | items | seconds | pages/s | crawler CPU s / 1000 pages | PostgreSQL CPU s / 1000 pages | static server CPU s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        items = r.get("items") if name == "trawl" else r.get("stored")
        pg = f"{1000 * r['pg_cpu'] / r['pages']:.2f}" if "pg_cpu" in r else "-"
        print(
            f"| {name} | {r['pages']} | {items} | {r['seconds']:.1f} | {r['pages'] / r['seconds']:.0f} | "
            f"{1000 * (r['cpu'] if name == 'trawl' else r['cpu_seconds']) / r['pages']:.2f} | {pg} | {r['server_cpu']:.1f} |"
        )
    if len(results) == 2:
        t, s = results["trawl"], results["scrapy"]
        print(f"\ntrawl / Scrapy, pages per second: {(t['pages'] / t['seconds']) / (s['pages'] / s['seconds']):.2f}x")
        print(f"Scrapy / trawl, crawler CPU per page: {(s['cpu_seconds'] / s['pages']) / (t['cpu'] / t['pages']):.2f}x")


def compare_charging(args, start_url, pages):
    import statistics

    rows = {"uncharged": [], "charged": []}
    for _ in range(args.compare_charging):
        for name in rows:
            r = run_trawl(args, start_url, pages, charged=name == "charged")
            rows[name].append(r)
            print(f"{name}: {r['pages'] / r['seconds']:.0f} pages/s, {1000 * r['cpu'] / r['pages']:.2f} CPU s / 1000 pages, {r.get('credits', 0)} credits", flush=True)
    print(f"\n{pages} pages, concurrency {args.concurrency}, {os.cpu_count()} CPUs, {args.compare_charging} rounds (medians)\n")
    print("| run | pages/s | trawl CPU s / 1000 pages | PostgreSQL CPU s / 1000 pages | credits |")
    print("|---|---|---|---|---|")
    med = {}
    for name, rs in rows.items():
        med[name] = (
            statistics.median(r["pages"] / r["seconds"] for r in rs),
            statistics.median(1000 * r["cpu"] / r["pages"] for r in rs),
            statistics.median(1000 * r["pg_cpu"] / r["pages"] for r in rs),
        )
        print(f"| {name} | {med[name][0]:.0f} | {med[name][1]:.2f} | {med[name][2]:.2f} | {rs[-1].get('credits', 0)} |")
    print(f"\ncharged / uncharged, pages per second: {med['charged'][0] / med['uncharged'][0]:.2f}x")


if __name__ == "__main__":
    main()
