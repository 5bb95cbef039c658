"""The local server, tested as clients use it: a real `python -m server` (uvicorn) on 127.0.0.1 and a free
port, real uploads of the sample clip, the real pipeline (with a tiny untrained checkpoint: accuracy is not
what these tests measure)."""

from __future__ import annotations

import collections
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from finepose_core.result import check_schema
from server.store import JobRecord, JobStore
from tests.conftest import REPO_ROOT
from tests.server_process import FINISHED, ServerProcess
from tests.test_lifter import _keypoints

pytestmark = pytest.mark.server

SAMPLE = REPO_ROOT / "samples/office_walk.mp4"
SHORT = {"preset": "fast", "start": 10, "end": 30}  # 20 frames: about a second on CPU


@pytest.fixture(scope="module")
def server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(tiny_checkpoint, tmp_path_factory.mktemp("server") / "work") as process:
        yield process


@pytest.fixture()
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as http:
        yield http


def upload(
    client: httpx.Client, options: dict[str, Any] | None = None, path: Path = SAMPLE
) -> httpx.Response:
    files = {"video": (path.name, path.read_bytes(), "video/mp4")}
    data = {"options": json.dumps(options)} if options is not None else {}
    return client.post("/v1/jobs", files=files, data=data)


def keypoints_request(frames: int = 30) -> dict[str, Any]:
    points = _keypoints(frames, seed=4).tolist()
    points[3][5] = [None, None]  # an unknown joint in one frame
    return {
        "image_size": [640, 480],
        "fps": 30,
        "people": [{"id": 7, "frames": list(range(frames)), "keypoints2d": points}],
        "options": {"preset": "fast", "action": "walking"},
    }


# ------------------------------------------------------------------------------------------ happy path
def test_health_and_model(client: httpx.Client) -> None:
    health = client.get("/v1/health").json()
    assert health["status"] == "ok" and health["device"] == "cpu" and health["model"].startswith("tiny@")
    assert health["queue_length"] == 0
    model = client.get("/v1/model").json()
    assert model["checkpoint"] == "tiny" and len(model["sha256"]) == 64
    assert (
        model["body_parts"]["arms"] == [11, 12, 13, 14, 15, 16]
        and model["presets"]["best"]["hypotheses"] == 20
    )
    assert "walking" in model["known_texts"] and model["text_encoder"]
    assert client.get("/openapi.json").json()["paths"]["/v1/jobs"]["post"]["requestBody"][
        "content"
    ].keys() == {
        "multipart/form-data",
        "application/json",
    }


def test_video_job_from_upload_to_result(server: ServerProcess, client: httpx.Client) -> None:
    accepted = upload(client, SHORT | {"action": "walking", "parts": {"arms": {"strength": 1.5}}})
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()
    assert accepted.headers["location"] == job["status_url"] == f"/v1/jobs/{job['id']}"
    status = server.wait(client, job["id"])
    assert status["state"] == "done", status
    progress = [s["progress"] for s in server.seen]
    assert progress == sorted(progress) and progress[-1] == 1.0
    assert {"detect", "track", "lift", "place", "total", "queued"} <= status["timings"].keys()
    assert status["people"] >= 1 and status["result_url"] == f"/v1/jobs/{job['id']}/result"
    assert status["name"] == "office_walk.mp4" and status["options"]["action"] == "walking"

    response = client.get(status["result_url"])
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    result = response.json()
    check_schema(result)
    assert result["video"]["path"] == "office_walk.mp4"  # the client's name, not the server's file
    assert result["prompts"]["parts"]["arms"]["strength"] == 1.5
    person = result["people"][0]
    assert person["frames"][0] >= 10 and person["frames"][-1] <= 29
    assert np.asarray(person["joints3d_world"]).shape == (len(person["frames"]), 17, 3)
    # the upload is gone once the job finished; the result stays
    folder = server.workdir / "jobs" / job["id"]
    assert sorted(p.name for p in folder.iterdir()) == ["job.json", "result.json"]
    assert any(j["id"] == job["id"] for j in client.get("/v1/jobs").json()["jobs"])


def test_keypoints_job(server: ServerProcess, client: httpx.Client) -> None:
    accepted = client.post("/v1/jobs", json=keypoints_request())
    assert accepted.status_code == 202, accepted.text
    status = server.wait(client, accepted.json()["id"])
    assert status["state"] == "done" and status["kind"] == "keypoints", status
    result = client.get(status["result_url"]).json()
    check_schema(result)
    assert [p["id"] for p in result["people"]] == [7] and result["people"][0]["frames"] == list(range(30))
    assert result["people"][0]["prompts"]["action"] == "walking"


