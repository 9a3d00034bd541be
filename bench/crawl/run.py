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
import contextlib
from datetime import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
TICK = os.sysconf("SC_CLK_TCK")
KEY = "trawl_crawl_bench_admin_key_0000000000"
BENCH = os.path.join(ROOT, "target", "release", "trawl-bench")


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
    try:
        with urllib.request.urlopen(request) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        raise SystemExit(f"{method} {path}: {e.code} {e.read().decode(errors='replace')}")


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


@contextlib.contextmanager
def trawl_host(args, charged=False, extra_env=None):
    """A release `trawl serve` on a fresh `trawl_crawl_bench` database: (base URL, process)."""
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
    env.update(extra_env or {})
    command = [args.trawl_binary, "serve"]
    if args.perf:
        command = ["perf", "record", "-F", "999", "-g", "-o", args.perf, "--"] + command
    trawl = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until(lambda: urllib.request.urlopen(base + "/readyz").status == 200, 120, "trawl to start")
        if charged:
            me = api(base, "GET", "/v1/me")
            api(base, "POST", f"/v1/users/{me['id']}/credits", {"amount": 10**12, "reason": "benchmark"})
        yield base, trawl
    finally:
        trawl.send_signal(signal.SIGTERM)
        trawl.wait(timeout=60)


