"""The gateway adds little time: a streamed or plain response through it takes about as long
as straight from the upstream (a stream's chunks are passed on as they come, not held back
by the socket: Nagle's algorithm against the client's delayed ACK costs ~40 ms a response)."""

from __future__ import annotations

import statistics
import time

import httpx

BODY = {"model": "llama-3.1-70b", "messages": [{"role": "user", "content": "quick"}], "max_tokens": 16}


def median_ms(base: str, stream: bool, n: int = 15) -> float:
    times = []
    with httpx.Client(timeout=10) as c:
        for _ in range(n):
            t = time.perf_counter()
            if stream:
                with c.stream("POST", f"{base}/chat/completions", json={**BODY, "stream": True}) as r:
                    assert r.status_code == 200
                    for _ in r.iter_bytes():
                        pass
            else:
                assert c.post(f"{base}/chat/completions", json=BODY).status_code == 200
            times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def test_added_latency_is_small(gateway, fake):
    for stream in (False, True):
        direct, through = median_ms(fake.url, stream), median_ms(gateway.url, stream)
        print(f"stream={stream}: median {direct:.1f} ms direct, {through:.1f} ms through the gateway")
        assert through - direct < 15, (
            f"{'a streamed' if stream else 'a plain'} response takes {through:.1f} ms through the gateway, "
            f"{direct:.1f} ms straight from the upstream (TCP_NODELAY on accepted connections?)")