# ---------------------------------------------------------------------------------------- bad requests
def test_not_a_video_is_415(client: httpx.Client, tmp_path: Path) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("not a video at all\n" * 100)
    image = tmp_path / "frame.mp4"  # a PNG named like a video: the content decides, not the name
    cv2.imwrite(str(tmp_path / "frame.png"), np.full((64, 64, 3), 128, np.uint8))
    image.write_bytes((tmp_path / "frame.png").read_bytes())
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(SAMPLE.read_bytes()[:3000])
    for path in (text, image, truncated):
        response = upload(client, SHORT, path)
        assert response.status_code == 415, (path.name, response.text)
        assert path.name in response.json()["detail"] and "/incoming/" not in response.json()["detail"]
    empty = client.post("/v1/jobs", files={"video": ("e.mp4", b"", "video/mp4")})
    assert empty.status_code == 415 and "empty" in empty.json()["detail"]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"preset": "slow"}, "options.preset"),
        ({"max_people": 0}, "options.max_people"),
        ({"fov_deg": 60, "focal_px": 800}, "not both"),
        ({"start": 30, "end": 10}, "must be after start"),
        ({"parts": {"tail": {"strength": 1}}}, "options.parts.tail"),
        ({"parts": {"arms": {"strength": 5}}}, "options.parts.arms.strength"),
        ({"colour": "red"}, "options.colour"),
        ({"mediapipe_depth": -0.1}, "options.mediapipe_depth"),
    ],
)
def test_invalid_options_are_422_naming_the_field(
    client: httpx.Client, options: dict[str, Any], field: str
) -> None:
    response = upload(client, options)
    assert response.status_code == 422 and field in response.json()["detail"], response.text


def test_invalid_json_options_and_keypoints_are_422(client: httpx.Client) -> None:
    files = {"video": ("a.mp4", SAMPLE.read_bytes(), "video/mp4")}
    response = client.post("/v1/jobs", files=files, data={"options": "{not json"})
    assert response.status_code == 422 and "JSON" in response.json()["detail"]
    bad = keypoints_request()
    bad["people"][0]["frames"] = [0, 1]
    response = client.post("/v1/jobs", json=bad)
    assert response.status_code == 422 and "2 frame indices for 30 frames" in response.json()["detail"]
    bad = keypoints_request()
    bad["people"][0]["keypoints2d"][0] = bad["people"][0]["keypoints2d"][0][:16]
    response = client.post("/v1/jobs", json=bad)
    assert response.status_code == 422 and "people.0.keypoints2d" in response.json()["detail"]
    response = client.post("/v1/jobs", content=b"[1, 2", headers={"content-type": "application/json"})
    assert response.status_code == 422


