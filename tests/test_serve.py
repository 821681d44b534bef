"""`labeling serve`: a real server on 127.0.0.1 (the CLI in a subprocess, or uvicorn in a
thread where a test needs to hold the model), both APIs checked against `labeling predict`,
every bad request -> 4xx with a one-line JSON error, the loopback rule, a graceful stop,
and a bounded load test (32 clients, every answer identical to `labeling predict`).

No timing asserts: timeouts below only keep a broken server from hanging the suite."""

from __future__ import annotations

import asyncio
import http.client
import json
import queue
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import uvicorn
from typer.testing import CliRunner

from labeling.cli import app
from labeling.export import export_model, load_exported
from labeling.serve import Limits, MicroBatcher, build_server, check_host, is_loopback
from labeling.serve.server import bind
from labeling.train.end_model import train_end_model

REPO_ROOT = Path(__file__).resolve().parents[1]
# seconds: a hang guard, never a performance bound (serve warms its model up first)
TIMEOUT = 120
CLI = [sys.executable, "-c", "from labeling.cli import main; main()"]  # `labeling ...`
LIMITS = {"--max-body-bytes": 200_000, "--max-texts": 300, "--max-text-chars": 5_000}
EDGE = ["", " ", "a", "tab\there", "new\nline", "ÜNÏCODE café 🔥 İ", "x" * 5_000,
        "  many   spaces\u00a0nbsp ", "subscribe to my channel " * 40]


# --- fixtures: a small exported model and servers on it ---------------------------------

def _export(tmp: Path, texts: list[str], labels: list[str], y: np.ndarray) -> Path:
    model = train_end_model(texts, np.eye(len(labels))[y], np.ones(len(y), bool))
    return export_model(model, tmp, {"task": "youtube" if len(labels) == 2 else "three",
                                     "labels": labels})


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    """tfidf_logreg on the bundled dev rows (fast to fit; the test split is never used to fit)."""
    dev = pd.read_csv(REPO_ROOT / "data" / "youtube" / "dev.csv")
    return _export(tmp_path_factory.mktemp("serve") / "model", dev["text"].tolist(),
                   ["ham", "spam"], (dev["label"] == "spam").to_numpy(int))


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return pd.read_csv(REPO_ROOT / "data" / "youtube" / "test.csv")["text"].tolist() + EDGE


@pytest.fixture(scope="module")
def expected(model_dir, texts) -> dict[str, np.ndarray]:
    """What `labeling predict` gives for each text: its probabilities (the CLI's jsonl,
    rounded to 6 places, must agree with the full-precision ones used below)."""
    proba = load_exported(model_dir).predict_proba(texts)
    result = CliRunner().invoke(app, ["predict", "--model", str(model_dir), "--format",
                                      "jsonl", "--input", "-"],
                                input="".join(t.replace("\n", " ") + "\n" for t in texts))
    assert result.exit_code == 0, result.output
    # stdin lines: blank texts are skipped and newlines become spaces, so compare by text
    cli = {row["text"]: list(row["probabilities"].values())
           for row in map(json.loads, result.stdout.splitlines())}
    by_text = dict(zip(texts, proba))
    for text in texts:
        if text.strip() and "\n" not in text:
            assert np.allclose(cli[text], np.round(by_text[text], 6), atol=0, rtol=0)
    return by_text


