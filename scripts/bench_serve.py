"""Benchmark ``footaudio serve``: page, routine list and feed latency with 100 routines; downloads under a render.

    python scripts/bench_serve.py             # 100 routines, 200 requests per URL, 20 downloads
    python scripts/bench_serve.py --routines 300 --requests 500

The server runs as ``python -m footaudio serve`` in its own process on a loopback port; this
script is the client, with one keep-alive connection per URL. Latency is the median (and 95th
percentile) of warm requests, after 20 warm-up requests per URL. Then 20 concurrent downloads of a
60-minute MP3 (57.6 MB) run while an 11-minute routine is made from the form (real engine, warm clip cache), and
the download throughput and the render time are printed next to a 10.5-minute render alone.
Target: page and feed under 50 ms median (issue 14).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_folder(folder: Path, count: int) -> None:
    """``count`` routines: one fake-voice render copied under set-like names, in 4 set folders."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.conftest import FakeSynthesizer

    from footaudio import AudioOptions, Settings, render
    from footaudio.speech.cache import ClipCache

    source = folder / ".source.mp3"
    render(Settings(minutes=10), source, options=AudioOptions(captions=True), synthesizer=FakeSynthesizer(),
           cache=ClipCache(folder / ".clips"))  # fmt: skip
    for index in range(count):
        sub = folder / f"set-{index % 4 + 1}"
        sub.mkdir(exist_ok=True)
        shutil.copyfile(source, sub / f"{index:03d}-solo-light-10min.mp3")
        shutil.copyfile(source.with_suffix(".vtt"), sub / f"{index:03d}-solo-light-10min.vtt")
    (folder / "long.mp3").write_bytes(os.urandom(1 << 20) * 55)  # 57.7 MB, the size of 60 min at 128 kbit/s


def timed(connection: http.client.HTTPConnection, path: str) -> float:
    started = time.perf_counter()
    connection.request("GET", path)
    response = connection.getresponse()
    response.read()
    assert response.status == 200, (path, response.status)
    return (time.perf_counter() - started) * 1000


def render_from_form(port: int, minutes: str) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"minutes": minutes, "mode": "solo", "pressure": "light"})
    started = time.monotonic()
    connection.request("POST", "/api/render", body, {"Content-Type": "application/json"})
    job = json.loads(connection.getresponse().read())
    assert "id" in job, job
    while job["state"] not in ("done", "failed"):
        time.sleep(0.2)
        connection.request("GET", f"/api/jobs/{job['id']}")
        job = json.loads(connection.getresponse().read())
    assert job["state"] == "done", job
    return time.monotonic() - started


def downloads(port: int, count: int) -> tuple[float, float]:
    """``count`` parallel downloads of long.mp3; return MB/s together and the slowest one's seconds."""
    sizes: list[int] = []
    slowest = 0.0

    def one() -> None:
        nonlocal slowest
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        connection.request("GET", "/files/long.mp3")
        response = connection.getresponse()
        size = 0
        while chunk := response.read(1 << 20):
            size += len(chunk)
        sizes.append(size)
        slowest = max(slowest, time.monotonic() - started)

    started = time.monotonic()
    threads = [threading.Thread(target=one) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(sizes) / (time.monotonic() - started) / 1e6, slowest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routines", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--downloads", type=int, default=20)
    parser.add_argument("--no-render", action="store_true", help="Skip the downloads-under-a-render part.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="footaudio-bench-serve-") as temporary:
        folder = Path(temporary) / "out"
        folder.mkdir()
        make_folder(folder, args.routines)
        port = free_port()
        env = {**os.environ, "FOOTAUDIO_CACHE": str(Path(temporary) / "cache")}
        server = subprocess.Popen([sys.executable, "-m", "footaudio", "serve", str(folder), "--port", str(port)],
                                  stdout=subprocess.PIPE, text=True, env=env)  # fmt: skip
        try:
            server.stdout.readline()
            print(f"{args.routines} routines in {folder}; {args.requests} warm requests per URL")
            for path in ("/", "/api/routines", "/feed.xml"):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                for _ in range(20):
                    timed(connection, path)
                times = sorted(timed(connection, path) for _ in range(args.requests))
                p95 = times[int(len(times) * 0.95) - 1]
                print(f"  GET {path:<14} median {statistics.median(times):6.2f} ms   p95 {p95:6.2f} ms")
                connection.close()
            rate, slowest = downloads(port, args.downloads)
            print(f"{args.downloads} downloads of 57.7 MB alone: {rate:.0f} MB/s together, slowest {slowest:.1f} s")
            if not args.no_render:
                render_from_form(port, "10")  # fills the clip cache: both timed renders below find it warm
                alone = render_from_form(port, "10.5")
                result: dict[str, float] = {}
                thread = threading.Thread(
                    target=lambda: result.update(zip(("rate", "slowest"), downloads(port, 20), strict=True))
                )
                thread.start()
                beside = render_from_form(port, "11")
                thread.join()
                print(f"Renders from the form (warm cache): 10.5 min alone {alone:.1f} s; 11 min beside "
                      f"{args.downloads} downloads: {beside:.1f} s; downloads meanwhile {result['rate']:.0f} MB/s, "
                      f"slowest {result['slowest']:.1f} s")  # fmt: skip
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
