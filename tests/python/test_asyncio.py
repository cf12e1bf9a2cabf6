"""asyncio: `async for frame in q`, `await q.apop()`, `await q.wait_writable()`."""

import asyncio
import threading
import time

import pytest

import streamq


def test_async_for_with_a_producer_thread():
    q = streamq.Queue(capacity=1 << 20)

    def produce():
        for i in range(200):
            q.push(i.to_bytes(4, "little"))
            if i % 50 == 0:
                time.sleep(0.01)
        q.close_producer()

    async def main():
        t = threading.Thread(target=produce)
        t.start()
        got = [int.from_bytes(f.data, "little") async for f in q]
        t.join()
        return got

    assert asyncio.run(main()) == list(range(200))


def test_event_loop_stays_responsive_while_waiting():
    q = streamq.Queue(capacity=1 << 20)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.005)
                ticks += 1

        tk = asyncio.create_task(ticker())
        with pytest.raises(streamq.Timeout):
            await q.apop(timeout=0.3)
        tk.cancel()
        return ticks

    assert asyncio.run(main()) >= 20


def test_cancelled_apop_loses_no_frame():
    q = streamq.Queue(capacity=1 << 20)

    async def main():
        task = asyncio.create_task(q.apop())
        await asyncio.sleep(0.05)  # the helper thread is waiting in pop
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        q.push(b"late")  # may be taken by the still-waiting helper: must be kept
        return await q.apop(timeout=5)

    assert bytes(asyncio.run(main()).data) == b"late"
    assert q.stats.frames_popped == 1


def test_wait_writable():
    q = streamq.Queue(capacity=64 * 1024, high_water=40_000, low_water=10_000)

    async def main():
        await q.wait_writable()  # not above: returns at once
        while not q.is_above_high_water:
            q.push(bytes(8_000))

        def drain():
            time.sleep(0.1)
            for _ in range(len(q)):
                q.pop()

        t = threading.Thread(target=drain)
        t0 = time.monotonic()
        t.start()
        await q.wait_writable(timeout=10)
        waited = time.monotonic() - t0
        t.join()
        assert not q.is_above_high_water
        return waited

    assert asyncio.run(main()) >= 0.05


def test_wait_writable_timeout_and_closed():
    q = streamq.Queue(capacity=64 * 1024, high_water=40_000, low_water=10_000)
    while not q.is_above_high_water:
        q.push(bytes(8_000))

    async def main():
        with pytest.raises(streamq.Timeout):
            await q.wait_writable(timeout=0.1)
        q.close()
        with pytest.raises(streamq.ClosedError):
            await q.wait_writable(timeout=5)

    asyncio.run(main())


def test_async_producer_consumer_pipeline():
    q = streamq.Queue(capacity=256 * 1024, high_water=128 * 1024, low_water=32 * 1024, policy="fail")

    async def producer():
        for i in range(300):
            while True:
                try:
                    q.push(i.to_bytes(4, "little") * 1000, timeout=0)
                    break
                except streamq.WouldBlockError:
                    await q.wait_writable()
        q.close_producer()

    async def consumer():
        out = []
        async for f in q:
            out.append(int.from_bytes(bytes(f.data)[:4], "little"))
            if len(out) % 10 == 0:
                await asyncio.sleep(0.001)  # a slow sink
        return out

    async def main():
        _, got = await asyncio.gather(producer(), consumer())
        return got

    assert asyncio.run(main()) == list(range(300))
