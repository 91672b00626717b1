"""Long calls release the GIL: two threads are inside the engine at once, and Python code in
another thread keeps running while a call works.

No wall-clock ratio is asserted (this machine's two cores are shared with compilers, so a
2-thread speed-up is not something a test can count on); what is asserted is structural:
the engine counts the calls running with the GIL released, and it must see both threads'
calls at once; and a pure-Python thread must keep ticking during a call (with the GIL held
it could not run at all until the call returned).
"""

from __future__ import annotations

import threading
import time

import wattage
from wattage import _wattage

# About 0.3-0.6 s on this machine: 4,800 hours of the peak-shaving site at 1-second steps.
SITE = dict(scenario="builtin:peak-shaving", duration="4800h", step="1s", resolution="3600s")


def _site():
    return wattage.simulate_site(**SITE)


def test_two_threads_are_in_the_engine_at_once():
    serial = _site().to_dict()
    t0 = time.perf_counter()
    _site()
    one = time.perf_counter() - t0

    barrier = threading.Barrier(2)
    results = [None, None]

    def work(i):
        barrier.wait()
        results[i] = _site().to_dict()

    _wattage._peak_concurrency(True)
    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    both = time.perf_counter() - t0
    peak = _wattage._peak_concurrency(False)
    print(f"one call {one:.3f} s; two calls in two threads {both:.3f} s ({both / one:.2f}x)")
    assert peak == 2, "the second thread could not enter the engine while the first was in it"
    assert results[0] == serial and results[1] == serial


def test_python_threads_run_during_a_call():
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(time.perf_counter())

    t = threading.Thread(target=ticker)
    t.start()
    try:
        time.sleep(0.05)
        start = time.perf_counter()
        wattage.estimate(model="llama-3.1-70b", gpus=4, samples=2_000_000)
        end = time.perf_counter()
    finally:
        stop.set()
        t.join()
    inside = [x for x in ticks if start <= x <= end]
    times = [start, *inside, end]
    gap = max(b - a for a, b in zip(times, times[1:]))
    # With the GIL held for the whole call the ticker could not run: the gap would be the
    # whole call. Released, the gaps are the OS's scheduling slices (milliseconds).
    assert end - start > 0.1
    assert gap < (end - start) / 2, f"longest pause of the Python thread {gap:.3f} s in a {end - start:.3f} s call"
