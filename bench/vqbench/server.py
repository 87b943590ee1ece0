"""The server the PG* environment variables point at: psql, binary COPY,
pgbench, and index builds watched for time, memory and progress."""
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np


def psql(sql, options=""):
    env = dict(os.environ, PGOPTIONS=options)
    out = subprocess.run(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        out.check_returncode()
    return out.stdout.strip()


# ---------------------------------------------------------------- COPY

COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
COPY_TRAILER = (-1).to_bytes(2, "big", signed=True)


def binary_rows(first_id, vecs, ints=()):
    """COPY BINARY tuples (id int, embedding, int columns...): pqvector and
    pgvector's vector share their binary form (int16 dims, int16 0, float4s)."""
    n, d = vecs.shape
    fields = [("nf", ">i2"), ("lid", ">i4"), ("id", ">i4"), ("lv", ">i4"), ("dim", ">i2"), ("zero", ">i2"),
              ("v", ">f4", (d,))]
    for j in range(len(ints)):
        fields += [(f"l{j}", ">i4"), (f"c{j}", ">i4")]
    t = np.empty(n, dtype=fields)
    t["nf"], t["lid"], t["id"], t["lv"], t["dim"], t["zero"] = 2 + len(ints), 4, np.arange(first_id, first_id + n), \
        4 + 4 * d, d, 0
    t["v"] = vecs
    for j, c in enumerate(ints):
        t[f"l{j}"], t[f"c{j}"] = 4, c
    return t.tobytes()


def copy_in(table, columns, pieces):
    """COPY table (columns) FROM STDIN in binary, from an iterator of
    binary_rows() pieces, streamed: one piece in memory at a time."""
    p = subprocess.Popen(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                          f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT binary)"],
                         stdin=subprocess.PIPE)
    try:
        p.stdin.write(COPY_HEADER)
        for piece in pieces:
            p.stdin.write(piece)
        p.stdin.write(COPY_TRAILER)
        p.stdin.close()
    except BrokenPipeError:
        pass
    if p.wait() != 0:
        sys.exit(f"COPY into {table} failed")


# ---------------------------------------------------------------- pgbench

PGBENCH_PROTOCOL = "simple"  # or "prepared" (--protocol)


def pgbench(script, clients, seconds, options):
    """QPS and p50/p99 latency (ms) of a pgbench script, one query at a time
    per client."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "q.sql")
        with open(path, "w") as f:
            f.write(script)
        env = dict(os.environ, PGOPTIONS=options)
        out = subprocess.run(["pgbench", "-n", "-M", PGBENCH_PROTOCOL, "-c", str(clients), "-j", str(clients),
                              "-T", str(seconds),
                              "--log", "--log-prefix", os.path.join(tmp, "log"), "-f", path],
                             check=True, capture_output=True, text=True, env=env, cwd=tmp).stdout
        tps = float(re.search(r"tps = ([\d.]+)", out).group(1))
        lat = []
        for name in os.listdir(tmp):
            if name.startswith("log"):
                with open(os.path.join(tmp, name)) as f:
                    lat.extend(int(line.split()[2]) / 1000.0 for line in f)
        lat.sort()
        return tps, lat[len(lat) // 2], lat[min(len(lat) - 1, int(len(lat) * 0.99))]


# ---------------------------------------------------------------- builds

def _rss_anon_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def build_index(sql, settings, verbose=True, poll=0.5):
    """Run CREATE INDEX (after the SET statements in settings) in a session of
    its own and watch it from another: build seconds, the peak private memory
    (RssAnon) of its backend plus parallel workers, sampled every `poll` s, and
    pg_stat_progress_create_index printed every 10 s."""
    app = f"vqbench_build_{os.getpid()}_{time.monotonic_ns()}"
    env = dict(os.environ, PGAPPNAME=app)
    t0 = time.perf_counter()
    proc = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", f"{settings} {sql}"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watch = f"""SELECT a.pid, coalesce(p.phase, ''), coalesce(p.tuples_done, 0), coalesce(p.tuples_total, 0)
                  FROM pg_stat_activity a LEFT JOIN pg_stat_progress_create_index p ON p.pid = a.pid
                 WHERE a.application_name = '{app}'
                    OR a.leader_pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = '{app}')"""
    peak_kb = 0
    last_print = time.perf_counter()
    out = {}

    def wait():
        out["stdout"], out["stderr"] = proc.communicate()

    waiter = threading.Thread(target=wait)
    waiter.start()
    while waiter.is_alive():
        waiter.join(poll)
        try:
            rows = [r.split("|") for r in psql(watch).splitlines()]
        except subprocess.CalledProcessError:
            continue
        peak_kb = max(peak_kb, sum(_rss_anon_kb(int(r[0])) for r in rows))
        if verbose and time.perf_counter() - last_print >= 10:
            last_print = time.perf_counter()
            for r in rows:
                if r[1]:
                    done = f" {int(r[2]):,}/{int(r[3]):,} rows" if int(r[3]) else ""
                    print(f"    {time.perf_counter() - t0:5.0f} s: {r[1]}{done}", flush=True)
    build_s = time.perf_counter() - t0
    if proc.returncode != 0:
        sys.stderr.write(out["stderr"])
        sys.exit(f"index build failed: {sql}")
    return build_s, peak_kb / 1024.0


# ---------------------------------------------------------------- cold cache

def relation_files(table):
    """Paths of the files of a table, its TOAST table and all their indexes."""
    datadir = psql("SHOW data_directory")
    rels = psql(f"""SELECT pg_relation_filepath(c.oid) FROM pg_class c
                    WHERE c.oid IN ('{table}'::regclass, (SELECT reltoastrelid FROM pg_class
                                                          WHERE oid = '{table}'::regclass))
                       OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN
                                    ('{table}'::regclass, (SELECT reltoastrelid FROM pg_class
                                                           WHERE oid = '{table}'::regclass)))""").split()
    out = []
    for rel in rels:
        base = os.path.join(datadir, rel)
        seg = 0
        while os.path.exists(base if seg == 0 else f"{base}.{seg}"):  # 1 GB segments
            out.append(base if seg == 0 else f"{base}.{seg}")
            seg += 1
    return out


def evict(table):
    """Make a table and its indexes cold: restart the server (empty shared
    buffers; the shutdown checkpoint writes what is dirty), then drop the
    files' pages from the OS page cache with posix_fadvise(DONTNEED), which
    touches no other file on the machine (unlike drop_caches).  Needs to run
    as root or as the server's user.  Returns the MB still cached after."""
    files = relation_files(table)
    datadir = psql("SHOW data_directory")
    cmd = [shutil.which("pg_ctl"), "-D", datadir, "-m", "fast", "-w",
           "-l", os.path.join(os.path.dirname(datadir), "server.log"), "restart"]
    owner = pwd.getpwuid(os.stat(datadir).st_uid).pw_name
    if os.getuid() == 0 and owner != "root":
        cmd = ["runuser", "-u", owner, "--"] + cmd
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    cached = 0
    for f in files:
        fd = os.open(f, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    for line in subprocess.run(["fincore", "-b", "-n", "-o", "RES"] + files, capture_output=True,
                               text=True).stdout.split():
        cached += int(line) if line.isdigit() else 0
    return cached / 1e6
