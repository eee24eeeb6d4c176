"""The running chat app, shared by the app and browser tests: ``app.py`` started in a subprocess on a free
loopback port with the real corpus, index and models (the index is built first when missing)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 900  # building a missing index takes a few minutes on 2 cores


def run_batch(tmp_path: Path, command: str, questions: list[str], *flags: str) -> list[dict]:
    """``qa <command> --questions FILE --out RUN.jsonl`` over three rows (the first question, a follow-up
    "那非全日制呢?" with it as history, and ``questions[1]``, a blank one); returns the written records."""
    from qa.cli import main

    first, blank = questions
    rows = [
        {"id": "t1", "question": first},
        {"id": "t2", "question": "那非全日制呢?", "history": [first]},
        {"id": "t3", "question": blank},
    ]
    path, run = tmp_path / "q.jsonl", tmp_path / "run.jsonl"
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows), encoding="utf-8")
    assert main([command, "--questions", str(path), *flags, "--out", str(run)]) == 0
    return [json.loads(line) for line in run.read_text(encoding="utf-8").splitlines()]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


@contextmanager
def running_app(log_path: Path, **env: str) -> Iterator[str]:
    """``app.py`` on a free loopback port with ``env`` added to its environment; yields its URL once it
    answers, and stops it afterwards. Its console output is shown when it fails to start."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py"), "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": path, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        start = time.perf_counter()
        try:
            while not _answers(url):
                if process.poll() is not None or time.perf_counter() - start > START_TIMEOUT_S:
                    output = log_path.read_text(encoding="utf-8")
                    pytest.fail(f"app.py did not start (exit code {process.poll()}):\n{output[-3000:]}")
                time.sleep(0.5)
            print(f"\napp.py answered after {time.perf_counter() - start:.1f} s", file=sys.stderr)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the app on the default corpus, index and models."""
    with running_app(tmp_path_factory.mktemp("app") / "app.log") as url:
        yield url


@pytest.fixture
def milvus_server(tmp_path: Path) -> Iterator[str]:
    """``milvus-lite server`` on a free loopback port; yields its URI."""
    port = free_port()
    log = open(tmp_path / "milvus.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(tmp_path / "milvus"),
         "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None, (tmp_path / "milvus.log").read_text()
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
