"""The local server under hostile or unlucky use, one test per defect found by a review: a real
`python -m server` on 127.0.0.1 (tests/server_process.py), real requests, the tiny checkpoint.

Each test states the defect it guards against; the server's limits and the Host/Origin rule are described in
docs/server.md."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from finepose_core.pipeline import Pipeline, PipelineConfig
from finepose_core.result import Result
from server.jobs import JobManager, Retention
from server.store import KEYPOINTS_FILE, JobRecord, JobStore, new_job_id
from tests.server_process import ServerProcess
from tests.test_server import SHORT, keypoints_request, upload
from tests.video_bomb import mjpeg_bomb

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tiny_checkpoint, tmp_path_factory.mktemp("hardening") / "work") as process:
        yield process


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def peak_memory_mb(server: ServerProcess) -> float:
    """The server process's peak resident memory so far (VmHWM), MiB."""
    assert server.process is not None
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc")


def closed_by_server(sock: socket.socket) -> bool:
    """True once the server closes the connection (anything it says first, such as a 408, is read)."""
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        pass
    return True


# 1 ------------------------------------------------------------------------------- bounded work
def test_a_tiny_request_cannot_ask_for_unbounded_frames(server: ServerProcess, client: httpx.Client) -> None:
    """A 1 kB keypoints job with frame index 10^8 used to be accepted and allocate gigabytes."""
    before = peak_memory_mb(server)
    request = keypoints_request(5)
    request["people"][0]["keypoints2d"] = request["people"][0]["keypoints2d"][:3]
    request["people"][0]["frames"] = [0, 1, 100_000_000]
    response = client.post("/v1/jobs", json=request)
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert "100000000" in detail and "frames" in detail and "--max-frames" in detail
    # people × frames is bounded too: 16 people each spanning the per-person limit
    many = keypoints_request(5)
    person = {**many["people"][0], "keypoints2d": many["people"][0]["keypoints2d"][:3]}
    many["people"] = [{**person, "id": i, "frames": [0, 1, 29_999]} for i in range(16)]
    response = client.post("/v1/jobs", json=many)
    assert response.status_code == 413 and "person-frames" in response.json()["detail"]
    assert peak_memory_mb(server) - before < 200


# 2 ------------------------------------------------------------------------------- the worker
def test_the_worker_survives_a_job_folder_deleted_from_outside(
    server: ServerProcess, client: httpx.Client
) -> None:
    """A finished job's folder removed by a cache cleaner used to kill the worker thread in its clean-up:
    every later job stayed queued while health said ok."""
    first = server.wait(client, client.post("/v1/jobs", json=keypoints_request()).json()["id"])
    assert first["state"] == "done"
    shutil.rmtree(server.workdir / "jobs" / first["id"])
    second = client.post("/v1/jobs", json=keypoints_request()).json()["id"]
    assert server.wait(client, second, timeout=60)["state"] == "done"
    third = client.post("/v1/jobs", json=keypoints_request()).json()["id"]
    assert server.wait(client, third, timeout=60)["state"] == "done"
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["worker"] == "running"
    assert client.get(f"/v1/jobs/{first['id']}").status_code == 404  # forgotten, not a ghost


