#!/usr/bin/env python3
"""Exports benchmark: a million results to CSV through trawl versus psql's \\copy.

On a fresh database (`trawl_export_bench`), one run is given N results (default 1,000,000)
shaped like a books.toscrape.com item (title, price, rating, availability, UPC, URL, a
description of ~200 characters, a nested `category` object and a `tags` array), inserted
by SQL. Then, alternating, R times each (default 3):

- psql: `\\copy (SELECT data FROM results WHERE run_id = …) TO file`, timed by wall clock;
- trawl: `POST /v1/runs/{id}/exports` in each format asked for (default csv, then parquet
  when that exporter is there), timed from the export's `created_at` to its `finished_at`
  (the database's clock), with the host's resident memory sampled every 20 ms (its peak
  over the export, and its resident memory just before).

Prints rows per second (medians), trawl ÷ psql, and trawl's peak RSS.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres python3 bench/exports/run.py

Needs: cargo (builds `target/release/trawl` unless --no-build), psql, PostgreSQL at
DATABASE_URL.
"""

import argparse
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
KEY = "trawl_export_bench_admin_key_000000000"
DB = "trawl_export_bench"


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
    with urllib.request.urlopen(request, timeout=600) as response:
        text = response.read()
        return json.loads(text) if text else None


def psql(url, sql):
    out = subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql],
                         check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines() if line]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Sampler:
    """The largest resident set of a process while it runs."""

    def __init__(self, pid):
        self.pid, self.peak, self.stop = pid, 0, threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_kib(self.pid))
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "x-selector": "h1"},
        "price": {"type": "number"},
        "rating": {"type": "integer"},
        "availability": {"type": "string"},
        "upc": {"type": "string"},
        "url": {"type": "string"},
        "description": {"type": "string"},
        "category": {"type": "object", "properties": {"name": {"type": "string"}, "id": {"type": "integer"}}},
        "tags": {"type": "array", "items": {"type": "string"}},
    },
}


