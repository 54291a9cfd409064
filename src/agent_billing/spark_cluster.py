"""A standalone Spark cluster on this machine, for the `spark_thrift` dbt target.

One master, one worker and the Thrift (HiveServer2) server, as a real deployment runs them,
started from the pyspark wheel (`bin/spark-class`, `bin/spark-submit`, the
hive-thriftserver jar) and bound to 127.0.0.1 only, on ports the system picks. The Hive
metastore (Derby), the tables, the worker's folder and the logs live in one folder of their
own. Every process carries the folder in its environment (BILLING_SPARK_CLUSTER), the
executors the worker starts included, so that `stop()` can find and end each one and then
check that none is left; the JVMs also die with the Python process that started them
(parent-death signal), so an interrupted run leaves nothing behind.

    with SparkCluster(folder) as cluster:
        ...  # dbt --target spark_thrift with SPARK_THRIFT_PORT=cluster.thrift_port

`python -m agent_billing.spark_cluster FOLDER` starts one and keeps it up until Ctrl-C.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

MARKER = "BILLING_SPARK_CLUSTER"
HOST = "127.0.0.1"
THRIFT_SERVER = "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2"
_PR_SET_PDEATHSIG = 1

LOG4J = """\
rootLogger.level = warn
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
# the lines the launcher waits for
logger.master.name = org.apache.spark.deploy.master.Master
logger.master.level = info
logger.worker.name = org.apache.spark.deploy.worker.Worker
logger.worker.level = info
logger.thrift.name = org.apache.spark.sql.hive.thriftserver.HiveThriftServer2
logger.thrift.level = info
logger.service.name = org.apache.hive.service
logger.service.level = info
"""


# Spark 4.0 dropped hive-llap-common from its distribution (SPARK-51029), and Hive's
# FunctionRegistry cannot load without one of its interfaces (GenericUDTFGetSplits implements
# it). The Thrift server initializes that registry only on some paths of closing a session;
# seen here after a dbt process was killed mid-commit: from then on every session close
# failed (NoClassDefFoundError ... LlapSigner$Signable) and so every dbt build, until the
# server restarted. A production server should get hive-llap-common-2.3.10.jar on its
# classpath; no Maven repository is reachable from here, so the cluster's driver gets a
# jar holding that one empty interface, written by _standin_jar.
LLAP_SIGNABLE = "org/apache/hadoop/hive/llap/security/LlapSigner$Signable"


def _interface_class(name: str) -> bytes:
    """The class file of a public, empty Java interface NAME (class file version 52)."""
    utf8 = name.encode()
    pool = [
        b"\x01" + struct.pack(">H", len(utf8)) + utf8,
        b"\x07" + struct.pack(">H", 1),
        b"\x01" + struct.pack(">H", 16) + b"java/lang/Object",
        b"\x07" + struct.pack(">H", 3),
    ]
    header = struct.pack(">IHHH", 0xCAFEBABE, 0, 52, len(pool) + 1)
    # public interface abstract; this class #2, super #4; no interfaces, fields, methods
    return header + b"".join(pool) + struct.pack(">7H", 0x0601, 2, 4, 0, 0, 0, 0)


def _standin_jar(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as jar:
        jar.writestr(f"{LLAP_SIGNABLE}.class", _interface_class(LLAP_SIGNABLE))
    return path


class ClusterError(RuntimeError):
    """The cluster did not start, or a process of it outlived stop()."""


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL when the process that started it ends."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def marked_processes(folder: Path) -> list[int]:
    """Process ids whose environment names this cluster's folder (the caller's excluded)."""
    needle = f"{MARKER}={folder}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes() + b"\0":
                found.append(int(entry.name))
    return found


class SparkCluster:
    """Master, worker and Thrift server under `folder`; a context manager."""

    def __init__(
        self,
        folder: Path,
        *,
        worker_cores: int = 2,
        worker_memory: str = "3g",
        executor_memory: str = "2g",
        driver_memory: str = "1g",
        start_timeout: float = 180.0,
        event_log: bool = False,
    ) -> None:
        self.folder = Path(folder).resolve()
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.executor_memory = executor_memory
        self.driver_memory = driver_memory
        self.start_timeout = start_timeout
        # Spark's event log (one JSON file per driver, under FOLDER/events): when each SQL
        # execution started and ended, which the bench uses to split Spark's time from dbt's
        self.event_log = event_log
        self.master_url = ""
        self.thrift_port = 0
        self._processes: dict[str, subprocess.Popen] = {}
        self._starts = 0

    @property
    def warehouse_dir(self) -> Path:
        return self.folder / "warehouse"

    def _env(self) -> dict[str, str]:
        conf = self.folder / "conf"
        return dict(
            os.environ,
            SPARK_HOME=str(spark_home()),
            SPARK_CONF_DIR=str(conf),
            SPARK_LOCAL_IP=HOST,
            SPARK_LOCAL_HOSTNAME=HOST,
            SPARK_LOG_DIR=str(self.folder / "logs"),
            SPARK_PID_DIR=str(self.folder),
            SPARK_NO_DAEMONIZE="1",
            PYSPARK_PYTHON=sys.executable,
            TZ="UTC",
            **{MARKER: str(self.folder)},
        )

    def _start(self, name: str, command: list[str]) -> Path:
        log = self.folder / "logs" / f"{name}.log"
        with open(log, "wb") as out:
            self._processes[name] = subprocess.Popen(
                command,
                cwd=self.folder,
                env=self._env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        return log

    def _wait_for(self, name: str, log: Path, pattern: str) -> re.Match:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, log.read_text(errors="replace"))
            if found:
                return found
            if self._processes[name].poll() is not None:
                break
            time.sleep(0.5)
        tail = log.read_text(errors="replace")[-3000:]
        raise ClusterError(f"the Spark {name} did not start (log {log}):\n{tail}")

    def start(self) -> SparkCluster:
        for sub in ("conf", "logs", "work", "warehouse", "metastore", "tmp", "events"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        (self.folder / "conf" / "log4j2.properties").write_text(LOG4J)
        bin_dir = spark_home() / "bin"
        try:
            log = self._start(
                "master",
                [
                    str(bin_dir / "spark-class"),
                    "org.apache.spark.deploy.master.Master",
                    *("--host", HOST, "--port", "0", "--webui-port", "0"),
                ],
            )
            found = self._wait_for("master", log, r"Starting Spark master at (spark://[\d.]+:\d+)")
            self.master_url = found.group(1)
            log = self._start(
                "worker",
                [
                    str(bin_dir / "spark-class"),
                    "org.apache.spark.deploy.worker.Worker",
                    *("--host", HOST, "--port", "0", "--webui-port", "0"),
                    *("--cores", str(self.worker_cores), "--memory", self.worker_memory),
                    *("--work-dir", str(self.folder / "work")),
                    self.master_url,
                ],
            )
            self._wait_for("worker", log, r"Successfully registered with master")
            self.start_thrift_server()
        except BaseException:
            self.stop(check=False)
            raise
        return self

    def kill_thrift_server(self) -> None:
        """SIGKILL to the Thrift server (the Spark driver), as a crash would; the worker stays."""
        for name in [n for n in self._processes if n.startswith("thrift")]:
            process = self._processes.pop(name)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def stop_thrift_server(self) -> None:
        """Stops the Thrift server as an operator would (SIGTERM): it closes its event log."""
        for name in [n for n in self._processes if n.startswith("thrift")]:
            self._end(name)

    def start_thrift_server(self) -> None:
        """Starts the Thrift server (again, after kill_thrift_server) on a new port."""
        bin_dir = spark_home() / "bin"
        tmp = self.folder / "tmp"
        standin = _standin_jar(self.folder / "conf" / "hive-llap-signable-standin.jar")
        java_options = f"-Dderby.system.home={self.folder / 'metastore'} -Djava.io.tmpdir={tmp}"
        self._starts += 1
        for attempt in range(3):
            self.thrift_port = _free_port()
            name = f"thrift-server-{self._starts}-{attempt}"
            log = self._start(
                name,
                [
                    str(bin_dir / "spark-submit"),
                    *("--master", self.master_url, "--class", THRIFT_SERVER),
                    *("--name", "agent-billing-thrift", "--driver-memory", self.driver_memory),
                    *("--conf", f"spark.driver.host={HOST}"),
                    *("--conf", f"spark.driver.bindAddress={HOST}"),
                    *("--conf", f"spark.driver.extraJavaOptions={java_options}"),
                    *("--conf", f"spark.driver.extraClassPath={standin}"),
                    *("--conf", f"spark.executor.extraJavaOptions=-Djava.io.tmpdir={tmp}"),
                    *("--conf", f"spark.executor.memory={self.executor_memory}"),
                    *("--conf", f"spark.sql.warehouse.dir={self.warehouse_dir}"),
                    *("--conf", f"spark.local.dir={tmp}"),
                    *("--conf", "spark.ui.enabled=false"),
                    *("--conf", f"spark.eventLog.enabled={str(self.event_log).lower()}"),
                    *("--conf", f"spark.eventLog.dir={self.folder / 'events'}"),
                    *("--conf", "spark.eventLog.compress=false"),
                    *("--conf", "spark.eventLog.rolling.enabled=false"),
                    *("--hiveconf", f"hive.server2.thrift.bind.host={HOST}"),
                    *("--hiveconf", f"hive.server2.thrift.port={self.thrift_port}"),
                    "spark-internal",
                ],
            )
            try:
                self._wait_for(name, log, r"HiveThriftServer2 started|ThriftBinaryCLIService on")
            except ClusterError:
                text = log.read_text(errors="replace")
                if "Address already in use" in text and attempt < 2:
                    self._end(name)
                    continue
                raise
            self._wait_until_listening(name, log)
            return

    def _wait_until_listening(self, name: str, log: Path) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((HOST, self.thrift_port), 1),
            ):
                return
            if self._processes[name].poll() is not None:
                break
            time.sleep(0.5)
        tail = log.read_text(errors="replace")[-3000:]
        raise ClusterError(f"the Thrift server is not listening on {self.thrift_port}:\n{tail}")

    def _end(self, name: str, grace: float = 20.0) -> None:
        process = self._processes.pop(name)
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def stop(self, check: bool = True) -> None:
        """Ends the Thrift server, the worker (and its executors), the master; then checks."""
        for name in [n for n in self._processes if n.startswith("thrift")]:
            self._end(name)
        for name in ("worker", "master"):
            if name in self._processes:
                self._end(name)
        deadline = time.monotonic() + 30
        left = marked_processes(self.folder)
        while left and time.monotonic() < deadline:
            time.sleep(0.5)
            left = marked_processes(self.folder)
        for pid in left:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if check and left:
            raise ClusterError(f"Spark processes outlived the cluster's stop: {left} (killed)")

    def __enter__(self) -> SparkCluster:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop(check=exc[0] is None)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m agent_billing.spark_cluster FOLDER", file=sys.stderr)
        return 2
    with SparkCluster(Path(args[0])) as cluster:
        print(f"Spark master {cluster.master_url}; Thrift server on {HOST}:{cluster.thrift_port}")
        print(f"dbt: SPARK_THRIFT_PORT={cluster.thrift_port} dbt build --target spark_thrift")
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
