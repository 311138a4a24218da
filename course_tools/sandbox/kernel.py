"""One IPython kernel in a bubblewrap sandbox (:mod:`course_tools.sandbox.bwrap`): start it,
run cells with time and output limits, stop it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from course_tools.sandbox.bwrap import SANDBOX_UID_BASE, Limits, command, kernel_env, kill_uid
from course_tools.sandbox.errors import SandboxError
from course_tools.sandbox.wire import MAX_REPLY_BYTES, MIME


@dataclass
class CellOutcome:
    """What executing one cell gave."""

    status: str = "ok"          # ok, error, timed out, output too large, died
    error: str = ""             # "Name: message" of an exception raised by the cell
    text: str = ""              # the first few KB of what it printed
    payloads: list = field(default_factory=list)  # grader-MIME messages it published


class SandboxKernel:
    """One IPython kernel in a bubblewrap sandbox. Use as a context manager."""

    def __init__(self, slot: int = 0, limits: Limits | None = None, workdir: Path | None = None):
        self.slot = slot
        self.limits = limits or Limits()
        self.uid = SANDBOX_UID_BASE + slot if os.geteuid() == 0 else None
        self._tmp = tempfile.mkdtemp(prefix="ks-", dir=workdir or "/tmp")
        self.sockdir = Path(self._tmp)
        self.proc: subprocess.Popen | None = None
        self.kc = None
        self.stderr_path = Path(tempfile.mkstemp(prefix="kernel-stderr-")[1])

    # lifecycle
    def __enter__(self) -> SandboxKernel:
        if self.proc is None:  # ``with kernel:`` after an explicit start() starts nothing more
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def command(self, connection_file: Path) -> list[str]:
        return command(self.limits, self.uid, self.sockdir, connection_file)

    def env(self) -> dict[str, str]:
        return kernel_env()

    def start(self, timeout: float = 60) -> None:
        from jupyter_client import BlockingKernelClient
        from jupyter_client.connect import write_connection_file

        if self.uid is not None:
            kill_uid(self.uid)  # leftovers of an earlier run of this slot
            os.chown(self.sockdir, self.uid, self.uid)
        os.chmod(self.sockdir, 0o700)
        conn = self.sockdir / "kernel.json"
        write_connection_file(str(conn), ip=str(self.sockdir / "k"), transport="ipc",
                              key=uuid.uuid4().hex.encode(), signature_scheme="hmac-sha256")
        if self.uid is not None:
            os.chown(conn, self.uid, self.uid)
        with open(self.stderr_path, "wb") as err:
            self.proc = subprocess.Popen(self.command(conn), env=self.env(), stdin=subprocess.DEVNULL,
                                         stdout=subprocess.DEVNULL, stderr=err,
                                         start_new_session=True)
        self.kc = BlockingKernelClient(connection_file=str(conn))
        self.kc.load_connection_file()
        self.kc.start_channels()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise SandboxError("the sandboxed kernel did not start: " + self.stderr()[-1500:])
            try:
                self.kc.wait_for_ready(timeout=2)
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise SandboxError("the sandboxed kernel did not answer within "
                                       f"{timeout} s: " + self.stderr()[-1500:]) from None
        # the kernel has bound its sockets: from now on it cannot write to this folder
        if self.uid is not None:
            os.chown(self.sockdir, 0, 0)
            os.chmod(self.sockdir, 0o755)

    def stderr(self) -> str:
        try:
            return self.stderr_path.read_text(errors="replace")
        except OSError:
            return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def close(self) -> None:
        if self.kc is not None:
            try:
                self.kc.stop_channels()
            except Exception:
                pass
        self.close_kernel()
        if self.uid is not None:
            kill_uid(self.uid)
        shutil.rmtree(self._tmp, ignore_errors=True)
        self.stderr_path.unlink(missing_ok=True)

    # execution
    def interrupt(self) -> None:
        msg = self.kc.session.msg("interrupt_request", {})
        self.kc.control_channel.send(msg)

    def execute(self, code: str, timeout: float, stdin_hook=None,
                keep_text: int = 4000, grace: float = 10) -> CellOutcome:
        """Run ``code``; stop it after ``timeout`` seconds (interrupt, then kill the kernel
        when it has not stopped ``grace`` seconds later)."""
        import zmq

        out = CellOutcome()
        if not self.alive():
            out.status = "died"
            return out
        msg_id = self.kc.execute(code, store_history=False, allow_stdin=stdin_hook is not None,
                                 stop_on_error=False)
        poller = zmq.Poller()
        channels = {self.kc.iopub_channel.socket: "iopub", self.kc.shell_channel.socket: "shell",
                    self.kc.stdin_channel.socket: "stdin"}
        for sock in channels:
            poller.register(sock, zmq.POLLIN)
        deadline = time.monotonic() + timeout
        idle = replied = interrupted = False
        printed = 0
        while not (idle and replied):
            now = time.monotonic()
            if now > deadline:
                if interrupted or not self.alive():
                    self.close_kernel()
                    out.status = "timed out" if out.status == "ok" else out.status
                    return out
                self.interrupt()
                interrupted = True
                out.status = "timed out" if out.status == "ok" else out.status
                deadline = now + grace  # for the interrupt to work
            events = dict(poller.poll(200))
            if not events and not self.alive():
                out.status = "died"
                return out
            for sock in events:
                kind = channels[sock]
                try:
                    msg = getattr(self.kc, f"get_{kind}_msg")(timeout=0)
                except Exception:  # nothing there after all, or a message that does not parse
                    continue
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                mtype, content = msg["msg_type"], msg["content"]
                if kind == "shell":
                    replied = True
                elif kind == "stdin":
                    reply = stdin_hook(content.get("prompt", "")) if stdin_hook else ""
                    self.kc.input(reply)
                elif mtype == "status" and content.get("execution_state") == "idle":
                    idle = True
                elif mtype == "stream":
                    text = content.get("text", "")
                    printed += len(text)
                    if len(out.text) < keep_text:
                        out.text += text[: keep_text - len(out.text)]
                    if printed > self.limits.output_bytes and not interrupted:
                        out.status = "output too large"
                        self.interrupt()
                        interrupted = True
                        deadline = time.monotonic() + 10
                elif mtype == "error":
                    if out.status == "ok":
                        out.status = "error"
                    out.error = f"{content.get('ename', '')}: {content.get('evalue', '')}"[:500]
                elif mtype in ("display_data", "execute_result"):
                    data = content.get("data", {})
                    if MIME in data and isinstance(data[MIME], str) and \
                            len(data[MIME]) <= MAX_REPLY_BYTES:
                        out.payloads.append(data[MIME])
                    else:
                        printed += len(json.dumps(data)) if len(data) < 64 else 10 ** 6
        return out

    def close_kernel(self) -> None:
        """Kill the kernel's process group (the sockets and files stay until :meth:`close`)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
