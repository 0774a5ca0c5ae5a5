#!/usr/bin/env python3
"""scion benchmarks against the raw operations they wrap.

Measures (wall clock, median of N runs, release build):
  start   `scion start` on the local runtime vs the floor: `git worktree add`
          + `tmux new-session -d` (+ new-window), the same work done by hand
  list    `scion list` with 100 running agents
  worktree `scion create` (worktree + home + record) vs `git worktree add`,
          on a repository of 1,000 files and on the Linux kernel's source tree
          (tens of thousands of files, from Debian's linux-source package,
          installed with apt-get when missing and kept in /var/tmp)
  create8 eight `scion create` at once vs eight `git worktree add` at once
          (1,000 files)
  diff    `scion diff --stat` of an agent that changed 1,000 files
  version `scion --version` cold start
  plugins load time of each plugin (dlopen + negotiation), from --debug logs
  calls   the in-process plugin call round trip (scion-plugin-bench: raw
          bytes, typed RuntimeClient/HarnessClient calls, a cancellable call)
          and each plugin's first load inside one process
  broker  (only with --only broker; docker) 20 container agents running
          `scion list` at the same moment, timed inside each container, and
          `scion start` from inside a container vs from the host
  docker / podman (with --engines): `scion start -p docker|podman` vs raw
          `docker|podman run -d` of the same image + `git worktree add`, ten
          agents in parallel vs ten raw runs in parallel, and `scion list`
          with 50 running containers vs `docker|podman ps`
  kube_list / kube_start / kube_sync (with --kubeconfig, or the test
          cluster of scripts/kube-test-cluster.sh when --only names them):
          `scion list` with 100 agents on -p remote (the grove broker's
          follower current, so no exec per pod), `scion start -p remote`
          split into the pod's own start and scion's work, and `sync from`
          / `sync to` of a 1,000-file worktree

Usage: Benchmarks/bench.py [--bin DIR] [--runs N] [--engines]
"""
import argparse, json, os, re, shutil, statistics, subprocess, sys, tempfile, time

def run(argv, **kw):
    result = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()}")
    return result

def timed(argv, **kw):
    start = time.perf_counter()
    run(argv, **kw)
    return (time.perf_counter() - start) * 1000

def median(samples):
    return statistics.median(samples)

class Repo:
    """A grove in a fresh repository; `files` commits that many files first,
    `source` clones a cached repository instead (objects shared)."""
    def __init__(self, scion, files=0, source=None):
        self.dir = tempfile.mkdtemp(prefix="scion-bench-")
        self.scion = scion
        self.env = dict(os.environ, HOME=os.path.join(self.dir, "home"))
        os.makedirs(self.env["HOME"])
        self.path = os.path.join(self.dir, "repo")
        if source:
            run(["git", "clone", "-q", "--shared", source, self.path])
            for argv in (["git", "config", "user.name", "bench"], ["git", "config", "user.email", "bench@example.com"],
                         ["git", "checkout", "-q", "-B", "main"]):
                run(argv, cwd=self.path)
        else:
            os.makedirs(self.path)
            for argv in (["git", "init", "-q", "-b", "main"], ["git", "config", "user.name", "bench"],
                         ["git", "config", "user.email", "bench@example.com"],
                         ["git", "commit", "-q", "--allow-empty", "-m", "init"]):
                run(argv, cwd=self.path)
            if files:
                write_files(self.path, files)
                run(["git", "add", "-A"], cwd=self.path)
                run(["git", "commit", "-q", "-m", f"{files} files"], cwd=self.path)
        self.sc("init")

    def sc(self, *args):
        return run([self.scion, *args], cwd=self.path, env=self.env)

    def close(self):
        try:
            names = [a["name"] for a in json.loads(self.sc("list", "--format", "json").stdout)]
            for i in range(0, len(names), 25):
                self.sc("delete", "--force", *names[i:i + 25])
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

def write_files(root, count, salt=""):
    """`count` source-like files of 2-6 KB in folders of 50."""
    for i in range(count):
        folder = os.path.join(root, "src", f"mod{i // 50:03d}")
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, f"file{i:04d}.c"), "w") as f:
            f.write("".join(f"int f{i}_{j}(int x) {{ return x * {j} + {i}; }} /* {salt} */\n" for j in range(40 + i % 80)))

