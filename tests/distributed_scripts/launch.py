"""Start the scripts in fresh interpreters (the device count is fixed when JAX starts), bounded
in time, and never leave a process behind: each child leads its own process group, and every
group still alive when the caller is done - success, failure or timeout - is killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env(n_devices: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a script: CPU only, float64, ``n_devices`` host devices, no proxies
    (gRPC would send the coordinator's 127.0.0.1 traffic to a proxy), no inherited LAMB_*."""
    env = {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith(("LAMB_", "JAX_", "XLA_"))
    }
    env |= {
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices}",
        "JAX_ENABLE_X64": "1",
        "JAX_PLATFORMS": "cpu",
        "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    }
    return env | (extra or {})


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_all(commands: list[tuple[list[str], dict[str, str]]], timeout: float) -> list[str]:
    """Run ``python -m ...`` commands concurrently; return their outputs (stdout + stderr).

    Raises:
        AssertionError: a command failed or the whole did not finish within ``timeout`` s
            (with every output so far, to see why).
    """
    procs, logs = [], []
    try:
        for args, env in commands:
            log = tempfile.TemporaryFile("w+")  # a file, not a pipe: a full pipe would block
            logs.append(log)
            procs.append(
                subprocess.Popen(
                    [sys.executable, *args],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group, killed as a whole
                )
            )
        deadline = time.monotonic() + timeout
        # Poll rather than wait on each in turn: once one process fails, its peers would wait
        # for it until JAX's own timeouts (minutes), so stop at the first failure.
        while any(p.poll() is None for p in procs):
            if any(p.poll() for p in procs) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        codes = [p.poll() for p in procs]
        if None in codes and not any(codes):
            raise AssertionError(f"timed out after {timeout} s:\n{_read(logs)}")
        if any(codes):
            raise AssertionError(f"exit codes {codes} (None: killed):\n{_read(logs)}")
        return [_read([log]) for log in logs]
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        for log in logs:
            log.close()


def _read(logs) -> str:
    out = []
    for i, log in enumerate(logs):
        log.flush()
        log.seek(0)
        out.append(f"--- process {i} ---\n{log.read()[-6000:]}")
    return "\n".join(out)