def fill(db_url, run, job, rows):
    # Ids in insertion order, as trawl's time-ordered ids are.
    psql(db_url, f"""
        INSERT INTO results (id, run_id, job_id, dedup_key, source_url, data, content_hash)
        SELECT lpad(to_hex(i), 32, '0')::uuid, '{run}', '{job}', '{run}',
               'http://books.example/catalogue/page-' || (i / 20 + 1) || '.html',
               jsonb_build_object(
                   'title', 'A Light in the Attic, volume ' || i,
                   'price', round((10 + (i % 5000) / 100.0)::numeric, 2),
                   'rating', i % 5 + 1,
                   'availability', 'In stock (' || (i % 23) || ' available)',
                   'upc', md5(i::text),
                   'url', 'http://books.example/catalogue/book_' || i || '/index.html',
                   'description', 'It''s hard to imagine a world without A Light in the Attic. This '
                       || 'now-classic collection of poetry and drawings celebrates its ' || i || 'th '
                       || 'anniversary with this special edition, "deluxe", for readers of all ages.',
                   'category', jsonb_build_object('name', 'Poetry ' || (i % 50), 'id', i % 50),
                   'tags', jsonb_build_array('poetry', 'classic', 'n' || (i % 7))),
               sha256(i::text::bytea)
        FROM generate_series(1, {rows}) AS i""")
    psql(db_url, "VACUUM ANALYZE results")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--trawl-binary", default=os.path.join(ROOT, "target/release/trawl"))
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--formats", default="csv,parquet")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "trawl-host", "--bin", "trawl"], check=True, cwd=ROOT)

    admin_url = args.database_url
    psql(admin_url, f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    psql(admin_url, f"CREATE DATABASE {DB}")
    db_url = admin_url.rsplit("/", 1)[0] + "/" + DB
    data_dir = tempfile.mkdtemp(prefix="trawl-export-bench-")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=db_url, TRAWL_LISTEN=f"127.0.0.1:{port}", TRAWL_DATA_DIR=data_dir,
               TRAWL_ADMIN_KEY=KEY, TRAWL_RATE_LIMIT="off", TRAWL_LOG="warn")
    proc = subprocess.Popen([args.trawl_binary, "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/readyz", timeout=2)
                break
            except Exception:
                if time.time() > deadline:
                    sys.exit("the host did not start")
                time.sleep(0.2)
        schema = api(base, "POST", "/v1/schemas", {"name": "books", "json_schema": SCHEMA})
        # A run with nothing to fetch (the SSRF guard refuses the address): it ends at
        # once, and the benchmark gives it its results.
        job = api(base, "POST", "/v1/jobs", {"name": "books", "schema_id": schema["id"],
                                             "start_urls": ["http://127.0.0.1:9/"], "max_pages": 1})
        run = api(base, "POST", f"/v1/jobs/{job['id']}/runs")
        while api(base, "GET", f"/v1/runs/{run['id']}")["status"] in ("queued", "running"):
            time.sleep(0.1)
        t = time.time()
        fill(db_url, run["id"], job["id"], args.rows)
        data_bytes = int(psql(db_url, f"SELECT sum(octet_length(data::text)) FROM results")[0][0])
        print(f"inserted {args.rows:,} results ({data_bytes / 1e6:.0f} MB of JSON) in {time.time() - t:.0f} s",
              file=sys.stderr)
        formats = [f for f in args.formats.split(",") if f]
        listed = api(base, "GET", "/v1/plugins")
        plugins = {p["name"] for p in (listed["items"] if isinstance(listed, dict) else listed)}
        for f in list(formats):
            if f"{f}-exporter" not in plugins and f not in plugins:
                print(f"skipping {f}: no such exporter on this host", file=sys.stderr)
                formats.remove(f)

        psql_secs, trawl = [], {f: {"secs": [], "peak": [], "before": [], "size": []} for f in formats}
        out = os.path.join(data_dir, "copy.out")
        for i in range(args.repeat):
            t = time.perf_counter()
            psql(db_url, f"\\copy (SELECT data FROM results WHERE run_id = '{run['id']}') TO '{out}'")
            psql_secs.append(time.perf_counter() - t)
            copy_size = os.path.getsize(out)
            os.remove(out)
            for f in formats:
                before = rss_kib(proc.pid)
                with Sampler(proc.pid) as sampler:
                    export = api(base, "POST", f"/v1/runs/{run['id']}/exports", {"format": f})
                    while True:
                        export = api(base, "GET", f"/v1/exports/{export['id']}")
                        if export["status"] not in ("queued", "running"):
                            break
                        time.sleep(0.05)
                if export["status"] != "succeeded" or export["row_count"] != args.rows:
                    sys.exit(f"the {f} export did not succeed: {export}")
                secs = float(psql(db_url, "SELECT extract(epoch FROM finished_at - created_at) FROM exports "
                                          f"WHERE id = '{export['id']}'")[0][0])
                trawl[f]["secs"].append(secs)
                trawl[f]["peak"].append(sampler.peak)
                trawl[f]["before"].append(before)
                trawl[f]["size"].append(export["size_bytes"])
                api(base, "DELETE", f"/v1/exports/{export['id']}")
            print(f"round {i + 1}: psql {psql_secs[-1]:.2f} s; " + "; ".join(
                f"{f} {trawl[f]['secs'][-1]:.2f} s, peak {trawl[f]['peak'][-1] / 1024:.0f} MiB" for f in formats),
                file=sys.stderr)

        p = statistics.median(psql_secs)
        print(f"\n{args.rows:,} results, {args.repeat} rounds, medians\n")
        print("| exporter | seconds | rows/s | ÷ psql rows/s | peak RSS | RSS before | file |")
        print("|---|---|---|---|---|---|---|")
        print(f"| psql \\copy (jsonb text) | {p:.2f} | {args.rows / p:,.0f} | 1.00× | – | – | {copy_size / 1e6:.0f} MB |")
        csv_secs = None
        for f in formats:
            s = statistics.median(trawl[f]["secs"])
            if f == "csv":
                csv_secs = s
            print(f"| trawl {f} | {s:.2f} | {args.rows / s:,.0f} | {p / s:.2f}× | "
                  f"{max(trawl[f]['peak']) / 1024:.0f} MiB | {statistics.median(trawl[f]['before']) / 1024:.0f} MiB | "
                  f"{statistics.median(trawl[f]['size']) / 1e6:.0f} MB |")
        if csv_secs:
            for f in formats:
                if f != "csv":
                    print(f"\n{f} time ÷ csv time: {statistics.median(trawl[f]['secs']) / csv_secs:.2f}")
    finally:
        proc.terminate()
        proc.wait(30)


if __name__ == "__main__":
    main()