def crawl_job(args, base, start_url, pages, schema_id=None):
    """The bench's crawl job: every listing and product page from `start_url`."""
    if schema_id is None:
        schema_id = api(base, "POST", "/v1/schemas", {"name": "books", "json_schema": SCHEMA})["id"]
    return api(
        base,
        "POST",
        "/v1/jobs",
        {
            "name": "books",
            "schema_id": schema_id,
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


def database_work(admin_url):
    """What the server has done so far: WAL bytes written (the whole server's), and the
    bench database's commits and rows inserted and updated."""
    out = subprocess.run(
        ["psql", admin_url, "-At", "-F", " ", "-c",
         "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0'), xact_commit, tup_inserted, tup_updated "
         "FROM pg_stat_database WHERE datname = 'trawl_crawl_bench'"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    return [float(x) for x in out]


def run_trawl(args, start_url, pages, charged=False):
    admin_url = args.database_url.rsplit("/", 1)[0] + "/postgres"
    with trawl_host(args, charged) as (base, trawl):
        job = crawl_job(args, base, start_url, pages)
        time.sleep(1)  # the statistics of the set-up are flushed
        cpu0, pg0, db0 = cpu_seconds(trawl.pid), postgres_processes(), database_work(admin_url)
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        while run["status"] in ("queued", "running"):
            time.sleep(0.2)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
        cpu1, pg_cpu = cpu_seconds(trawl.pid), postgres_cpu(pg0, admin_url, "trawl_crawl_bench")
        time.sleep(1.2)  # PostgreSQL flushes its statistics at most every second
        db1 = database_work(admin_url)
        result = finished_run(run, charged, cpu1 - cpu0, pg_cpu)
        result["wal"], result["commits"], result["inserted"], result["updated"] = (b - a for a, b in zip(db0, db1))
        return result


def finished_run(run, charged, cpu, pg_cpu):
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
        "cpu": cpu,
        "pg_cpu": pg_cpu,
    }


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
    parser.add_argument("--site", help="where the generated site is kept (default: target/crawl-bench-site, with the size appended when not 10,000)")
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--trawl-binary", default=os.path.join(ROOT, "target", "release", "trawl"), help="the trawl to measure (default: the release build)")
    parser.add_argument("--only", choices=["trawl", "scrapy"])
    parser.add_argument("--perf", metavar="FILE", help="profile trawl with `perf record` into FILE")
    parser.add_argument("--compare-charging", type=int, metavar="ROUNDS",
                        help="instead: ROUNDS pairs of trawl runs, uncharged and charged (admins charged, a ledger line per kind per batch) in turn; medians and the ratio")
    parser.add_argument("--api", action="store_true",
                        help="instead: the time to a run's first item, then the API's latency (50 clients) on an idle host and during the crawl")
    parser.add_argument("--growth", action="store_true",
                        help="instead: trawl alone, its pages per second, memory and frontier query times sampled from start to end (use with --products 200000)")
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()
    if args.site is None:
        name = "crawl-bench-site" + ("" if args.products == 10_000 else f"-{args.products}")
        args.site = os.path.join(ROOT, "target", name)

    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "trawl-host", "--bin", "trawl", "-p", "trawl-bench", "--bin", "static-site", "--bin", "trawl-bench"], check=True, cwd=ROOT)
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
        if args.api:
            api_while_crawling(args, start_url, pages, f"http://127.0.0.1:{port}/catalogue/product-1.html")
            return
        if args.growth:
            growth(args, start_url, pages)
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

    ceiling = None
    if not args.only or args.only == "trawl":
        ceiling = json.loads(subprocess.run([BENCH, "ceiling", args.site, "--json"], check=True, capture_output=True, text=True).stdout)

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
    if "trawl" in results:
        t = results["trawl"]
        n = t["pages"]
        print(
            f"\nPostgreSQL per trawl page: {t['wal'] / n:.0f} bytes of WAL, {t['commits'] / n:.3f} commits, "
            f"{t['inserted'] / n:.2f} rows inserted, {t['updated'] / n:.2f} rows updated, "
            f"{1000 * t['pg_cpu'] / n:.3f} ms of CPU"
        )
    if ceiling:
        t = results["trawl"]
        print(
            f"\nparse-only ceiling ({ceiling['threads']} threads, html5ever building trawl's DOM, median of {len(ceiling['rounds'])} rounds): "
            f"{ceiling['pages_per_second']:.0f} pages/s; trawl's crawl reaches {(t['pages'] / t['seconds']) / ceiling['pages_per_second']:.0%} of it"
        )


def rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def bench_json(*argv):
    out = subprocess.run([BENCH, *argv], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def print_load(title, load):
    errors = f" (first: {load['first_error']})" if load["errors"] else ""
    print(f"\n{title}: {load['clients']} clients, {load['seconds']:.1f} s, {load['errors']} errors{errors}\n")
    print("| endpoint | requests | requests/s | p50 | p99 | max |")
    print("|---|---|---|---|---|---|")
    for e in load["endpoints"]:
        print(f"| `{e['endpoint']}` | {e['requests']} | {e['per_second']:.0f} | {e['p50_ms']:.1f} ms | {e['p99_ms']:.1f} ms | {e['max_ms']:.1f} ms |")


def api_while_crawling(args, start_url, pages, one_page):
    """The time to a run's first item (a one-page job, runs one after the other), the API's
    latency with nothing running, then the same load while the crawl runs at full speed."""
    # Fifty clients on one key go past the key's default rate (100/s): the load is the
    # operator's own test, so the limit is off.
    with trawl_host(args, extra_env={"TRAWL_RATE_LIMIT": "off"}) as (base, trawl):
        schema = api(base, "POST", "/v1/schemas", {"name": "books", "json_schema": SCHEMA})
        single = api(base, "POST", "/v1/jobs", {"name": "one page", "schema_id": schema["id"], "start_urls": [one_page], "max_pages": 1})
        first = bench_json("first-item", "--base", base, "--key", KEY, "--job", single["id"], "--times", "30")
        idle = bench_json("api-load", "--base", base, "--key", KEY, "--run", first["last_run"], "--clients", str(args.clients), "--seconds", "5")
        capacity = bench_json("api-load", "--base", base, "--key", KEY, "--run", first["last_run"], "--clients", str(args.clients), "--seconds", "5", "--interval-ms", "0")
        job = crawl_job(args, base, start_url, pages, schema["id"])
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        while run["status"] == "queued" or run["counters"]["pages_fetched"] < 200:
            time.sleep(0.05)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
        load = bench_json("api-load", "--base", base, "--key", KEY, "--run", run["id"], "--clients", str(args.clients), "--seconds", "120", "--until-end")
        while run["status"] in ("queued", "running"):
            time.sleep(0.2)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
        crawl = finished_run(run, False, 0, 0)
    print(f"\nTime to first item ({first['runs']} one-page runs, one after the other, results polled as fast as the host answers): "
          f"p50 {first['first_item_p50_ms']:.1f} ms, p90 {first['first_item_p90_ms']:.1f} ms, max {first['first_item_max_ms']:.1f} ms "
          f"(queued to started p50 {first['queued_to_started_p50_ms']:.1f} ms)")
    print_load("API on an idle host, each client every 100 ms", idle)
    print_load("API on an idle host, each client back to back (the host's capacity)", capacity)
    print_load(f"API during the crawl, each client every 100 ms ({crawl['pages']} pages at {crawl['pages'] / crawl['seconds']:.0f} pages/s over the whole run)", load)


def growth(args, start_url, pages):
    """trawl alone on a large site: pages per second over each tenth of the crawl, the host's
    memory throughout, and the frontier's queries timed near the start and near the end."""
    admin_url = args.database_url.rsplit("/", 1)[0] + "/trawl_crawl_bench"
    # A run's pages are capped at 100,000 by default; the operator raises the cap.
    with trawl_host(args, extra_env={"TRAWL_QUOTA_MAX_PAGES": str(max(pages, 100_000))}) as (base, trawl):
        job = crawl_job(args, base, start_url, pages)
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        samples = []  # (seconds, pages fetched, RSS MiB)
        probes = {}
        t0 = time.monotonic()
        while run["status"] in ("queued", "running"):
            time.sleep(0.5)
            run = api(base, "GET", f"/v1/runs/{run['id']}")
            if run["status"] != "running":
                # Past the last page: the run's end (its counters recounted from its pages)
                # is not a page's cost.
                continue
            fetched = run["counters"]["pages_fetched"]
            samples.append((time.monotonic() - t0, fetched, rss_mib(trawl.pid)))
            for mark in (0.1, 0.9):
                if mark not in probes and fetched >= mark * pages and run["status"] == "running":
                    probes[mark] = frontier_probes(admin_url, run["id"])
        crawl = finished_run(run, False, 0, 0)
    print(f"\n{crawl['pages']} pages, {crawl['items']} items, {crawl['seconds']:.0f} s, {crawl['pages'] / crawl['seconds']:.0f} pages/s overall; "
          f"host RSS peak {max(r for _, _, r in samples):.0f} MiB\n")
    print("| tenth of the crawl | pages/s | host RSS at its end |")
    print("|---|---|---|")
    rates = []
    for k in range(10):
        lo, hi = k * pages / 10, (k + 1) * pages / 10
        inside = [s for s in samples if lo <= s[1] <= hi]
        if len(inside) >= 2:
            rate = (inside[-1][1] - inside[0][1]) / max(inside[-1][0] - inside[0][0], 1e-9)
            rates.append(rate)
            print(f"| {k + 1} | {rate:.0f} | {inside[-1][2]:.0f} MiB |")
    if len(rates) >= 2:
        print(f"\nlast tenth / first tenth, pages per second: {rates[-1] / rates[0]:.2f}x")
    print("\n| query (median of 20, EXPLAIN ANALYZE execution time) | at 10 % | at 90 % |")
    print("|---|---|---|")
    for name in probes.get(0.1, {}):
        print(f"| {name} | {probes[0.1][name]:.3f} ms | {probes.get(0.9, {}).get(name, float('nan')):.3f} ms |")


def explain_ms(db_url, sql):
    out = subprocess.run(["psql", db_url, "-At", "-c", "BEGIN", "-c", "EXPLAIN (ANALYZE, FORMAT JSON) " + sql, "-c", "ROLLBACK"],
                         check=True, capture_output=True, text=True).stdout
    start = out.index("[")
    plan = json.loads(out[start:out.rindex("]") + 1])
    return plan[0]["Execution Time"]


def frontier_probes(db_url, run_id):
    """Execution times of the frontier's statements as the run has them now: the take of the
    next pending pages, enqueueing 70 links the run already knows (a product page's related
    books: the common case) and 5 it does not, and storing six items the run already has (the results' content-hash index)."""
    import statistics

    known = subprocess.run(["psql", db_url, "-At", "-c", f"SELECT url FROM run_pages WHERE run_id = '{run_id}' ORDER BY random() LIMIT 70"],
                           check=True, capture_output=True, text=True).stdout.split()
    arr = "ARRAY[" + ",".join("'" + u.replace("'", "''") + "'" for u in known) + "]::text[]"
    ids = subprocess.run(["psql", db_url, "-At", "-c", f"SELECT id FROM results WHERE run_id = '{run_id}' ORDER BY random() LIMIT 6"],
                         check=True, capture_output=True, text=True).stdout.split()
    id_arr = "ARRAY[" + ",".join(f"'{i}'" for i in ids) + "]::uuid[]"
    fresh = "ARRAY[" + ",".join(f"'http://127.0.0.1/probe-{i}'" for i in range(5)) + "]::text[]"
    # The worker takes after the highest seq it has taken (its mark); the last visited
    # page's seq stands in for it.
    mark = subprocess.run(["psql", db_url, "-At", "-c", f"SELECT coalesce(max(seq), 0) FROM run_pages WHERE run_id = '{run_id}' AND state <> 'pending'"],
                          check=True, capture_output=True, text=True).stdout.strip()
    statements = {
        "frontier take (next 64 pending after the mark)": f"SELECT url, depth, seq FROM run_pages WHERE run_id = '{run_id}' AND state = 'pending' AND seq > {mark} ORDER BY seq LIMIT 64",
        "frontier take from the start (the last look before the end)": f"SELECT url, depth, seq FROM run_pages WHERE run_id = '{run_id}' AND state = 'pending' AND seq > 0 ORDER BY seq LIMIT 64",
        "enqueue 70 known links": f"INSERT INTO run_pages (run_id, url, depth) SELECT '{run_id}', u, 1 FROM unnest({arr}) AS u ON CONFLICT (run_id, url) DO NOTHING",
        "enqueue 5 new links": f"INSERT INTO run_pages (run_id, url, depth) SELECT '{run_id}', u, 1 FROM unnest({fresh}) AS u ON CONFLICT (run_id, url) DO NOTHING",
        "store 6 items already stored (content-hash probe)": f"INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash) "
        f"SELECT gen_random_uuid(), run_id, job_id, dedup_key, source_url, data, content_hash FROM results WHERE id = ANY({id_arr}) "
        f"ON CONFLICT (dedup_key, content_hash) DO NOTHING",
    }
    return {name: statistics.median(explain_ms(db_url, sql) for _ in range(20)) for name, sql in statements.items()}


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