def test_malformed_multipart_bodies_are_400(client: httpx.Client) -> None:
    cases = {
        "no boundary": (b"--x\r\n", "multipart/form-data"),
        "garbage": (b"this is not multipart at all", "multipart/form-data; boundary=abc"),
        "cut short": (
            b'--abc\r\nContent-Disposition: form-data; name="video"; filename="a.mp4"\r\n\r\n0123',
            "multipart/form-data; boundary=abc",
        ),
        "unknown field": (
            b'--abc\r\nContent-Disposition: form-data; name="file"\r\n\r\nx\r\n--abc--\r\n',
            "multipart/form-data; boundary=abc",
        ),
        "no video": (
            b'--abc\r\nContent-Disposition: form-data; name="options"\r\n\r\n{}\r\n--abc--\r\n',
            "multipart/form-data; boundary=abc",
        ),
    }
    for name, (body, content_type) in cases.items():
        response = client.post("/v1/jobs", content=body, headers={"content-type": content_type})
        assert response.status_code == 400, (name, response.text)
        assert response.json()["detail"], name
    response = client.post("/v1/jobs", content=b"abc", headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert client.get("/v1/health").json()["status"] == "ok"


def test_unknown_and_finished_jobs(server: ServerProcess, client: httpx.Client) -> None:
    for job_id in ("0" * 32, "..%2F..%2Fetc", "not-a-job"):
        assert client.get(f"/v1/jobs/{job_id}").status_code == 404
        assert client.get(f"/v1/jobs/{job_id}/result").status_code == 404
        assert client.delete(f"/v1/jobs/{job_id}").status_code == 404
    # a frame range past the end is refused at once, naming the client's file
    refused = upload(client, {"start": 100_000})
    assert refused.status_code == 422 and "office_walk.mp4: start frame 100000" in refused.json()["detail"]
    # a finished job that did not succeed has no result and cannot be cancelled again
    ended = upload(client, {"preset": "best"}).json()["id"]
    client.delete(f"/v1/jobs/{ended}")
    assert server.wait(client, ended)["state"] == "cancelled"
    assert client.get(f"/v1/jobs/{ended}/result").status_code == 409
    assert client.delete(f"/v1/jobs/{ended}").status_code == 409
    assert client.get("/v1/health").json()["status"] == "ok"


# -------------------------------------------------------------------------------------- cancellation
def test_cancel_a_running_and_a_waiting_job(server: ServerProcess, client: httpx.Client) -> None:
    long = upload(client, {"preset": "best"}).json()["id"]  # the whole clip
    waiting = upload(client, SHORT).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/v1/jobs/{long}").json()["state"] != "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    cancelled = client.delete(f"/v1/jobs/{waiting}")
    assert cancelled.status_code == 202 and cancelled.json()["state"] == "cancelled"  # at once
    response = client.delete(f"/v1/jobs/{long}")
    assert response.status_code == 202 and response.json()["cancel_requested"]
    status = server.wait(client, long, timeout=30)
    assert status["state"] == "cancelled" and status["progress"] < 1.0
    assert client.get(f"/v1/jobs/{long}/result").status_code == 409
    assert not (server.workdir / "jobs" / long / "input.video").exists()


# -------------------------------------------------------------------------------------- reliability
def test_a_client_that_disconnects_mid_upload_leaves_nothing(
    server: ServerProcess, client: httpx.Client
) -> None:
    head = (
        b"POST /v1/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: multipart/form-data; boundary=zz\r\nContent-Length: 50000000\r\n\r\n"
        b'--zz\r\nContent-Disposition: form-data; name="video"; filename="big.mp4"\r\n\r\n'
    )
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(head + SAMPLE.read_bytes()[:200_000])
        time.sleep(0.5)  # the server is now writing the partial upload
    incoming = server.workdir / "incoming"
    deadline = time.monotonic() + 10
    while any(incoming.iterdir()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(incoming.iterdir())
    assert client.get("/v1/health").json()["status"] == "ok"


def test_twenty_concurrent_submissions(server: ServerProcess, client: httpx.Client) -> None:
    payload = SAMPLE.read_bytes()

    def submit(index: int) -> httpx.Response:
        with server.client() as own:
            files = {"video": (f"clip{index}.mp4", payload, "video/mp4")}
            return own.post("/v1/jobs", files=files, data={"options": json.dumps(SHORT)})

    with ThreadPoolExecutor(20) as pool:
        responses = list(pool.map(submit, range(20)))
    accepted = [r.json()["id"] for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code == 503]
    assert len(accepted) + len(refused) == 20
    assert len(set(accepted)) == len(accepted) >= 16  # a queue of 16 plus the running job
    assert all(int(r.headers["retry-after"]) > 0 for r in refused)
    for job_id in accepted[len(accepted) // 2 :]:
        assert client.delete(f"/v1/jobs/{job_id}").status_code in (202, 409)
    states = [server.wait(client, job_id)["state"] for job_id in accepted]
    assert set(states) <= FINISHED and states.count("done") >= len(accepted) // 2
    assert client.get("/v1/health").json()["queue_length"] == 0


def test_upload_limit_is_enforced_while_streaming(tiny_checkpoint: Path, tmp_path: Path) -> None:
    server = ServerProcess(tiny_checkpoint, tmp_path / "work", "--max-upload-mb", "0.1")
    with server, server.client() as client:
        assert upload(client, SHORT).status_code == 413  # refused on its Content-Length

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold as bytes arrive
            yield b'--b\r\nContent-Disposition: form-data; name="video"; filename="x.mp4"\r\n\r\n'
            for _ in range(40):
                yield b"\0" * 10_000

        response = client.post(
            "/v1/jobs", content=chunks(), headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert response.status_code == 413 and "limit" in response.json()["detail"]
        assert not any((server.workdir / "incoming").iterdir())
        assert client.get("/v1/health").status_code == 200


def test_results_survive_a_restart_and_interrupted_jobs_fail(tiny_checkpoint: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    with ServerProcess(tiny_checkpoint, work) as first, first.client() as client:
        done = first.wait(client, upload(client, SHORT).json()["id"])["id"]
        result = client.get(f"/v1/jobs/{done}/result").content
        interrupted = upload(client, {"preset": "best"}).json()["id"]
        while client.get(f"/v1/jobs/{interrupted}").json()["state"] != "running":
            time.sleep(0.05)
        assert first.process is not None
        first.process.kill()  # no clean shutdown: as after a crash or a power cut
        first.process.wait()
    with ServerProcess(tiny_checkpoint, work) as second, second.client() as client:
        assert client.get(f"/v1/jobs/{done}").json()["state"] == "done"
        assert client.get(f"/v1/jobs/{done}/result").content == result
        status = client.get(f"/v1/jobs/{interrupted}").json()
        assert status["state"] == "failed" and "restart" in status["message"]


def test_token_is_required_when_given_and_off_loopback(tiny_checkpoint: Path, tmp_path: Path) -> None:
    refused = subprocess.run(
        [sys.executable, "-m", "server", "--host", "0.0.0.0"], capture_output=True, text=True, cwd=REPO_ROOT
    )
    assert refused.returncode == 2 and "--token" in refused.stderr and "Traceback" not in refused.stderr
    server = ServerProcess(tiny_checkpoint, tmp_path / "work", "--token", "s3cret")
    with server, server.client() as client:
        assert client.get("/v1/health").status_code == 200  # reachability needs no token
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "s3cret"}):
            response = client.get("/v1/model", headers=headers)
            assert response.status_code == 401 and response.headers["www-authenticate"] == "Bearer"
        assert upload(client, SHORT).status_code == 401
        assert client.get("/v1/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200


# ------------------------------------------------------------------------------------------- storage
def test_cleanup_by_age_and_total_size(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    now = time.time()
    records = []
    for index, (state, age_days) in enumerate(
        [("done", 10), ("done", 3), ("failed", 2), ("done", 1), ("queued", 30), ("running", 20)]
    ):
        record = JobRecord(id=f"{index:032x}", kind="video", state=state, created=now - age_days * 86400)
        record.finished = record.created if state in FINISHED else None
        store.create(record)
        (store.folder(record.id) / "result.json").write_bytes(b"x" * 1000)
        records.append(record)
    keep = sum(store.size_of(records[i].id) for i in (3, 4, 5))
    deleted = store.cleanup(records, max_age_s=7 * 86400, max_bytes=keep)
    # the 10-day-old job by age; then the oldest finished ones until the rest fit; waiting and running stay
    assert deleted == [records[0].id, records[1].id, records[2].id]
    assert sorted(p.name for p in store.jobs_dir.iterdir()) == [records[i].id for i in (3, 4, 5)]


# ----------------------------------------------------------------------------------------- schemathesis
@pytest.fixture(scope="module")
def fuzz_server(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # a long queue: generated jobs that happen to be valid must never meet a full queue (a documented 503)
    work = tmp_path_factory.mktemp("fuzz") / "work"
    with ServerProcess(tiny_checkpoint, work, "--max-queue", "10000") as process:
        yield process


def test_generated_requests_never_get_a_5xx(fuzz_server: ServerProcess) -> None:
    """A bounded schemathesis run over every operation of /openapi.json (pytest-free API: its pytest
    plugin does not load under pytest 9)."""
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.core.result import Err, Ok

    schema = schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")
    results = list(schema.get_all_operations())
    invalid = [r.err() for r in results if isinstance(r, Err)]
    assert not invalid, f"the OpenAPI description is invalid: {invalid}"
    operations = [r.ok() for r in results if isinstance(r, Ok)]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "GET /v1/health",
        "POST /v1/jobs",
        "GET /v1/jobs/{job_id}",
        "GET /v1/jobs/{job_id}/result",
        "DELETE /v1/jobs/{job_id}",
    }
    calls: list[int] = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            response = case.call(timeout=60)
            calls.append(response.status_code)
            assert response.status_code < 500, (
                f"{case.method} {case.path}: {response.status_code} {response.text}"
            )

        check()
    print("status codes:", sorted(collections.Counter(calls).items()))
    assert len(calls) >= 5 * len(operations) and any(400 <= code < 500 for code in calls)
    with fuzz_server.client() as client:
        assert client.get("/v1/health").json()["status"] == "ok"
