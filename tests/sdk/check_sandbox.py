#!/usr/bin/env python3
"""Checks kling-sandbox against the official Python SDK's response types.

Starts the built `kling-sandbox` binary on a free port of 127.0.0.1, drives every
endpoint over HTTP (the standard library's client, so statuses such as 269 and the
error bodies are seen as they are), and validates every kind of response it gives with
the SDK's pydantic models in strict mode (`Model.model_validate(data, strict=True)`):
a job in every status (failure with its error and hint, canceled), job lists with and
without a pagination token (and the empty page that still has one), assets (generated
videos, an uploaded image, the asset of a multipart upload), download links, uploads
(create, get, complete, a failed one), models, the dry run's estimate (HTTP 269), the
generate response, and the error bodies of 400, 401, 404 and 429 (injected, and the
team's parallel-job limit). The SDK itself (with
strict response validation, no retries) then makes a few calls, so its own decoding and
its error classes are exercised too.

Run it with the SDK installed (`tests/sdk/requirements.txt`):

    python tests/sdk/check_sandbox.py [--sandbox target/debug/kling-sandbox]

Prints one line per check and exits 1 when the SDK refuses anything it should accept.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional

import pydantic

import scenario_sdk
from scenario_sdk import Scenario
from scenario_sdk._models import BaseModel
from scenario_sdk.pagination import SyncJobsCursor, SyncModelsCursor
from scenario_sdk.types import (
    AssetRetrieveResponse,
    AssetUploadResponse,
    GenerateRunModelResponse,
    JobListResponse,
    JobRetrieveResponse,
    ModelListResponse,
    ModelRetrieveResponse,
    UploadCreateResponse,
    UploadRetrieveResponse,
    UploadTriggerActionResponse,
)
from scenario_sdk.types.assets import DownloadRequestResponse

KLING = "model_kling-v1-6-pro"
ROOT = Path(__file__).resolve().parents[2]
# A job's life in the sandbox: long enough for a poll every 40 ms to see each status.
JOB_SECONDS = "2"
# The team's limit of parallel jobs: the four jobs of the first part fit.
PARALLEL_JOBS = 4
TERMINAL = ("success", "failure", "canceled")
LIFE = ("queued", "warming-up", "in-progress", "finalizing")


class ErrorDetails(BaseModel):
    action_name: str = pydantic.Field(alias="actionName")
    action_limit: float = pydantic.Field(alias="actionLimit")


class ErrorBody(BaseModel):
    """The API's error body. The SDK has no model for it (its errors keep the body as
    an untyped object), so this one follows the reference: a `reason`, and on a 429
    `details` naming the limit."""

    reason: str
    details: Optional[Any] = None


class RateLimitBody(ErrorBody):
    details: ErrorDetails


class Estimate(GenerateRunModelResponse):
    """The dry run's answer. The live API answers `"job": {}`, which the SDK's strict
    `GenerateRunModelResponse` (its `job` a whole Job) refuses: that is the SDK's
    reading, not the sandbox's. Every other field is checked with the SDK's own types."""

    job: Dict[str, Any]


class Sandbox:
    """A kling-sandbox process on a free port; stopped by `close`."""

    def __init__(self, binary: Path) -> None:
        env = {key: value for key, value in os.environ.items() if not key.startswith("SCENARIO_SDK_")}
        env.update({"RUST_LOG": "kling_sandbox=info", "NO_COLOR": "1"})
        args = [str(binary), "--port", "0", "--job-seconds", JOB_SECONDS, "--parallel-jobs", str(PARALLEL_JOBS)]
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.base_url = ""
        assert self.process.stderr is not None
        for line in self.process.stderr:
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                self.base_url = found.group(1)
                break
        if not self.base_url:
            raise SystemExit(f"kling-sandbox ended before listening (exit {self.process.wait()})")
        # Keep reading its log, or a full pipe would stall it.
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        self.auth = "Basic " + base64.b64encode(b"sandbox-key:sandbox-secret").decode()

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def call(self, method: str, path: str, body: Any = None, headers: Optional[Dict[str, str]] = None,
             auth: Optional[str] = None, raw: Optional[bytes] = None) -> tuple[int, Any, Dict[str, str]]:
        url = path if path.startswith("http") else self.base_url + path
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("Authorization", auth or self.auth)
        if body is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                status, text, head = response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as error:
            status, text, head = error.code, error.read(), dict(error.headers)
        return status, (json.loads(text) if text else None), {name.lower(): value for name, value in head.items()}


class Checker:
    def __init__(self) -> None:
        self.refused: List[str] = []
        self.count = 0

    def check(self, what: str, model: Any, data: Any, status: Optional[int] = None, expected: Optional[int] = None) -> Any:
        """Validates `data` strictly with `model`; records a refusal instead of raising."""
        self.count += 1
        if expected is not None and status != expected:
            self.fail(what, f"HTTP {status}, expected {expected}: {json.dumps(data)[:300]}")
            return None
        try:
            value = model.model_validate(data, strict=True)
        except pydantic.ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg'][:100]} (got {json.dumps(problem.get('input'))[:80]})"
                for problem in error.errors()
            )
            self.fail(what, f"{model.__name__} refuses it: {problems}")
            return None
        print(f"ok    {what} ({model.__name__})")
        return value

    def fail(self, what: str, message: str) -> None:
        print(f"FAIL  {what}: {message}")
        self.refused.append(f"{what}: {message}")

    def expect(self, what: str, condition: bool, message: str) -> None:
        self.count += 1
        if condition:
            print(f"ok    {what}")
        else:
            self.fail(what, message)


def generate(sandbox: Sandbox, body: Dict[str, Any], fault: Optional[str] = None) -> tuple[int, Any, Dict[str, str]]:
    headers = {"x-sandbox-fault": fault} if fault else {}
    return sandbox.call("POST", f"/generate/custom/{KLING}", body, headers)


def run(sandbox: Sandbox, check: Checker) -> None:
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    image = "data:image/png;base64," + base64.b64encode(png).decode()

    # An uploaded image: the upload's answer, the asset by id, a fresh download link.
    status, body, _ = sandbox.call("POST", "/assets", {"name": "cat.png", "image": image})
    check.check("uploaded image", AssetUploadResponse, body, status, 200)
    image_id = body["asset"]["id"]
    status, body, _ = sandbox.call("GET", f"/assets/{image_id}")
    check.check("uploaded image by id", AssetRetrieveResponse, body, status, 200)
    status, body, _ = sandbox.call("POST", f"/assets/{image_id}/download", {})
    check.check("download link", DownloadRequestResponse, body, status, 200)

    # Jobs that succeed (text and image to video), fail with a hint or end canceled, all
    # polled through their lives.
    jobs: Dict[str, str] = {}
    for name, request, fault in [
        ("txt2video", {"prompt": "a fox", "duration": 10, "aspectRatio": "9:16"}, None),
        ("img2video", {"prompt": "the cat wakes", "startImage": image_id}, None),
        ("failure", {"prompt": "x"}, "job-failure=The model could not render this prompt;hint=Try a simpler prompt"),
        ("canceled", {"prompt": "x"}, "job-canceled"),
    ]:
        status, body, _ = generate(sandbox, request, fault)
        if check.check(f"generate ({name})", GenerateRunModelResponse, body, status, 200):
            jobs[name] = body["job"]["jobId"]

    seen: Dict[str, set] = {name: set() for name in jobs}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(not (statuses & set(TERMINAL)) for statuses in seen.values()):
        for name, job_id in jobs.items():
            status, body, _ = sandbox.call("GET", f"/jobs/{job_id}")
            job_status = body["job"]["status"] if status == 200 else None
            if job_status in seen[name]:
                continue
            seen[name].add(job_status)
            check.check(f"job {name} while {job_status}", JobRetrieveResponse, body, status, 200)
            if job_status == "success":
                for asset_id in body["job"]["metadata"].get("assetIds") or []:
                    status, asset, _ = sandbox.call("GET", f"/assets/{asset_id}")
                    check.check(f"generated video ({name})", AssetRetrieveResponse, asset, status, 200)
                    status, link, _ = sandbox.call("POST", f"/assets/{asset_id}/download", {"targetFormat": "mp4"})
                    check.check(f"download link (mp4, {name})", DownloadRequestResponse, link, status, 200)
                    # Its poster, named by `thumbnail` and `firstFrame`: an image asset of its own.
                    frames = [asset.get("asset", {}).get(key) for key in ("thumbnail", "firstFrame")]
                    check.expect(f"a ready video names its poster ({name})", all(frames), json.dumps(frames))
                    if frames[0]:
                        status, poster, _ = sandbox.call("GET", f"/assets/{frames[0]['assetId']}")
                        check.check(f"poster of a video ({name})", AssetRetrieveResponse, poster, status, 200)
        time.sleep(0.04)
    every = set().union(*seen.values())
    check.expect("every job status was seen", every >= set(LIFE + TERMINAL), f"saw only {sorted(every, key=str)}")
    status, body, _ = sandbox.call("GET", f"/jobs/{jobs['failure']}")
    metadata = body["job"]["metadata"]
    check.expect("a failed job carries its error and hint", bool(metadata.get("error")) and bool(metadata.get("hint")), json.dumps(metadata))
    a_job = jobs["txt2video"]
    # Job lists: pages with a token, the last without, an empty page with one, filters.
    tokens = []
    path = "/jobs?pageSize=2"
    for _ in range(10):
        status, body, _ = sandbox.call("GET", path)
        page = check.check(f"job list page {len(tokens) + 1}", SyncJobsCursor[JobListResponse], body, status, 200)
        token = body.get("nextPaginationToken") if body else None
        tokens.append(token)
        if page is None or not token:
            break
        path = f"/jobs?pageSize=2&paginationToken={token}"
    check.expect("job lists page with a token, the last without", len(tokens) > 1 and tokens[0] and not tokens[-1], f"tokens {tokens}")
    status, body, _ = sandbox.call("GET", "/jobs", headers={"x-sandbox-fault": "empty-page"})
    check.check("empty job list page with a token", SyncJobsCursor[JobListResponse], body, status, 200)
    for query in ("status=success", "updatedAfter=2000-01-01T00:00:00.000Z", "createdAfter=2000-01-01T00:00:00.000Z&pageSize=3"):
        status, body, _ = sandbox.call("GET", f"/jobs?{query}")
        check.check(f"job list ({query})", SyncJobsCursor[JobListResponse], body, status, 200)

    # Uploads in parts: create, put, get, complete; and one whose size does not add up.
    for name, size, content in [("imported", 6, b"abcdef"), ("failed", 99, b"short")]:
        status, body, _ = sandbox.call("POST", "/uploads", {"fileName": "big.png", "contentType": "image/png", "fileSize": size, "kind": "image", "parts": 1})
        check.check(f"upload created ({name})", UploadCreateResponse, body, status, 200)
        upload_id = body["upload"]["id"]
        status, _, _ = sandbox.call("PUT", body["upload"]["parts"][0]["url"], raw=content)
        check.expect(f"a part is put to its signed URL ({name})", status == 200, f"HTTP {status}")
        status, body, _ = sandbox.call("GET", f"/uploads/{upload_id}")
        check.check(f"upload by id, pending ({name})", UploadRetrieveResponse, body, status, 200)
        status, body, _ = sandbox.call("POST", f"/uploads/{upload_id}/action", {"action": "complete"})
        check.check(f"upload completed ({name})", UploadTriggerActionResponse, body, status, 200)
        check.expect(f"upload ends {name}", body and body["upload"]["status"] == name, json.dumps(body)[:200])
        status, body, _ = sandbox.call("GET", f"/uploads/{upload_id}")
        check.check(f"upload by id, {name}", UploadRetrieveResponse, body, status, 200)
        if name == "imported":
            status, body, _ = sandbox.call("GET", f"/assets/{body['upload']['entityId']}")
            check.check("asset of an upload", AssetRetrieveResponse, body, status, 200)

    status, body, _ = sandbox.call("POST", "/uploads", {"fileName": "a.png", "contentType": "image/png", "fileSize": 1, "kind": "image"})
    status, body, _ = sandbox.call("POST", f"/uploads/{body['upload']['id']}/action", {"action": "cancel"})
    check.check("400 (an upload action other than complete)", ErrorBody, body, status, 400)
    status, body, _ = sandbox.call("POST", "/uploads", {"fileName": "a.png", "contentType": "image/png", "fileSize": 1, "kind": "spreadsheet"})
    check.check("400 (an upload kind the API does not know)", ErrorBody, body, status, 400)

    # Models.
    status, body, _ = sandbox.call("GET", f"/models/{KLING}")
    check.check("model", ModelRetrieveResponse, body, status, 200)
    status, body, _ = sandbox.call("GET", "/models")
    check.check("model list", SyncModelsCursor[ModelListResponse], body, status, 200)

    # The dry run: HTTP 269 with the cost.
    status, body, _ = sandbox.call("POST", f"/generate/custom/{KLING}?dryRun=true", {"prompt": "x", "duration": 10})
    check.check("estimate (dry run)", Estimate, body, status, 269)
    try:
        GenerateRunModelResponse.model_validate(body, strict=True)
        note = "accepts it"
    except pydantic.ValidationError as error:
        note = f"refuses its `job: {{}}` ({error.error_count()} missing Job fields), as it would the live API's"
    print(f"note  the SDK's GenerateRunModelResponse {note}")

    # Error bodies.
    status, body, _ = generate(sandbox, {"prompt": ""})
    check.check("400 (invalid input)", ErrorBody, body, status, 400)
    status, body, _ = sandbox.call("POST", f"/jobs/{a_job}/action", {"action": "cancel"})
    check.check("400 (cancel refused)", ErrorBody, body, status, 400)
    status, body, _ = sandbox.call("GET", "/jobs", auth="Basic " + base64.b64encode(b"sandbox-key:wrong").decode())
    check.check("401", ErrorBody, body, status, 401)
    for path in ("/jobs/job_nope", "/assets/asset_nope", "/uploads/upload_nope", f"/models/model_nope", "/nowhere"):
        status, body, _ = sandbox.call("GET", path)
        check.check(f"404 ({path})", ErrorBody, body, status, 404)
    status, body, head = sandbox.call("GET", "/jobs", headers={"x-sandbox-fault": "status=429"})
    check.check("429 (injected)", RateLimitBody, body, status, 429)
    # The SDK itself, strict, against the sandbox.
    client = Scenario(api_key="sandbox-key", api_secret="sandbox-secret", base_url=sandbox.base_url,
                      max_retries=0, _strict_response_validation=True)
    try:
        job = client.jobs.retrieve(job_id=jobs["txt2video"]).job
        check.expect("the SDK retrieves a job (strict)", job.status == "success", job.status)
        listed = [job.job_id for job in client.jobs.list(page_size=2)]
        check.expect("the SDK pages through the job list (strict)", sorted(listed) == sorted(jobs.values()), f"listed {listed}")
        model = client.models.retrieve(model_id=KLING).model
        check.expect("the SDK retrieves a model (strict)", model.id == KLING, model.id)
    except scenario_sdk.APIError as error:
        check.fail("the SDK's own calls", f"{type(error).__name__}: {error}")
    for what, call, error_class in [
        ("404", lambda: client.jobs.retrieve(job_id="job_nope"), scenario_sdk.NotFoundError),
        ("400", lambda: client.jobs.trigger_action(job_id=a_job, action="cancel"), scenario_sdk.BadRequestError),
    ]:
        try:
            call()
            check.fail(f"the SDK's {what}", "no error")
        except scenario_sdk.APIStatusError as error:
            check.expect(f"the SDK raises {error_class.__name__} for a {what} with the reason",
                         isinstance(error, error_class) and isinstance(error.body, dict) and "reason" in error.body,
                         f"{type(error).__name__}: {error.body}")

    # The unknown status is a fault meant to break strict clients: refused on purpose,
    # and only for the status (this job comes last: its history keeps the odd status).
    status, odd, _ = generate(sandbox, {"prompt": "x"}, "unknown-status=thinking")
    refused = None
    for _ in range(100):
        status, body, _ = sandbox.call("GET", f"/jobs/{odd['job']['jobId']}")
        if body["job"]["status"] == "thinking":
            try:
                JobRetrieveResponse.model_validate(body, strict=True)
            except pydantic.ValidationError as error:
                refused = {".".join(str(part) for part in problem["loc"]) for problem in error.errors()}
            break
        time.sleep(0.04)
    check.expect(
        "the unknown-status fault is refused, and only for its status",
        refused is not None and all(loc == "job.status" or re.fullmatch(r"job\.statusHistory\.\d+\.status", loc) for loc in refused),
        f"refused at {refused}",
    )


    # The team's parallel-job limit: PARALLEL_JOBS jobs running, one more is refused.
    limited = None
    for _ in range(PARALLEL_JOBS + 1):
        status, body, head = generate(sandbox, {"prompt": "fill the team's slots"})
        if status == 429:
            limited = (status, body, head)
            break
    if limited is None:
        check.fail("429 (parallel-job limit)", f"no 429 after {PARALLEL_JOBS + 1} generates")
    else:
        check.check("429 (parallel-job limit)", RateLimitBody, limited[1], limited[0], 429)
        check.expect("the parallel-job 429 says when to retry", "retry-after" in limited[2], str(limited[2]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sandbox", type=Path, default=ROOT / "target/debug/kling-sandbox", help="the kling-sandbox binary")
    args = parser.parse_args()
    if not args.sandbox.is_file():
        print(f"no {args.sandbox}: build it first (cargo build -p kling-sandbox)", file=sys.stderr)
        return 2
    print(f"scenario-sdk {scenario_sdk.__version__}, pydantic {pydantic.VERSION}, strict validation")
    started = time.monotonic()
    sandbox = Sandbox(args.sandbox)
    check = Checker()
    try:
        run(sandbox, check)
    finally:
        sandbox.close()
    elapsed = time.monotonic() - started
    if check.refused:
        print(f"\n{len(check.refused)} of {check.count} checks failed in {elapsed:.1f} s:")
        for line in check.refused:
            print(f"  {line}")
        return 1
    print(f"\nall {check.count} checks passed in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