LINUX_CACHE = "/var/tmp/scion-bench-linux"

def linux_repository():
    """The Linux kernel source (Debian's linux-source package) as a git
    repository, made once and kept in /var/tmp; None when it cannot be had."""
    if os.path.isdir(os.path.join(LINUX_CACHE, ".git")):
        return LINUX_CACHE
    import glob
    tarballs = sorted(glob.glob("/usr/src/linux-source-*.tar.xz"))
    if not tarballs and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "linux-source"], stdout=subprocess.DEVNULL,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
        tarballs = sorted(glob.glob("/usr/src/linux-source-*.tar.xz"))
    if not tarballs:
        print("linux-source is not installed (apt-get install linux-source): skipping the large repository", file=sys.stderr)
        return None
    building = LINUX_CACHE + ".part"
    shutil.rmtree(building, ignore_errors=True)
    os.makedirs(building)
    run(["tar", "-xJf", tarballs[-1], "-C", building, "--strip-components=1"])
    for argv in (["git", "init", "-q", "-b", "main"], ["git", "add", "-A", "-f"],  # Debian's tree ignores itself (/*)
                 ["git", "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q", "-m", "linux"]):
        run(argv, cwd=building)
    os.rename(building, LINUX_CACHE)
    return LINUX_CACHE

def bench_worktree(scion, runs, files=0, source=None):
    """`git worktree add` against `scion create` (worktree, home, record)."""
    repo = Repo(scion, files=files, source=source)
    raw, ours = [], []
    try:
        count = int(run(["git", "ls-files"], cwd=repo.path).stdout.count("\n"))
        for i in range(runs):
            raw.append(timed(["git", "worktree", "add", "-q", "-b", f"raw{i}", os.path.join(repo.dir, f"raw{i}")], cwd=repo.path))
            ours.append(timed([scion, "create", f"w{i}", "--harness", "shell", "true"], cwd=repo.path, env=repo.env))
    finally:
        repo.close()
    return {"files": count, "git_worktree_add_ms": median(raw), "scion_create_ms": median(ours),
            "ratio": median(ours) / median(raw)}

