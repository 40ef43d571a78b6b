"""What the machine is and what else runs on it: the context every bench figure depends on."""

import importlib.metadata
import os
import platform
import socket
import subprocess
from pathlib import Path
from typing import Any

from ops.supervisor import REPO_ROOT

KAFKA_VERSION = "4.1.1"  # what deploy/local/kafka.sh runs
PACKAGES = ("confluent-kafka", "rocksdict", "orjson", "pydantic", "email-validator", "psycopg")


def _run_text(args: list[str]) -> str:
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=20, check=False,
                              cwd=REPO_ROOT)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return (proc.stdout or proc.stderr).strip()


def machine_description() -> dict[str, Any]:
    """What the numbers depend on, so results from different machines are not compared blind."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = "not installed"
    commit = _run_text(["git", "rev-parse", "HEAD"]) or "unknown"
    dirty = bool(_run_text(["git", "status", "--porcelain", "--untracked-files=no"]))
    java = _run_text(["java", "-version"]).splitlines()
    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu,
        "cpu_cores": os.cpu_count(),
        "cpu_cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "java": java[0] if java else "unknown",
        "packages": versions,
        "git_commit": commit,
        "git_dirty": dirty,
    }


def count_other_brokers() -> int:
    """Kafka brokers on this machine that are not ours: they share the CPU and skew numbers."""
    mine = str(REPO_ROOT / ".local" / "bench")
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "kafka.Kafka" in cmd and mine not in cmd:
            count += 1
    return count


def helpers_hwm_mib(pid: int) -> float | None:
    """Summed peak RSS of a process's children (the send filter's reader process), which its
    own VmHWM does not count; None when it has none."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    peaks = [p for p in (vm_hwm_mib(int(c)) for c in children) if p is not None]
    return sum(peaks) if peaks else None


def vm_hwm_mib(pid: int) -> float | None:
    """Peak resident set size of a live process (VmHWM), read before it is stopped."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None