def start_cli_server(model_dir: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """`labeling serve --port 0` in a subprocess; returns it and its base URL."""
    proc = subprocess.Popen([*CLI, "serve", "--model",
                             str(model_dir), "--port", "0", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=TIMEOUT)
    except queue.Empty:
        proc.kill()
        pytest.fail("labeling serve printed nothing")
    if " on http://" not in line:
        proc.kill()
        pytest.fail(f"labeling serve did not start: {line!r} {proc.stderr.read()}")
    return proc, line.split(" on ")[1].split()[0]


def stop(proc: subprocess.Popen, sig=signal.SIGTERM) -> tuple[int, str]:
    proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("the server did not stop on a signal")
    return proc.returncode, out + err


@pytest.fixture(scope="module")
def server(model_dir):
    # the model in its own process here (the load test goes through it); the SIGTERM test
    # below starts the default, the model in a thread
    args = [str(a) for pair in LIMITS.items() for a in pair] + ["--model-process"]
    proc, url = start_cli_server(model_dir, *args)
    yield url
    code, output = stop(proc, signal.SIGINT)  # Ctrl+C: a graceful stop too (SIGTERM below)
    assert code == 0 and "stopped" in output and "Traceback" not in output, output


def request(url: str, method: str, path: str, body=None, headers=None):
    """(status, content type, raw body) of one request on a fresh connection."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    try:
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), response.read()
    finally:
        connection.close()


def post(url, path, body, **kwargs):
    status, _, raw = request(url, "POST", path, body, **kwargs)
    return status, json.loads(raw)


def infer_body(data, shape=None, datatype="BYTES", name="text", **extra):
    shape = [len(data)] if shape is None else shape
    return {"inputs": [{"name": name, "shape": shape, "datatype": datatype, "data": data}],
            **extra}


# --- happy paths ------------------------------------------------------------------------

def test_health_and_metadata(server):
    status, kind, raw = request(server, "GET", "/v2/health/live")
    assert (status, json.loads(raw)) == (200, {"live": True}) and kind == "application/json"
    assert json.loads(request(server, "GET", "/v2/health/ready")[2]) == {"ready": True}
    assert json.loads(request(server, "GET", "/v2/models/youtube/ready")[2])["ready"] is True
    status, _, raw = request(server, "GET", "/v2/models/youtube")
    meta = json.loads(raw)
    assert status == 200 and meta["name"] == "youtube"
    assert meta["inputs"] == [{"name": "text", "datatype": "BYTES", "shape": [-1]}]
    assert meta["outputs"] == [{"name": "label", "datatype": "BYTES", "shape": [-1]},
                               {"name": "probabilities", "datatype": "FP32", "shape": [-1, 2]}]
    assert meta["parameters"]["labels"] == ["ham", "spam"]
    version = meta["versions"][0]
    assert request(server, "GET", f"/v2/models/youtube/versions/{version}")[0] == 200


def test_predict_matches_labeling_predict(server, texts, expected):
    status, body = post(server, "/predict", {"texts": texts})
    assert status == 200 and body["classes"] == ["ham", "spam"]
    want = np.array([expected[t] for t in texts])
    assert np.array_equal(np.array(body["probabilities"]), want)  # equal, not close
    assert body["labels"] == [["ham", "spam"][k] for k in want.argmax(1)]


def test_v2_infer_matches_labeling_predict(server, texts, expected):
    status, body = post(server, "/v2/models/youtube/infer", infer_body(texts, id="req-1"))
    assert status == 200 and body["id"] == "req-1" and body["model_name"] == "youtube"
    label, proba = body["outputs"]
    want = np.array([expected[t] for t in texts])
    assert label == {"name": "label", "datatype": "BYTES", "shape": [len(texts)],
                     "data": [["ham", "spam"][k] for k in want.argmax(1)]}
    assert proba["datatype"] == "FP32" and proba["shape"] == [len(texts), 2]
    assert np.array_equal(np.array(proba["data"], np.float32).reshape(-1, 2),
                          want.astype(np.float32))


def test_v2_nested_data_requested_outputs_and_empty(server, model_dir):
    pair = ["check out my channel", "lovely song"]
    status, body = post(server, "/v2/models/youtube/infer",
                        infer_body([[pair[0]], [pair[1]]], shape=[2, 1],
                                   outputs=[{"name": "probabilities"}]))
    assert status == 200 and [o["name"] for o in body["outputs"]] == ["probabilities"]
    want = load_exported(model_dir).predict_proba(pair).astype(np.float32).ravel()
    assert np.array_equal(np.array(body["outputs"][0]["data"], np.float32), want)
    assert post(server, "/predict", {"texts": []}) == (
        200, {"classes": ["ham", "spam"], "labels": [], "probabilities": []})


# --- bad requests: 4xx, one line of JSON, never 500 or a hang -------------------------

BIG = "x" * 210_000
BAD = [
    ("/predict", b"", 400, "empty request body"),
    ("/predict", b'{"texts": ["a"', 400, "not valid JSON"),
    ("/predict", b"\xff\xfe{}", 400, "not valid UTF-8"),
    ("/predict", b"[" * 50_000 + b"]" * 50_000, 400, "JSON"),
    ("/predict", b'{"texts": [' + b"9" * 6000 + b"]}", 400, "JSON"),
    ("/predict", b'["a"]', 400, "must be a JSON object"),
    ("/predict", b'{"text": ["a"]}', 400, 'missing field "texts"'),
    ("/predict", b'{"texts": "a"}', 400, "must be an array"),
    ("/predict", b'{"texts": ["a", 1]}', 400, "texts[1]: must be a string"),
    ("/predict", b'{"texts": [null]}', 400, "texts[0]: must be a string"),
    ("/predict", b'{"texts": [["a"]]}', 400, "texts[0]: must be a string"),
    ("/predict", b'{"texts": ["\\ud800"]}', 400, "lone surrogate"),
    ("/predict", json.dumps({"texts": ["y" * 5_001]}).encode(), 413, "per text"),
    ("/predict", json.dumps({"texts": ["a"] * 301}).encode(), 413, "per request"),
    ("/predict", json.dumps({"texts": [BIG]}).encode(), 413, "--max-body-bytes"),
    ("/v2/models/youtube/infer", b"{}", 400, 'missing field "inputs"'),
    ("/v2/models/youtube/infer", b'{"inputs": {}}', 400, "exactly one"),
    ("/v2/models/youtube/infer", json.dumps({"inputs": [infer_body(["a"])["inputs"][0]] * 2}
                                            ).encode(), 400, "exactly one"),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a"], name="txt")).encode(), 400,
     "unknown input 'txt'"),
    ("/v2/models/youtube/infer", json.dumps(infer_body([1.0], datatype="FP32")).encode(),
     400, "datatype"),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a"], shape=[2])).encode(), 400,
     "shape"),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a"], shape="1")).encode(), 400,
     "shape"),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a", 3])).encode(), 400,
     "inputs[0].data[1]: must be a string"),
    ("/v2/models/youtube/infer", json.dumps(infer_body("abc", shape=[1])).encode(), 400,
     "must be an array"),
    ("/v2/models/youtube/infer", json.dumps({"inputs": [{"name": "text", "data": ["a"]}]}
                                            ).encode(), 400, 'missing field "shape"'),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a"], outputs=[{"name": "x"}])
                                            ).encode(), 400, "unknown output 'x'"),
    ("/v2/models/youtube/infer", json.dumps(infer_body(["a"], id=7)).encode(), 400, '"id"'),
    ("/v2/models/nope/infer", json.dumps(infer_body(["a"])).encode(), 404,
     "unknown model 'nope'"),
    ("/v2/models/youtube/versions/0/infer", json.dumps(infer_body(["a"])).encode(), 404,
     "unknown version"),
]


def assert_one_line_error(status, kind, raw, want_status, want_text):
    assert status == want_status, raw
    assert kind == "application/json" and b"\n" not in raw.strip()
    body = json.loads(raw)
    assert list(body) == ["error"] and want_text in body["error"], body


@pytest.mark.parametrize("path,body,status,text", BAD, ids=[f"{i}-{b[3]}" for i, b in
                                                           enumerate(BAD)])
def test_bad_request_is_a_4xx_one_line_json_error(server, path, body, status, text):
    assert_one_line_error(*request(server, "POST", path, body), status, text)


@pytest.mark.parametrize("method,path,status,text", [
    ("GET", "/v2/models/nope", 404, "unknown model 'nope'"),
    ("GET", "/v2/models/nope/ready", 404, "unknown model"),
    ("GET", "/nowhere", 404, "no route GET /nowhere"),
    ("GET", "/predict", 405, "method GET not allowed"),
    ("DELETE", "/v2/models/youtube", 405, "not allowed"),
])
def test_unknown_route_model_or_method(server, method, path, status, text):
    assert_one_line_error(*request(server, method, path), status, text)


def test_oversized_body_refused_by_content_length_and_while_chunked(server):
    huge = b'{"texts": ["' + b"z" * 300_000 + b'"]}'
    assert_one_line_error(*request(server, "POST", "/predict", huge), 413, "at most 200000")
    chunks = (huge[i:i + 10_000] for i in range(0, len(huge), 10_000))
    host, port = server.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
    connection.request("POST", "/predict", body=chunks, encode_chunked=True)
    response = connection.getresponse()  # no Content-Length: counted while read
    assert_one_line_error(response.status, response.getheader("content-type"),
                          response.read(), 413, "over 200000 bytes")
    connection.close()
    # the server is still there and answering
    assert post(server, "/predict", {"texts": ["a"]})[0] == 200


# --- the loopback rule and the CLI ------------------------------------------------------

@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("127.8.0.1", True),
                                           ("::1", True), ("[::1]", True),
                                           ("localhost", True), ("0.0.0.0", False),
                                           ("::", False), ("192.168.1.7", False),
                                           ("example.com", False)])
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_non_loopback_host_refused_unless_allowed(model_dir):
    result = CliRunner().invoke(app, ["serve", "--model", str(model_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.strip().splitlines() == [
        "error: --host 0.0.0.0 is not a loopback address and the server has no "
        "authentication; pass --allow-remote to listen on it anyway"]
    check_host("0.0.0.0", allow_remote=True)  # asked for explicitly: allowed (not bound here)


def test_port_in_use_and_bad_model_are_one_line_errors(model_dir, tmp_path):
    taken = bind("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["serve", "--model", str(model_dir), "--port",
                                          str(port)])
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: cannot listen on 127.0.0.1:{port}: ")
    finally:
        taken.close()
    result = CliRunner().invoke(app, ["serve", "--model", str(tmp_path)])
    assert result.exit_code == 2 and "no model_card.json" in result.stderr


def test_sigterm_stops_the_server_gracefully(model_dir):
    proc, url = start_cli_server(model_dir)
    assert post(url, "/predict", {"texts": ["hello"]})[0] == 200
    code, output = stop(proc, signal.SIGTERM)
    assert code == 0 and "stopped" in output and "Traceback" not in output, output


# --- load: many clients at once, every answer identical to `labeling predict` ----------

def test_load_32_concurrent_clients_every_answer_identical(server, texts, expected):
    clients, per_client = 32, 40
    rng = np.random.default_rng(0)
    jobs = [[list(rng.choice(len(texts), size=rng.integers(1, 6))) for _ in range(per_client)]
            for _ in range(clients)]

    def client(plan):
        host, port = server.removeprefix("http://").rsplit(":", 1)
        connection = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        failures = []
        for n, picks in enumerate(plan):
            batch = [texts[i] for i in picks]
            v2 = n % 2 == 1  # both APIs under the same load
            path = "/v2/models/youtube/infer" if v2 else "/predict"
            body = infer_body(batch) if v2 else {"texts": batch}
            connection.request("POST", path, body=json.dumps(body))  # keep-alive
            response = connection.getresponse()
            answer = json.loads(response.read())
            want = np.array([expected[t] for t in batch])
            if response.status != 200:
                failures.append(answer)
            elif v2:
                got = np.array(answer["outputs"][1]["data"], np.float32).reshape(-1, 2)
                if not np.array_equal(got, want.astype(np.float32)) or \
                        answer["outputs"][0]["data"] != [["ham", "spam"][k]
                                                         for k in want.argmax(1)]:
                    failures.append(("v2", batch))
            elif not np.array_equal(np.array(answer["probabilities"]), want) or \
                    answer["labels"] != [["ham", "spam"][k] for k in want.argmax(1)]:
                failures.append(("predict", batch))
        connection.close()
        return failures

    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(client, jobs, timeout=TIMEOUT * 5))
    assert [f for r in results for f in r] == []
    assert sum(len(plan) for plan in jobs) == clients * per_client


# --- in a thread: batching, a busy model, the drain on stop, k classes, onnx -----------

class ThreadServer:
    """uvicorn in a thread on 127.0.0.1 (real HTTP) around a ModelServer."""

    def __init__(self, model_server):
        self.model_server = model_server
        self.sock = bind("127.0.0.1", 0)
        self.url = "http://127.0.0.1:%d" % self.sock.getsockname()[1]
        self.uv = uvicorn.Server(uvicorn.Config(model_server.app, log_level="warning",
                                                lifespan="on"))
        self.thread = threading.Thread(target=self.uv.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self):
        self.thread.start()
        for _ in range(TIMEOUT * 20):
            if self.uv.started:
                return self
            self.thread.join(0.05)
        pytest.fail("uvicorn did not start")

    def __exit__(self, *exc):
        self.uv.should_exit = True
        self.thread.join(TIMEOUT)
        self.sock.close()
        assert not self.thread.is_alive()


class HeldModel:
    """A server's model held on each call until ``release`` is set: ``entered`` once a call
    has started, ``calls`` the texts of each call. Set it as ``server.batcher.predict_proba``."""

    def __init__(self, server):
        self.real = server.exported.predict_proba
        self.calls, self.entered, self.release = [], threading.Event(), threading.Event()

    def __call__(self, texts):
        self.calls.append(list(texts))
        self.entered.set()
        self.release.wait(TIMEOUT)
        return self.real(texts)


def test_model_runs_off_the_event_loop_and_stop_drains_the_queue(model_dir):
    server = build_server(model_dir)
    blocking = HeldModel(server)
    real, entered, release = blocking.real, blocking.entered, blocking.release
    server.batcher.predict_proba = blocking
    with ThreadServer(server) as running:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(post, running.url, "/predict", {"texts": ["hello there"]})
            assert entered.wait(TIMEOUT)
            # the model is busy in its thread: the event loop still answers
            assert request(running.url, "GET", "/v2/health/live")[0] == 200
            running.uv.should_exit = True  # a stop while a request waits for the model
            release.set()
            status, body = pending.result(TIMEOUT)
    assert status == 200 and np.array_equal(body["probabilities"], real(["hello there"]))


def test_a_model_failure_is_a_json_500_and_the_server_goes_on(model_dir):
    server = build_server(model_dir)
    real, failures = server.exported.predict_proba, ["boom"]

    def failing_once(texts):
        if failures:
            raise RuntimeError(failures.pop())
        return real(texts)

    server.batcher.predict_proba = failing_once
    with ThreadServer(server) as running:
        assert_one_line_error(*request(running.url, "POST", "/predict", {"texts": ["a"]}),
                              500, "internal error (reference ")
        status, body = post(running.url, "/predict", {"texts": ["a"]})
    assert status == 200 and np.array_equal(body["probabilities"], real(["a"]))


def test_concurrent_requests_share_one_model_call(model_dir):
    calls = []
    server = build_server(model_dir, limits=Limits(max_texts=5))

    def recording(texts):
        calls.append(len(texts))
        return server.exported.predict_proba(texts)

    server.batcher.predict_proba = recording

    async def ten_at_once():
        await server.batcher.start()
        try:
            return await asyncio.gather(*(server.batcher.predict([f"text {i}", "b"])
                                          for i in range(10)))
        finally:
            await server.batcher.stop()

    results = asyncio.run(ten_at_once())
    assert calls == [20]  # queued together, answered by one call, split back in order
    for i, rows in enumerate(results):
        assert np.array_equal(rows, server.exported.predict_proba([f"text {i}", "b"]))


def test_a_batch_waits_only_for_requests_already_arriving():
    """Alone, a request never waits for company (the window is only for requests being
    read); with one arriving, the batch waits for it and both share one call."""
    calls = []
    batcher = MicroBatcher(lambda texts: calls.append(list(texts)) or np.zeros((len(texts), 2)),
                           max_wait_ms=10**7)  # ~3 hours: a wait would hit the hang guard

    async def scenario():
        await batcher.start()
        try:
            await asyncio.wait_for(batcher.predict(["alone"]), TIMEOUT)
            with batcher.arriving():  # a request still being read
                first = asyncio.create_task(batcher.predict(["first"]))
                while not (batcher._queue.empty() and batcher._queue._getters):
                    await asyncio.sleep(0)  # the collector took it and now waits
                second = asyncio.create_task(batcher.predict(["second"]))
                await asyncio.sleep(0)
            await asyncio.wait_for(asyncio.gather(first, second), TIMEOUT)
        finally:
            await batcher.stop()

    asyncio.run(scenario())
    assert calls == [["alone"], ["first", "second"]]


def test_three_classes_and_the_onnx_runtime(tmp_path, model_dir, texts):
    words = ["alpha beta", "beta alpha", "gamma delta", "delta gamma", "eps zeta", "zeta eps"]
    three = _export(tmp_path / "three", words, ["a", "b", "c"], np.array([0, 0, 1, 1, 2, 2]))
    with ThreadServer(build_server(three)) as running:
        meta = json.loads(request(running.url, "GET", "/v2/models/three")[2])
        assert meta["outputs"][1]["shape"] == [-1, 3]
        status, body = post(running.url, "/v2/models/three/infer", infer_body(words))
        assert status == 200 and body["outputs"][1]["shape"] == [6, 3]
        assert body["outputs"][0]["data"] == ["a", "a", "b", "b", "c", "c"]
    onnx = load_exported(model_dir, "onnx").predict_proba(texts)
    with ThreadServer(build_server(model_dir, runtime="onnx")) as running:
        status, body = post(running.url, "/predict", {"texts": texts})
    # the same float ops as `labeling predict --runtime onnx`, batched differently
    assert status == 200 and np.allclose(body["probabilities"], onnx, rtol=0, atol=1e-12)
    assert body["labels"] == [["ham", "spam"][k] for k in onnx.argmax(1)]


def test_limits_are_validated(model_dir):
    result = CliRunner().invoke(app, ["serve", "--model", str(model_dir), "--max-texts", "0"])
    assert result.exit_code == 2 and result.stderr.strip() == (
        "error: max_texts (--max-texts) must be a positive integer, not 0")