# 3 ------------------------------------------------------------------------------- the event loop
def test_parsing_a_large_keypoints_body_does_not_stall_other_requests(
    server: ServerProcess, client: httpx.Client
) -> None:
    """Keypoints JSON was parsed on the event loop: a 55 MB body stalled /v1/health for seconds."""
    request = keypoints_request(5)
    frames = 80_000
    row = [[300.5 + j, 200.25 + j] for j in range(17)]
    person = {"frames": list(range(frames)), "keypoints2d": [row] * frames}
    request["people"] = [{**person, "id": 0}, {**person, "id": 1}]
    request["people"][1]["keypoints2d"] = [row] * (frames - 1) + [row[:16]]  # invalid at the very end
    body = json.dumps(request).encode()
    assert len(body) > 40_000_000
    answers: dict[str, float] = {}

    def submit() -> None:
        answers["submit_started"] = time.monotonic()
        with httpx.Client(base_url=server.url, timeout=120) as own:
            response = own.post("/v1/jobs", content=body, headers={"content-type": "application/json"})
            answers["submit_status"] = response.status_code
        answers["submit_done"] = time.monotonic()

    thread = threading.Thread(target=submit)
    thread.start()
    latencies = []  # of the health checks asked while the large request was in flight
    while thread.is_alive():
        asked = time.monotonic()
        assert client.get("/v1/health").status_code == 200
        latencies.append(time.monotonic() - asked)
        time.sleep(0.05)
    thread.join()
    assert answers["submit_status"] == 422
    in_flight = answers["submit_done"] - answers["submit_started"]
    # health kept answering during the parse, none of its answers waited for most of it
    assert len(latencies) >= 3 and max(latencies) < 0.5 * in_flight, (latencies, in_flight)


# 4 ------------------------------------------------------------------------------- the probe
def test_a_decompression_bomb_is_refused_from_its_header(
    server: ServerProcess, client: httpx.Client, tmp_path: Path
) -> None:
    """A 2 MB MJPEG of 16000×16000 frames used to be decoded (1.8 GB) before its size was checked."""
    bomb = tmp_path / "bomb.avi"
    bomb.write_bytes(mjpeg_bomb(16000))
    before = peak_memory_mb(server)
    response = upload(client, {}, bomb)
    grown = peak_memory_mb(server) - before
    assert grown < 300, f"the server's peak memory grew by {grown:.0f} MiB"
    assert response.status_code == 413, response.text
    detail = response.json()["detail"]
    assert "bomb.avi" in detail and "16000x16000" in detail and str(server.workdir) not in detail
    assert not any((server.workdir / "incoming").iterdir())


# 5 ------------------------------------------------------------------------------- Host and Origin
def test_requests_from_other_sites_and_other_host_names_are_refused(
    server: ServerProcess, client: httpx.Client
) -> None:
    """Any web page could submit jobs (multipart needs no CORS preflight) and DNS rebinding could read the
    job list: the server now answers only its own names and origins."""
    files = {"video": ("clip.mp4", b"\0" * 100, "video/mp4")}
    response = client.post("/v1/jobs", files=files, headers={"Origin": "http://evil.example"})
    assert response.status_code == 403 and "Origin" in response.json()["detail"]
    response = client.get("/v1/jobs", headers={"Host": f"evil.example:{server.port}"})
    assert response.status_code == 403 and "--allow-host" in response.json()["detail"]
    for host in (f"127.0.0.1:{server.port}", f"localhost:{server.port}", f"[::1]:{server.port}"):
        assert client.get("/v1/jobs", headers={"Host": host}).status_code == 200
    same_origin = {"Origin": f"http://localhost:{server.port}"}
    assert client.get("/v1/jobs", headers=same_origin).status_code == 200
    assert client.get("/v1/jobs", headers={"Origin": "null"}).status_code == 403


def test_extra_host_names_can_be_allowed(tiny_checkpoint: Path, tmp_path: Path) -> None:
    server = ServerProcess(tiny_checkpoint, tmp_path / "work", "--allow-host", "studio-pc.local")
    with server, server.client() as client:
        assert client.get("/v1/jobs", headers={"Host": f"studio-pc.local:{server.port}"}).status_code == 200
        assert client.get("/v1/jobs", headers={"Host": f"other.local:{server.port}"}).status_code == 403


