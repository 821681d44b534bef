"""Prompt-LF throughput, run by hand: ``.venv/bin/python benchmarks/llm.py [n]``.

1. Endpoint, cold cache: ``n`` (2,000) distinct prompts against the fake OpenAI server
   (tests/llm_server.py, in its own process so it does not share our GIL) answering
   after 100 ms, at concurrency 32: the ceiling is 32 / 0.1 s = 320 requests/s; the
   target is >= 70% of it.
2. The same again with the cache warm: must make 0 requests; reports lookups/s.
3. The local backend (MiniLM on CPU): texts/s on the bundled YouTube comments.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pandas as pd

from labeling.llm import LLMSettings, prompt_lf, use

ROOT = Path(__file__).resolve().parents[1]
LATENCY, CONCURRENCY = 0.1, 32


def server_stats(base_url: str) -> dict:
    with urllib.request.urlopen(base_url.rsplit("/v1", 1)[0] + "/stats") as resp:
        return json.loads(resp.read())


def endpoint(n: int) -> None:
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "llm_server.py"), "0",
                             str(LATENCY)], stdout=subprocess.PIPE, text=True)
    try:
        base_url = proc.stdout.readline().strip()
        lf = prompt_lf("bench", "Does this comment promote something?\nComment: {text}",
                       answers={"yes": 1, "no": -1})
        df = pd.DataFrame({"text": [f"comment number {i}" + (" subscribe" if i % 2 else "")
                                    for i in range(n)]})
        with tempfile.TemporaryDirectory() as tmp:
            s = LLMSettings(backend="openai", base_url=base_url, concurrency=CONCURRENCY,
                            cache_path=Path(tmp) / "cache.sqlite", progress=False)
            for label in ("cold cache", "warm cache"):
                before = server_stats(base_url)["received"]
                start = time.perf_counter()
                with use(s) as rt:
                    votes = lf.apply_frame(df)
                    stats = rt.report()["lfs"]["bench"]
                elapsed = time.perf_counter() - start
                made = server_stats(base_url)["received"] - before
                limit = CONCURRENCY / LATENCY
                print(f"endpoint, {label}: {n} prompts in {elapsed:.2f} s, requests made {made}, "
                      f"cache hits {stats['cache_hits']}, yes votes {(votes == 1).sum()}")
                if made:
                    rate = made / elapsed
                    print(f"  {rate:.0f} requests/s = {rate / limit:.0%} of the {limit:.0f}/s limit "
                          f"(target >= 70%); latency p50 {stats['latency_s']['p50']:.3f} s, "
                          f"p95 {stats['latency_s']['p95']:.3f} s")
                else:
                    print(f"  {n / elapsed:.0f} cache lookups/s (0 requests)")
    finally:
        proc.terminate()
        proc.wait()


def local_backend(n: int) -> None:
    texts = pd.read_csv(ROOT / "data" / "youtube" / "train.csv")["text"].head(n).tolist()
    lf = prompt_lf("bench_local", "Spam? {text}", answers={"yes": 1, "no": -1},
                   descriptions={"yes": "subscribe to my channel", "no": "nice song"})
    from labeling.llm.minilm import load_model

    start = time.perf_counter()
    load_model()
    print(f"local backend: model load {time.perf_counter() - start:.2f} s (import included)")
    with use(LLMSettings(backend="local", progress=False)):
        start = time.perf_counter()
        lf.apply_frame(pd.DataFrame({"text": texts}))
        elapsed = time.perf_counter() - start
    print(f"local backend: {len(texts)} texts in {elapsed:.2f} s = {len(texts) / elapsed:.0f} texts/s")


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    endpoint(count)
    local_backend(500)