def bench_parallel_create(scion, runs, files=1000, width=8):
    """`width` agents created at once against `width` `git worktree add`s at
    once (each raw add under one lock, as concurrent adds trip over git's
    own lock files), on a repository of `files` files."""
    repo = Repo(scion, files=files)
    lock = os.path.join(repo.dir, "raw.lock")
    raw, ours = [], []

    def at_once(commands):
        start = time.perf_counter()
        procs = [subprocess.Popen(c, cwd=repo.path, env=repo.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                 for c in commands]
        failures = [p.communicate()[1] for p in procs if p.wait() != 0]
        if failures:
            raise SystemExit(f"parallel create: {len(failures)} failed: {failures[0]}")
        return (time.perf_counter() - start) * 1000

    try:
        for r in range(runs):
            raw.append(at_once([["flock", lock, "git", "worktree", "add", "-q", "-b", f"raw{r}-{i}", os.path.join(repo.dir, f"raw{r}-{i}")]
                                for i in range(width)]))
            ours.append(at_once([[scion, "create", f"p{r}-{i}", "--harness", "shell", "true"] for i in range(width)]))
    finally:
        repo.close()
    return {"agents": width, "files": files, "git_worktree_add_ms": median(raw), "scion_create_ms": median(ours),
            "ratio": median(ours) / median(raw)}

def bench_diff(scion, runs, files=1000):
    """`scion diff --stat` (and JSON) of an agent that changed every one of `files` files."""
    repo = Repo(scion, files=files)
    try:
        repo.sc("create", "d", "--harness", "shell", "true")
        write_files(os.path.join(repo.path, ".scion", "agents", "d", "workspace"), files, salt="changed")
        stat = [timed([scion, "diff", "d", "--stat"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        json_samples = [timed([scion, "diff", "d", "--format", "json"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        return {"changed_files": files, "diff_stat_ms": median(stat), "diff_json_ms": median(json_samples)}
    finally:
        repo.close()

def bench_start(scion, runs, files=0):
    repo = Repo(scion, files=files)
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

def bench_engine(scion, engine, image, runs, list_count=50):
    """scion on a container engine against the same work done by hand.

    The machines this runs on have no bridge network, so both sides use
    `--network none` (scion's through runtimes.<engine>.network in the
    repository's settings). The raw side is `git worktree add` plus
    `<engine> run -d --init` of the same image with the worktree mounted at
    its own path, which returns as soon as the container runs; scion's start
    also waits until the agent's tmux session is up inside it.
    """
    repo = Repo(scion)
    repo.sc("config", "set", f"runtimes.{engine}.network", "none")
    raw, ours = [], []

    def raw_start(name):
        worktree = os.path.join(repo.path, ".raw", name)
        return [["git", "worktree", "add", "-q", "-b", name, worktree],
                [engine, "run", "-d", "--init", "--name", f"bench-{name}", "--network", "none",
                 "--mount", f"type=bind,source={worktree},destination={worktree}", "--workdir", worktree,
                 image, "sleep", "600"]]

    def scion_start(name):
        return [scion, "start", name, "-p", engine, "--image", image, "--harness", "shell", "sleep 600"]

    try:
        # One of each first, so neither side pays for a cold image cache.
        for argv in raw_start("rawwarm"):
            run(argv, cwd=repo.path)
        run(scion_start("warm"), cwd=repo.path, env=repo.env)
        for i in range(runs):
            start = time.perf_counter()
            for argv in raw_start(f"raw{i}"):
                run(argv, cwd=repo.path)
            raw.append((time.perf_counter() - start) * 1000)
            ours.append(timed(scion_start(f"e{i}"), cwd=repo.path, env=repo.env))

        # Ten at once. The raw side runs each worktree add + run as one shell
        # chain; concurrent `git worktree add`s trip over git's own lock
        # files, so the adds take a lock (as scion's take its grove lock).
        def parallel(commands):
            start = time.perf_counter()
            procs = [subprocess.Popen(c, cwd=repo.path, env=repo.env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, text=True) for c in commands]
            failures = [p.communicate()[1] for p in procs if p.wait() != 0]
            if failures:
                raise SystemExit(f"{engine}: {len(failures)} of {len(commands)} parallel starts failed: {failures[0]}")
            return (time.perf_counter() - start) * 1000
        chains = []
        for i in range(10):
            add, container = raw_start(f"par{i}")
            chains.append(["sh", "-c", 'flock .git/bench.lock git worktree add -q -b "$1" "$2" && shift 2 && exec "$@"',
                           "raw", f"par{i}", add[-1], *container])
        parallel_raw = parallel(chains)
        parallel_ours = parallel([scion_start(f"p{i}") for i in range(10)])

        # scion list with list_count running containers, against the engine's
        # own listing of them (one label filter, as the plugin asks).
        have = 1 + runs + 10
        for i in range(max(0, list_count - have)):
            run(scion_start(f"l{i}"), cwd=repo.path, env=repo.env)
        agents = json.loads(repo.sc("list", "--format", "json").stdout)
        running = sum(1 for a in agents if a.get("phase") == "running")
        list_samples = [timed([scion, "list"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        raw_list = [timed([engine, "ps", "-a", "--filter", "label=scion.agent=true"]) for _ in range(runs)]
        return {"raw_ms": median(raw), "scion_ms": median(ours), "overhead_ms": median(ours) - median(raw),
                "ratio": median(ours) / median(raw),
                "parallel10_raw_ms": parallel_raw, "parallel10_scion_ms": parallel_ours,
                "parallel_ratio": parallel_ours / parallel_raw,
                "list_running_agents": running, "list_ms": median(list_samples),
                "raw_ps_ms": median(raw_list), "list_ratio": median(list_samples) / median(raw_list)}
    finally:
        ids = subprocess.run([engine, "ps", "-aq", "--filter", "name=bench-"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.split()
        if ids:
            subprocess.run([engine, "rm", "-f", *ids], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        repo.close()

class KubeRepo(Repo):
    """A grove whose active profile is `remote`, on the cluster of `kubeconfig`."""
    def __init__(self, scion, kubeconfig, files=0):
        self.kubeconfig = kubeconfig
        super().__init__(scion, files=files)
        self.env["KUBECONFIG"] = kubeconfig
        self.sc("config", "set", "active_profile", "remote")
        self.sc("config", "set", "harness_configs.shell.image", "scion-test:latest")

    def kubectl(self, *args):
        return run(["kubectl", *args], env=dict(os.environ, KUBECONFIG=self.kubeconfig))

    def start_parallel(self, names, width=6):
        for i in range(0, len(names), width):
            procs = [subprocess.Popen([self.scion, "start", n, "--harness", "shell", "sleep 3600"], cwd=self.path,
                                      env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
                     for n in names[i:i + width]]
            failures = [p.communicate()[1] for p in procs if p.wait() != 0]
            if failures:
                raise SystemExit(f"kube: {len(failures)} parallel starts failed: {failures[0]}")

def kubeconfig_of(args, root):
    if args.kubeconfig:
        return args.kubeconfig
    line = run([os.path.join(root, "scripts", "kube-test-cluster.sh"), "up"]).stdout.strip().splitlines()[-1]
    if not line.startswith("KUBECONFIG="):
        raise SystemExit("scripts/kube-test-cluster.sh up did not print KUBECONFIG=...")
    return line[len("KUBECONFIG="):]

def bench_kube_list(scion, kubeconfig, runs, count=100):
    repo = KubeRepo(scion, kubeconfig)
    try:
        names = [f"k{i}" for i in range(count)]
        started = time.perf_counter()
        repo.start_parallel(names)
        start_s = time.perf_counter() - started
        # The follower is current for every agent once follower.json names its pod.
        deadline = time.time() + 120
        agents_dir = os.path.join(repo.path, ".scion", "agents")
        while time.time() < deadline:
            current = sum(1 for n in names if os.path.exists(os.path.join(agents_dir, n, "remote", "follower.json")))
            if current == count:
                break
            time.sleep(1)
        samples = [timed([scion, "list"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        json_samples = [timed([scion, "list", "--format", "json"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        raw = [timed(["kubectl", "get", "pods", "-l", "scion.agent=true", "-o", "name"],
                     env=dict(os.environ, KUBECONFIG=kubeconfig)) for _ in range(runs)]
        # Without the follower (its broker just killed): one exec per pod, as before.
        lock = os.path.join(repo.path, ".scion", "broker.lock")
        unfollowed = []
        for _ in range(min(runs, 3)):
            try:
                os.kill(int(open(lock).read().strip()), 9)
                time.sleep(0.5)
            except (OSError, ValueError):
                pass
            unfollowed.append(timed([scion, "list"], cwd=repo.path, env=repo.env))
        return {"agents": count, "followed": current, "start_all_s": start_s, "list_ms": median(samples),
                "list_json_ms": median(json_samples), "kubectl_get_pods_ms": median(raw),
                "list_without_follower_ms": median(unfollowed)}
    finally:
        repo.close()

def bench_kube_start(scion, kubeconfig, runs):
    """scion's own share of a start: total minus the plugin's pod-running
    time, from its --debug line `started POD in N ms (pod running after M ms, ...)`."""
    repo = KubeRepo(scion, kubeconfig)
    total, pod, workspace = [], [], []
    try:
        for i in range(runs):
            start = time.perf_counter()
            result = subprocess.run([scion, "--debug", "start", f"s{i}", "--harness", "shell", "sleep 600"], cwd=repo.path,
                                    env=repo.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            total.append((time.perf_counter() - start) * 1000)
            found = re.search(r"started \S+ in (\d+) ms \(pod running after (\d+) ms, workspace and session (\d+) ms\)", result.stderr)
            if result.returncode != 0 or not found:
                raise SystemExit(f"kube start failed or logged no timing: {result.stderr[-500:]}")
            pod.append(int(found.group(2)))
            workspace.append(int(found.group(3)))
        return {"start_ms": median(total), "pod_running_ms": median(pod), "workspace_and_session_ms": median(workspace),
                "overhead_over_pod_ms": median(total) - median(pod)}
    finally:
        repo.close()

def bench_kube_sync(scion, kubeconfig, runs, files=1000):
    repo = KubeRepo(scion, kubeconfig, files=files)
    try:
        start = time.perf_counter()
        repo.sc("start", "big", "--harness", "shell", "sleep 3600")
        start_ms = (time.perf_counter() - start) * 1000
        pod = json.loads(repo.sc("list", "--format", "json").stdout)[0]["handle"]
        froms, tos = [], []
        for i in range(runs):
            # A commit in the pod touching every file, then home.
            repo.kubectl("exec", pod, "-c", "agent", "--", "sh", "-c",
                         f"for f in $(git ls-files); do echo {i} >> \"$f\"; done; git commit -qam pod-{i}")
            froms.append(timed([scion, "sync", "from", "big"], cwd=repo.path, env=repo.env))
            worktree = os.path.join(repo.path, ".scion", "agents", "big", "workspace")
            run(["sh", "-c", f"for f in $(git ls-files); do echo h{i} >> \"$f\"; done; git commit -qam host-{i}"], cwd=worktree)
            tos.append(timed([scion, "sync", "to", "big"], cwd=repo.path, env=repo.env))
        return {"files": files, "start_ms": start_ms, "sync_from_ms": median(froms), "sync_to_ms": median(tos)}
    finally:
        repo.close()
def bench_kube_pods(bin_dir, root, count=50, listed=100):
    """The Kubernetes test cluster's kubelet against the engine, measured the same way at
    the same moment: `count` pods from one `kubectl create -f` until `kubectl wait` sees
    them all Ready, against `count` `docker run -d` at once; then the list of `listed` pods,
    by kubectl and as a raw GET on a kept-alive connection. A private cluster of its own
    (`kube-test-cluster` from bin_dir), stopped at the end."""
    server = os.path.join(bin_dir, "kube-test-cluster")
    if not os.path.exists(server):
        return {"skipped": f"{server} is not built (swift build -c release --product kube-test-cluster)"}
    script = os.path.join(root, "scripts", "kube-test-cluster.sh")
    state = tempfile.mkdtemp(prefix="scion-kube-bench-")
    env = dict(os.environ, KUBE_TEST_CLUSTER_DIR=state, KUBE_TEST_CLUSTER_BIN=server,
               KUBE_TEST_CLUSTER_ARGS=f"--node-pods {listed + 10}")
    label = f"scion.bench={os.path.basename(state)}"

    def pods(first, last):
        return json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p{i}", "namespace": "default"},
             "spec": {"terminationGracePeriodSeconds": 0, "restartPolicy": "Never",
                      "containers": [{"name": "main", "image": "scion-test:latest", "command": ["sleep", "600"]}]}}
            for i in range(first, last)]})
    try:
        kubeconfig = run(["bash", script, "up"], env=env).stdout.strip().splitlines()[-1].split("=", 1)[1]
        kenv = dict(env, KUBECONFIG=kubeconfig)
        start = time.perf_counter()
        procs = [subprocess.Popen(["docker", "run", "-d", "--network", "none", "--label", label,
                                   "scion-test:latest", "sleep", "600"], stdout=subprocess.DEVNULL)
                 for _ in range(count)]
        for p in procs:
            p.wait()
        engine_ms = (time.perf_counter() - start) * 1000
        ids = run(["docker", "ps", "-aq", "--filter", f"label={label}"]).stdout.split()
        run(["docker", "rm", "-f", *ids])
        start = time.perf_counter()
        run(["kubectl", "create", "--validate=false", "-f", "-"], env=kenv, input=pods(0, count))
        run(["kubectl", "wait", "--for=condition=Ready", "pod", "--all", "--timeout=600s"], env=kenv)
        cluster_ms = (time.perf_counter() - start) * 1000
        run(["kubectl", "create", "--validate=false", "-f", "-"], env=kenv, input=pods(count, listed))
        kubectl_get = median([timed(["kubectl", "get", "pods"], env=kenv) for _ in range(7)])
        token = json.load(open(os.path.join(state, "tokens.json")))["admin"]
        port = open(os.path.join(state, "port")).read().strip()
        url = f"https://127.0.0.1:{port}/api/v1/namespaces/default/pods"
        raw = []
        for _ in range(7):
            out = run(["curl", "-s", "-o", "/dev/null", "-o", "/dev/null", "--cacert", os.path.join(state, "ca.crt"),
                       "-H", f"Authorization: Bearer {token}", "-w", "%{time_total}\n", url, url]).stdout.split()
            raw.append(float(out[-1]) * 1000)
        return {"pods": count, "engine_docker_run_ms": engine_ms, "cluster_ready_ms": cluster_ms,
                "overhead_ms": cluster_ms - engine_ms, "listed_pods": listed,
                "kubectl_get_pods_ms": kubectl_get, "get_pods_kept_alive_ms": median(raw)}
    finally:
        subprocess.run(["bash", script, "down", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"label={label}"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(state, ignore_errors=True)
# Runs inside an agent's container: sleeps until the wall-clock time $1 (ns),
# then times `scion` with the remaining arguments (ms), output discarded.
IN_CONTAINER_TIMER = r"""
t=$1; shift
now=$(date +%s%N); d=$(( (t - now) / 1000000 ))
[ "$d" -gt 0 ] && sleep "$(( d / 1000 )).$(printf %03d $(( d % 1000 )))"
s=$(date +%s%N); scion "$@" > /dev/null 2>&1; status=$?; e=$(date +%s%N)
echo "$(( (e - s) / 1000 )) $status"
"""

def bench_broker(scion, runs, engine="docker", image="scion-test:latest", count=20):
    """The grove broker (issue 11): `count` container agents that each run
    `scion list` at the same moment (timed inside each container, the whole
    brokered command), one `scion list` inside a container
    alone and on the host, and `scion start` of a container child from
    inside a container against the same start from the host."""
    repo = Repo(scion)
    for key, value in (("active_profile", engine), (f"runtimes.{engine}.network", "none"),
                       ("harness_configs.shell.image", image)):
        repo.sc("config", "set", key, value)

    def inside(handle, at_ns, *args):
        result = run([engine, "exec", handle, "sh", "-c", IN_CONTAINER_TIMER, "timer", str(at_ns), *args])
        micros, status = result.stdout.split()
        if status != "0":
            raise SystemExit(f"scion {' '.join(args)} inside {handle} exited {status}")
        return int(micros) / 1000

    try:
        for i in range(count):
            repo.sc("start", f"b{i}", "--harness", "shell", "sleep 600")
        agents = json.loads(repo.sc("list", "--format", "json").stdout)
        handles = [a["handle"] for a in agents if a.get("handle")]
        host_list = [timed([scion, "list"], cwd=repo.path, env=repo.env) for _ in range(runs)]
        alone = [inside(handles[0], 0, "list") for _ in range(runs)]
        # All at once: every container sleeps until the same moment, then lists.
        rounds = []
        for _ in range(max(3, runs // 3)):
            at = time.time_ns() + 3_000_000_000
            procs = [subprocess.Popen([engine, "exec", h, "sh", "-c", IN_CONTAINER_TIMER, "timer", str(at), "list"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for h in handles]
            outs = [p.communicate()[0].split() for p in procs]
            if any(len(o) != 2 or o[1] != "0" for o in outs):
                raise SystemExit(f"a concurrent list failed inside a container: {outs}")
            rounds.append([int(o[0]) / 1000 for o in outs])
        latencies = [ms for r in rounds for ms in r]
        # A child of b0 from inside its container, against the same start from the host.
        starts = min(runs, 5)
        host_start = [timed([scion, "start", f"h{i}", "--harness", "shell", "sleep 600"], cwd=repo.path, env=repo.env)
                      for i in range(starts)]
        inside_start = [inside(handles[0], 0, "start", f"c{i}", "--harness", "shell", "sleep 600") for i in range(starts)]
        return {"agents": len(handles), "host_list_ms": median(host_list), "inside_list_alone_ms": median(alone),
                "concurrent_lists": len(handles), "concurrent_list_median_ms": median(latencies),
                "concurrent_list_max_ms": max(latencies),
                "concurrent_list_worst_round_median_ms": max(median(r) for r in rounds),
                "host_start_ms": median(host_start), "inside_start_ms": median(inside_start),
                "start_ratio": median(inside_start) / median(host_start)}
    finally:
        repo.close()

def bench_calls(bin_dir, iterations=300000):
    bench = os.path.join(bin_dir, "scion-plugin-bench")
    if not os.path.exists(bench):
        return {"skipped": f"{bench} is not built"}
    return json.loads(run([bench, str(iterations)]).stdout)

def drop_page_cache():
    """Before each benchmark, when root: after tens of thousands of deleted
    files (the Linux tree, or the previous benchmark's worktrees) ext4 spends
    most of a new file's creation skipping recently freed inodes whose
    blocks are still cached (`recently_deleted` in a kernel profile): `git
    worktree add` of 1,000 files went from 90 to 450 ms. Dropping the cache
    ends that."""
    if os.geteuid() == 0:
        subprocess.run(["sync"])
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")

def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--bin", default=None, help="folder with scion and the plugins (default: release build)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--engines", action="store_true", help="also benchmark docker and podman")
    parser.add_argument("--only", default=None, help="comma-separated: start,start1k,worktree,create8,diff,version,plugins_ms,calls,list,"
                        "kubepods,broker,kube_list,kube_start,kube_sync (kubepods and broker only when asked; the kube_* ones when asked or with --kubeconfig)")
    parser.add_argument("--kubeconfig", default=None, help="a cluster for the kube_* benchmarks (default: the test cluster)")
    parser.add_argument("--kube-agents", type=int, default=100, help="agents for kube_list")
    args = parser.parse_args()
    bin_dir = args.bin or run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=root).stdout.strip()
    scion = os.path.join(bin_dir, "scion")
    benches = {
        "start": lambda: bench_start(scion, args.runs),
        "start1k": lambda: bench_start(scion, args.runs, files=1000),
        "worktree": lambda: {"files_1000": bench_worktree(scion, args.runs, files=1000),
                             "linux": (lambda source: source and bench_worktree(scion, min(args.runs, 5), source=source))(linux_repository())},
        "create8": lambda: bench_parallel_create(scion, min(args.runs, 5)),
        "diff": lambda: bench_diff(scion, args.runs),
        "version": lambda: bench_version(scion, args.runs * 2),
        "plugins_ms": lambda: bench_plugins(scion, 5),
        "calls": lambda: bench_calls(bin_dir),
        "list": lambda: bench_list(scion, args.runs),
        # Issue 9: not in the default set (it runs 150 containers); ask for it with --only kubepods.
        "kubepods": lambda: bench_kube_pods(bin_dir, root),
        # Issue 11: needs docker and the test image (scripts/test-env.sh); only with --only broker.
        "broker": lambda: bench_broker(scion, args.runs),
    }
    # Issue 10: the kube_* benchmarks, on the test cluster or --kubeconfig's.
    kube = {
        "kube_list": lambda: bench_kube_list(scion, kubeconfig_of(args, root), min(args.runs, 10), args.kube_agents),
        "kube_start": lambda: bench_kube_start(scion, kubeconfig_of(args, root), min(args.runs, 5)),
        "kube_sync": lambda: bench_kube_sync(scion, kubeconfig_of(args, root), min(args.runs, 5)),
    }
    only_when_asked = {"kubepods", "broker"}
    wanted = args.only.split(",") if args.only else (
        [name for name in benches if name not in only_when_asked] + (list(kube) if args.kubeconfig else []))
    benches.update(kube)
    results = {}
    for name in wanted:
        if name in benches:
            drop_page_cache()
            results[name] = benches[name]()
    if args.engines:
        results["docker"] = bench_engine(scion, "docker", "scion-test:latest", min(args.runs, 8))
        results["podman"] = bench_engine(scion, "podman", "localhost/scion-test:latest", min(args.runs, 8))
    print(json.dumps(results, indent=2))

if __name__ == "__main__":
    main()
