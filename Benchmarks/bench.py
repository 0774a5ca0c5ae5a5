#!/usr/bin/env python3
"""scion benchmarks against the raw operations they wrap.

Measures (wall clock, median of N runs, release build):
  start   `scion start` on the local runtime vs the floor: `git worktree add`
          + `tmux new-session -d` (+ new-window), the same work done by hand
  list    `scion list` with 100 running agents
  version `scion --version` cold start
  plugins load time of each plugin (dlopen + negotiation), from --debug logs
  docker / podman (with --engines): `scion start -p docker|podman` vs raw
          `docker|podman run -d` of the same image + `git worktree add`, and
          ten agents in parallel vs ten raw runs in parallel

Usage: Benchmarks/bench.py [--bin DIR] [--runs N] [--engines]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

def run(argv, **kw):
    return subprocess.run(argv, check=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)

def timed(argv, **kw):
    start = time.perf_counter()
    run(argv, **kw)
    return (time.perf_counter() - start) * 1000

def median(samples):
    return statistics.median(samples)

class Repo:
    def __init__(self, scion):
        self.dir = tempfile.mkdtemp(prefix="scion-bench-")
        self.scion = scion
        self.env = dict(os.environ, HOME=os.path.join(self.dir, "home"))
        os.makedirs(self.env["HOME"])
        self.path = os.path.join(self.dir, "repo")
        os.makedirs(self.path)
        for argv in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.name", "bench"],
                     ["git", "config", "user.email", "bench@example.com"],
                     ["git", "commit", "-q", "--allow-empty", "-m", "init"]):
            run(argv, cwd=self.path)
        self.sc("init")

    def sc(self, *args):
        return run([self.scion, *args], cwd=self.path, env=self.env)

    def close(self):
        try:
            names = [a["name"] for a in json.loads(self.sc("list", "--format", "json").stdout)]
            for i in range(0, len(names), 25):
                self.sc("delete", *names[i:i + 25])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

def bench_start(scion, runs):
    repo = Repo(scion)
    raw, ours = [], []
    try:
        for i in range(runs):
            tmpdir = tempfile.mkdtemp(prefix="raw-", dir="/tmp")
            start = time.perf_counter()
            run(["git", "worktree", "add", "-q", "-b", f"raw{i}", os.path.join(repo.path, f".raw/raw{i}")], cwd=repo.path)
            env = dict(os.environ, TMUX_TMPDIR=tmpdir)
            run(["tmux", "new-session", "-d", "-s", "scion", "-n", "agent", "--", "sleep", "600", ";",
                 "new-window", "-d", "-n", "shell"], env=env)
            raw.append((time.perf_counter() - start) * 1000)
            run(["tmux", "kill-server"], env=env)
            shutil.rmtree(tmpdir, ignore_errors=True)
            ours.append(timed([scion, "start", f"a{i}", "--harness", "shell", "sleep 600"], cwd=repo.path, env=repo.env))
    finally:
        repo.close()
    return {"raw_ms": median(raw), "scion_ms": median(ours), "overhead_ms": median(ours) - median(raw),
            "ratio": median(ours) / median(raw)}

def bench_list(scion, runs, count=100):
    repo = Repo(scion)
    try:
        for i in range(count):
            repo.sc("start", f"l{i}", "--harness", "shell", "sleep 600")
        samples = [timed([scion, "list"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        json_samples = [timed([scion, "list", "--format", "json"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        return {"agents": count, "list_ms": median(samples), "list_json_ms": median(json_samples)}
    finally:
        repo.close()

def bench_version(scion, runs):
    samples = [timed([scion, "--version"]) for _ in range(runs)]
    true_samples = [timed(["/bin/true"]) for _ in range(runs)]
    return {"version_ms": median(samples), "process_floor_ms": median(true_samples)}

def bench_plugins(scion, runs):
    repo = Repo(scion)
    loads = {}
    try:
        for _ in range(runs):
            result = subprocess.run([scion, "--debug", "plugins", "list"], cwd=repo.path, env=repo.env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for kind, name, micros in re.findall(r"loaded (\w+) plugin (\S+) in (\d+) µs", result.stderr):
                loads.setdefault(name, []).append(int(micros) / 1000)
    finally:
        repo.close()
    return {name: median(samples) for name, samples in sorted(loads.items())}

def bench_engine(scion, engine, image, runs):
    repo = Repo(scion)
    raw, ours = [], []
    try:
        for i in range(runs):
            start = time.perf_counter()
            run(["git", "worktree", "add", "-q", "-b", f"raw{i}", os.path.join(repo.path, f".raw/raw{i}")], cwd=repo.path)
            run([engine, "run", "-d", "--name", f"bench-raw-{i}", "--network", "none", image, "tmux", "new-session", "-d", "-s", "x", "sleep", "600"])
            raw.append((time.perf_counter() - start) * 1000)
            ours.append(timed([scion, "start", f"e{i}", "-p", engine, "--image", image, "--harness", "shell", "sleep 600"],
                              cwd=repo.path, env=repo.env))
        parallel_raw = time.perf_counter()
        procs = [subprocess.Popen([engine, "run", "-d", "--name", f"bench-par-{i}", "--network", "none", image, "sleep", "600"],
                                  stdout=subprocess.DEVNULL) for i in range(10)]
        [p.wait() for p in procs]
        parallel_raw = (time.perf_counter() - parallel_raw) * 1000
        parallel_ours = time.perf_counter()
        procs = [subprocess.Popen([scion, "start", f"p{i}", "-p", engine, "--image", image, "--harness", "shell", "sleep 600"],
                                  cwd=repo.path, env=repo.env, stdout=subprocess.DEVNULL) for i in range(10)]
        [p.wait() for p in procs]
        parallel_ours = (time.perf_counter() - parallel_ours) * 1000
        return {"raw_ms": median(raw), "scion_ms": median(ours), "ratio": median(ours) / median(raw),
                "parallel10_raw_ms": parallel_raw, "parallel10_scion_ms": parallel_ours,
                "parallel_ratio": parallel_ours / parallel_raw}
    finally:
        subprocess.run(f"{engine} rm -f $({engine} ps -aq --filter name=bench-) >/dev/null 2>&1", shell=True)
        repo.close()

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--bin", default=None, help="folder with scion and the plugins (default: release build)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--engines", action="store_true", help="also benchmark docker and podman")
    args = parser.parse_args()
    bin_dir = args.bin or run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root).stdout.strip()
    scion = os.path.join(bin_dir, "scion")
    results = {"start": bench_start(scion, args.runs), "version": bench_version(scion, args.runs * 2),
               "plugins_ms": bench_plugins(scion, 5), "list": bench_list(scion, args.runs)}
    if args.engines:
        results["docker"] = bench_engine(scion, "docker", "scion-test:latest", min(args.runs, 8))
        results["podman"] = bench_engine(scion, "podman", "localhost/scion-test:latest", min(args.runs, 8))
    print(json.dumps(results, indent=2))

if __name__ == "__main__":
    main()