# 6 ------------------------------------------------------------------------------- connections
def test_idle_and_half_sent_requests_are_closed_and_connections_capped(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Idle or half-sent requests stayed open for minutes; a thousand of them exhausted the file
    descriptors and flooded the log."""
    server = ServerProcess(
        tiny_checkpoint,
        tmp_path / "work",
        *("--header-timeout", "2", "--body-timeout", "2", "--max-connections", "16"),
    )
    with server, server.client() as client:
        half = socket.create_connection(("127.0.0.1", server.port))
        half.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        body = socket.create_connection(("127.0.0.1", server.port))
        body.sendall(
            b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{"  # a body that never arrives
        )
        idle = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(30)]
        for sock in (half, body, *idle):
            sock.settimeout(15)
        started = time.monotonic()
        assert closed_by_server(half) and closed_by_server(body)
        assert time.monotonic() - started < 12
        for sock in (half, body, *idle):
            sock.close()
        assert client.get("/v1/health").status_code == 200
    log = server.log()
    assert "Too many open files" not in log and log.count("\n") < 400


# 7 ------------------------------------------------------------------------------- messages
def test_a_start_past_the_end_is_refused_at_once_naming_the_clients_file(
    server: ServerProcess, client: httpx.Client
) -> None:
    """It was accepted with 202 and failed later with the server's own path in the message."""
    response = upload(client, {"start": 5000})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert detail.startswith("office_walk.mp4: start frame 5000 is past the end")
    assert str(server.workdir) not in detail and "input.video" not in detail
    assert not any((server.workdir / "incoming").iterdir())


# 8 ------------------------------------------------------------------------------- the token
def test_the_docs_need_the_token_and_the_token_can_stay_out_of_ps(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """With --token, /docs, /redoc and /openapi.json answered without it, and --token is visible in ps."""
    token_file = tmp_path / "token"
    token_file.write_text("fr0m-a-file\n")
    server = ServerProcess(tiny_checkpoint, tmp_path / "work", "--token-file", str(token_file))
    with server, server.client() as client:
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert client.get(path).status_code == 401
            assert client.get(path, headers={"Authorization": "Bearer fr0m-a-file"}).status_code == 200
        assert client.get("/v1/health").status_code == 200
    assert "fr0m-a-file" not in " ".join(server.args)
    on_command_line = ServerProcess(tiny_checkpoint, tmp_path / "work2", "--token", "visible")
    with on_command_line, on_command_line.client() as client:
        assert client.get("/v1/model", headers={"Authorization": "Bearer visible"}).status_code == 200
    assert "FINEPOSE_TOKEN" in on_command_line.log() and "--token-file" in on_command_line.log()
    from_env = ServerProcess(tiny_checkpoint, tmp_path / "work3", env={"FINEPOSE_TOKEN": "env-token"})
    with from_env, from_env.client() as client:
        assert client.get("/v1/model").status_code == 401
        assert client.get("/v1/model", headers={"Authorization": "Bearer env-token"}).status_code == 200


# 9 ------------------------------------------------------------------------------- the store
def test_orphan_folders_are_cleaned_and_not_queued_at_restart(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """A folder made before its upload was moved in (a crash in between) was re-queued at restart."""
    work = tmp_path / "work"
    orphan = JobRecord(id="ab" * 16, kind="video", name="lost.mp4")
    folder = work / "jobs" / orphan.id
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps(orphan.__dict__))
    no_record = work / "jobs" / ("cd" * 16)
    no_record.mkdir()
    (no_record / "input.video").write_bytes(b"\0" * 1000)
    with ServerProcess(tiny_checkpoint, work) as server, server.client() as client:
        assert client.get("/v1/jobs").json()["jobs"] == []
        assert not folder.exists() and not no_record.exists()


def test_storage_limit_counts_uploads_in_flight_and_waiting_inputs(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    """Queued inputs and uploads being received were not counted against --max-storage-gb."""
    limit_gb = 0.0015  # about 1.6 MB: the sample clip fits, the noise clip below does not
    server = ServerProcess(tiny_checkpoint, tmp_path / "work", "--max-storage-gb", str(limit_gb))
    clip = tmp_path / "big.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter.fourcc(*"MJPG"), 30, (320, 240))
    rng = np.random.default_rng(0)
    for _ in range(40):  # noise compresses badly
        writer.write(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8))
    writer.release()
    assert clip.stat().st_size > limit_gb * 1024**3
    with server, server.client() as client:
        response = upload(client, {}, clip)
        assert response.status_code == 507, response.text
        assert "--max-storage-gb" in response.json()["detail"]
        assert not any((server.workdir / "incoming").iterdir())
        assert client.get("/v1/jobs").json()["jobs"] == []
        assert upload(client, SHORT).status_code == 202  # the sample clip fits


# 9, and a worker that dies anyway: in-process, because a disk that fails one write on demand cannot be
# made here (the tests run as root, so permissions do not stop writes). A JobStore whose save fails is the
# only stand-in; the manager, the worker thread and the folders are real.
class FlakyStore(JobStore):
    """Saves of records in the states listed in `failing` raise as a full disk would."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self.failing: set[str] = set()

    def save(self, record: JobRecord) -> None:
        if record.state in self.failing:
            raise OSError(28, "No space left on device")
        super().save(record)


class ExitingRunner:
    """The real pipeline, except that one job can be made to call sys.exit() as a misbehaving library
    would: SystemExit is not an Exception, and it used to end the worker thread."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.exit_next = False

    def run(self, *args: Any, **kwargs: Any) -> Result:
        return self.pipeline.run(*args, **kwargs)

    def run_keypoints(self, *args: Any, **kwargs: Any) -> Result:
        if self.exit_next:
            self.exit_next = False
            raise SystemExit("a library called sys.exit()")
        return self.pipeline.run_keypoints(*args, **kwargs)


@pytest.fixture(scope="module")
def runner(tiny_checkpoint: Path) -> ExitingRunner:
    return ExitingRunner(Pipeline(PipelineConfig(checkpoint=str(tiny_checkpoint), device="cpu")))


def _keypoints_record(store: JobStore) -> JobRecord:
    record = JobRecord(id=new_job_id(), kind="keypoints", name="test")
    folder = store.create(record)
    (folder / KEYPOINTS_FILE).write_text(json.dumps(keypoints_request(5)))
    return record


def _wait_state(manager: JobManager, job_id: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = manager.get(job_id).state
        if state in ("done", "failed", "cancelled"):
            return state
        time.sleep(0.02)
    return manager.get(job_id).state


def test_a_record_that_cannot_be_saved_is_not_listed(tmp_path: Path, runner: ExitingRunner) -> None:
    """A record was added to the list before it was saved: a failed save left a phantom queued job."""
    store = FlakyStore(tmp_path)
    manager = JobManager(store, runner, max_queue=4, retention=Retention(3600.0, 10**9))
    manager.start()
    try:
        record = _keypoints_record(store)
        store.failing = {"queued"}
        with pytest.raises(OSError):
            manager.submit(record)
        assert manager.all() == [] and manager.queue_length() == 0
        store.failing = {"running", "done"}  # the worker's own saves fail: the job fails, the worker goes on
        second = manager.submit(_keypoints_record(store))
        assert _wait_state(manager, second.id) == "failed"
        assert "could not save" in manager.get(second.id).message
        store.failing = set()
        third = manager.submit(_keypoints_record(store))
        assert _wait_state(manager, third.id) == "done"
    finally:
        manager.stop()


def test_a_job_that_exits_fails_and_the_worker_goes_on(tmp_path: Path, runner: ExitingRunner) -> None:
    store = JobStore(tmp_path)
    manager = JobManager(store, runner, max_queue=4, retention=Retention(3600.0, 10**9))
    manager.start()
    try:
        runner.exit_next = True
        first = manager.submit(_keypoints_record(store))
        assert _wait_state(manager, first.id) == "failed"
        assert "sys.exit" in manager.get(first.id).message
        second = manager.submit(_keypoints_record(store))
        assert _wait_state(manager, second.id) == "done"
        assert manager.worker_state() == "running"
    finally:
        manager.stop()
