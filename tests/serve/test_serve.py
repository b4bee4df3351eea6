"""footaudio serve against a real uvicorn server on a loopback port: page, media, safety, feed, renders."""

from __future__ import annotations

import hashlib
import http.client
import json
import signal
import subprocess
import sys
import threading
import time

import pytest

from footaudio.cli import main
from footaudio.serve import access_url, app, open_socket, qr_text
from footaudio.speech.cache import ClipCache

from ..conftest import FakeSynthesizer
from ..sets.test_feed import render_set

pytestmark = pytest.mark.usefixtures("real_engines")

LONG_SIZE = 57_600_000
"""A 60-minute MP3 at 128 kbit/s."""


class Served:
    """An app served by uvicorn in a thread on a free loopback port."""

    def __init__(self, asgi) -> None:
        import uvicorn

        self.sock = open_socket("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(asgi, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)

    def request(self, path: str, method: str = "GET", headers: dict | None = None, body: bytes | None = None):
        """Send ``path`` exactly as given (no client-side normalization) and return status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            connection.putrequest(method, path, skip_host="Host" in (headers or {}), skip_accept_encoding=True)
            for key, value in (headers or {}).items():
                connection.putheader(key, value)
            if body is not None:
                connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            return response.status, response.headers, response.read()
        finally:
            connection.close()

    def json(self, path: str, **kwargs):
        status, _, body = self.request(path, **kwargs)
        return status, json.loads(body)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def long_bytes() -> bytes:
    block = hashlib.sha256(b"footaudio").digest() * 4096
    return (block * (LONG_SIZE // len(block) + 1))[:LONG_SIZE]


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """A served folder: a rendered set in a subfolder, a long file, hidden and temporary files, symlinks."""
    root = tmp_path_factory.mktemp("serve")
    folder = root / "out"
    folder.mkdir()
    routine_set, results = render_set(folder / "week one", root / "clips")
    (folder / "long.mp3").write_bytes(long_bytes())
    (root / "secret.mp3").write_bytes(b"SECRET outside the folder")
    (folder / "outside.mp3").symlink_to(root / "secret.mp3")
    (folder / "inside.mp3").symlink_to(folder / "long.mp3")
    (folder / ".footaudio-123.part").write_bytes(b"SECRET temporary")
    (folder / ".footaudio.lock").write_text("123")
    (folder / ".hidden.mp3").write_bytes(b"SECRET hidden")
    (folder / "notes.txt").write_text("SECRET notes")
    return folder, routine_set, results, root


@pytest.fixture(scope="module")
def served(library):
    folder, _, _, root = library
    server = Served(app(folder, synthesizer=FakeSynthesizer(), cache=ClipCache(root / "clips")))
    yield server
    server.close()


def test_the_page_and_the_routines_it_lists(served, library):
    _, routine_set, results, _ = library
    status, headers, body = served.request("/")
    assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
    assert b'<audio id="audio"' in body and b"Subscribe in a podcast app" in body and b"manifest.webmanifest" in body
    status, listed = served.json("/api/routines")
    assert status == 200 and listed["folder"] == "out"
    routines = {routine["file"]: routine for routine in listed["routines"]}
    for spec, result in zip(routine_set.routines, results, strict=True):
        routine = routines[f"week one/{spec.filename}"]
        assert (routine["title"], routine["length_ms"], routine["mode"], routine["pressure"]) == (
            spec.settings.title, 180_000, spec.settings.mode, "light"
        )  # fmt: skip
        steps = result.routine.timeline.steps
        assert [(c["title"], c["start_ms"]) for c in routine["chapters"]] == [(s.title, s.start_ms) for s in steps]
        assert routine["captions"] == f"week one/{spec.stem}.vtt"
    # Hidden, temporary and symlinked files are not listed.
    assert not any(name.startswith(".") or name in ("outside.mp3", "inside.mp3") for name in routines)
    for name, kind in (("static/app.js", "text/javascript"), ("manifest.webmanifest", "application/manifest+json"),
                       ("icon.png", "image/png")):  # fmt: skip
        status, headers, _ = served.request(f"/{name}")
        assert status == 200 and headers["content-type"].startswith(kind)


def test_range_requests_follow_rfc_9110(served):
    """Starlette's FileResponse serves byte ranges (what lets a phone seek)."""
    data = long_bytes()
    path = "/files/long.mp3"
    status, headers, body = served.request(path)
    assert status == 200 and headers["accept-ranges"] == "bytes" and headers["content-type"] == "audio/mpeg"
    assert int(headers["content-length"]) == LONG_SIZE and body == data
    for spec, first, last in (("0-99", 0, 99), ("1000000-1999999", 1_000_000, 1_999_999),
                              ("-500", LONG_SIZE - 500, LONG_SIZE - 1), (f"{LONG_SIZE - 10}-", LONG_SIZE - 10,
                                                                          LONG_SIZE - 1)):  # fmt: skip
        status, headers, body = served.request(path, headers={"Range": f"bytes={spec}"})
        assert status == 206, spec
        assert headers["content-range"] == f"bytes {first}-{last}/{LONG_SIZE}"
        assert int(headers["content-length"]) == last - first + 1 and body == data[first : last + 1]
    for spec in (f"{LONG_SIZE}-", f"{LONG_SIZE + 5}-{LONG_SIZE + 10}"):
        status, headers, _ = served.request(path, headers={"Range": f"bytes={spec}"})
        assert status == 416 and headers["content-range"] == f"bytes */{LONG_SIZE}"


def test_conditional_requests(served):
    path = "/files/week%20one/01-solo-light-3min.mp3"
    status, headers, body = served.request(path)
    assert status == 200 and body
    etag, modified = headers["etag"], headers["last-modified"]
    status, headers, body = served.request(path, headers={"If-None-Match": etag})
    assert (status, body, headers["etag"]) == (304, b"", etag)
    status, _, body = served.request(path, headers={"If-None-Match": f'"other", W/{etag}'})
    assert (status, body) == (304, b"")
    status, _, body = served.request(path, headers={"If-Modified-Since": modified})
    assert (status, body) == (304, b"")
    status, _, body = served.request(path, headers={"If-None-Match": '"other"', "If-Modified-Since": modified})
    assert status == 200 and body  # If-None-Match decides when both are sent
    status, _, body = served.request(path, headers={"If-Modified-Since": "Mon, 01 Jan 1990 00:00:00 GMT"})
    assert status == 200 and body
    # If-Range with a stale tag: the whole file, not a slice of a changed one.
    status, _, body = served.request(path, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert status == 200 and len(body) > 10
    status, _, body = served.request(path, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert status == 206 and len(body) == 10


def test_media_types(served):
    for path, kind in (("week%20one/01-solo-light-3min.vtt", "text/vtt"),
                       ("week%20one/01-solo-light-3min.lrc", "text/plain")):  # fmt: skip
        status, headers, _ = served.request(f"/files/{path}")
        assert status == 200 and headers["content-type"].startswith(kind)
    status, headers, body = served.request("/chapters/week%20one/01-solo-light-3min.mp3")
    assert status == 200 and headers["content-type"] == "application/json+chapters"
    assert json.loads(body)["chapters"][0] == {"startTime": 0.0, "endTime": json.loads(body)["chapters"][1][
        "startTime"], "title": "Welcome"}  # fmt: skip


@pytest.mark.parametrize(
    "path",
    [
        "/files/../secret.mp3",
        "/files/%2e%2e/secret.mp3",
        "/files/%2E%2E/secret.mp3",
        "/files/..%2fsecret.mp3",
        "/files/..%2Fsecret.mp3",
        "/files/week%20one/..%2f..%2fsecret.mp3",
        "/files/week%20one/../../secret.mp3",
        "/files/week%20one/%2e%2e/%2e%2e/secret.mp3",
        "/files/%2fetc%2fpasswd",
        "/files//etc/passwd",
        "/files/..%5csecret.mp3",
        "/files/outside.mp3",
        "/files/.footaudio-123.part",
        "/files/.footaudio.lock",
        "/files/.hidden.mp3",
        "/files/notes.txt",
        "/files/",
        "/files/week%20one",
        "/files/week%20one/",
        "/chapters/../secret.mp3",
        "/chapters/outside.mp3",
        "/../secret.mp3",
        "/static/../../serve/app.py",
        "/static/index.html%00.js",
    ],
)
def test_nothing_outside_the_folder_or_hidden_is_served(served, path):
    status, _, body = served.request(path)
    assert status == 404, path
    assert b"SECRET" not in body and b"root:" not in body


def test_a_symlink_that_stays_inside_the_folder_is_served(served):
    status, _, body = served.request("/files/inside.mp3", headers={"Range": "bytes=0-15"})
    assert status == 206 and body == long_bytes()[:16]


def test_lan_mode_needs_the_token(library):
    folder, _, _, _ = library
    token = "s3cret-token"
    server = Served(app(folder, token))
    try:
        for path in ("/", "/api/routines", "/feed.xml", "/files/long.mp3", "/icon.png", "/nowhere",
                     "/?token=wrong", "/files/long.mp3?token=s3cret-toke"):  # fmt: skip
            status, headers, body = server.request(path)
            assert (status, body) == (403, b"Forbidden"), path
            assert "set-cookie" not in headers
        status, _, body = server.request("/", headers={"Cookie": "footaudio_token=wrong"})
        assert status == 403
        status, headers, body = server.request(f"/?token={token}")
        assert status == 200 and b"<audio" in body
        cookie = headers["set-cookie"]
        assert cookie == f"footaudio_token={token}; Path=/; HttpOnly; SameSite=Strict"
        status, headers, body = server.request(
            "/files/long.mp3", headers={"Cookie": f"footaudio_token={token}", "Range": "bytes=0-3"}
        )
        assert status == 206 and body == long_bytes()[:4]
        # The feed is for podcast apps, which keep no cookies: every URL in it carries the token.
        status, _, feed = server.request(f"/feed.xml?token={token}")
        assert status == 200 and feed.count(b"url=") >= 2
        import re

        assert all(url.endswith(f"token={token}".encode()) for url in re.findall(rb'(?:url|href)="([^"]+)"', feed))
    finally:
        server.close()


def test_served_feed_uses_the_address_the_phone_used(served, library):
    import podcastparser

    _, routine_set, results, _ = library
    status, headers, feed = served.request("/feed.xml", headers={"Host": "192.168.1.20:8765"})
    assert status == 200 and headers["content-type"].startswith("application/rss+xml")
    import io

    parsed = podcastparser.parse("http://192.168.1.20:8765/feed.xml", io.BytesIO(feed))
    assert parsed["cover_url"] == "http://192.168.1.20:8765/cover.png"
    episodes = {episode["enclosures"][0]["url"]: episode for episode in parsed["episodes"]}
    for spec, result in zip(routine_set.routines, results, strict=True):
        episode = episodes[f"http://192.168.1.20:8765/files/week%20one/{spec.filename}"]
        assert episode["total_time"] == 180 and episode["episode_art_url"] == "http://192.168.1.20:8765/cover.png"
        assert [c["title"] for c in episode["chapters"]] == [s.title for s in result.routine.timeline.steps]
    assert b'podcast:transcript url="http://192.168.1.20:8765/files/week%20one/01-solo-light-3min.vtt"' in feed
    assert b'podcast:chapters url="http://192.168.1.20:8765/chapters/week%20one/01-solo-light-3min.mp3"' in feed
    # The same file gives the same feed.
    assert served.request("/feed.xml", headers={"Host": "192.168.1.20:8765"})[2] == feed


def test_other_sites_cannot_reach_a_loopback_server_or_post_its_form(tmp_path):
    from footaudio.serve import LOOPBACK_NAMES

    server = Served(app(tmp_path, hosts=LOOPBACK_NAMES, synthesizer=FakeSynthesizer()))
    try:
        assert server.request("/", headers={"Host": f"localhost:{server.port}"})[0] == 200
        # DNS rebinding: a page of evil.example whose name now points at 127.0.0.1.
        status, _, body = server.request("/api/routines", headers={"Host": f"evil.example:{server.port}"})
        assert status == 400 and b"routines" not in body
        form = json.dumps({"minutes": "3"}).encode()
        evil = {"Content-Type": "application/json", "Origin": "http://evil.example"}
        status, body = server.json("/api/render", method="POST", body=form, headers=evil)
        assert (status, body) == (403, {"error": "forms from other sites are not accepted."})
        assert not list(tmp_path.glob("*.mp3"))
    finally:
        server.close()


def test_the_folders_own_cover_goes_into_the_served_feed(tmp_path):
    from footaudio.sets.feed import default_cover_png

    server = Served(app(tmp_path))
    try:
        status, headers, body = server.request("/cover.png")
        assert (status, headers["content-type"], body) == (200, "image/png", default_cover_png())
        assert b'<itunes:image href="http://127.0.0.1:%d/cover.png" />' % server.port in server.request("/feed.xml")[2]
        (tmp_path / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0 a JPEG")
        feed = server.request("/feed.xml")[2]
        assert b'<itunes:image href="http://127.0.0.1:%d/files/cover.jpg" />' % server.port in feed
        status, headers, body = server.request("/files/cover.jpg")
        assert (status, headers["content-type"]) == (200, "image/jpeg") and body.startswith(b"\xff\xd8")
    finally:
        server.close()


def cli_error(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    assert caught.value.code == 2
    return capsys.readouterr().err.strip().removeprefix("Error: ")


@pytest.mark.parametrize(
    ("field", "value", "option"),
    [
        ("minutes", "abc", "--minutes"),
        ("minutes", "0.5", "--minutes"),
        ("minutes", "500", "--minutes"),
        ("mode", "sideways", "--mode"),
        ("pressure", "hard", "--pressure"),
        ("ambience", "wind", "--ambience"),
        ("chime", "gong", "--chime"),
    ],
)
def test_bad_form_input_gives_the_clis_message_and_renders_nothing(served, library, capsys, tmp_path, field,
                                                                   value, option):  # fmt: skip
    folder = library[0]
    before = sorted(p.name for p in folder.rglob("*"))
    expected = cli_error(capsys, "render", option, value, "-o", str(tmp_path / "x.mp3"))
    fields = {"minutes": "3", "mode": "solo", "pressure": "light", "ambience": "none", "chime": "soft", field: value}
    status, body = served.json("/api/render", method="POST", body=json.dumps(fields).encode(),
                               headers={"Content-Type": "application/json"})  # fmt: skip
    assert (status, body) == (400, {"error": expected})
    # An HTML form post is read the same way.
    from urllib.parse import urlencode

    status, body = served.json("/api/render", method="POST", body=urlencode(fields).encode(),
                               headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert (status, body) == (400, {"error": expected})
    assert sorted(p.name for p in folder.rglob("*")) == before and not list(tmp_path.iterdir())


def test_an_unknown_voice_renders_nothing(served, library):
    folder = library[0]
    before = sorted(p.name for p in folder.rglob("*"))
    status, body = served.json("/api/render", method="POST", headers={"Content-Type": "application/json"},
                               body=json.dumps({"minutes": "3", "voice": "nobody"}).encode())  # fmt: skip
    assert status == 400 and "nobody" in body["error"] and "footaudio voices" in body["error"]
    assert sorted(p.name for p in folder.rglob("*")) == before


def test_20_downloads_of_a_60_minute_file_while_a_routine_is_made(served, library):
    folder = library[0]
    expected = hashlib.sha256(long_bytes()).hexdigest()
    results: list[tuple[str, float]] = []

    def download() -> None:
        started = time.monotonic()
        connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=120)
        connection.request("GET", "/files/long.mp3")
        response = connection.getresponse()
        digest = hashlib.sha256()
        while chunk := response.read(1 << 20):
            digest.update(chunk)
        connection.close()
        results.append((digest.hexdigest(), time.monotonic() - started))

    fields = {"minutes": "3", "mode": "partner", "pressure": "firm", "ambience": "rain", "chime": "bell"}
    assert b"partner-firm-3min-rain" not in served.request("/feed.xml")[2]  # the feed as it was before
    started = time.monotonic()
    status, job = served.json("/api/render", method="POST", body=json.dumps(fields).encode(),
                              headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 202 and job["state"] in ("queued", "rendering")
    assert job["file"] == "partner-firm-3min-rain-bellchime.mp3"
    threads = [threading.Thread(target=download) for _ in range(20)]
    for thread in threads:
        thread.start()
    seen = set()
    while job["state"] not in ("done", "failed"):
        assert time.monotonic() - started < 300
        time.sleep(0.2)
        status, job = served.json(f"/api/jobs/{job['id']}")
        seen.add((job["state"], job["stage"]))
    rendered = time.monotonic() - started
    for thread in threads:
        thread.join(300)
    assert job["state"] == "done", job["error"]
    assert ("rendering", "speech") in seen or ("rendering", "audio") in seen
    assert [digest for digest, _ in results] == [expected] * 20
    total = 20 * LONG_SIZE / max(seconds for _, seconds in results) / 1e6
    print(f"\n20 downloads: {total:.0f} MB/s together; render of 3 min alongside: {rendered:.1f} s")
    _, listed = served.json("/api/routines")
    assert "partner-firm-3min-rain-bellchime.mp3" in [routine["file"] for routine in listed["routines"]]
    assert b"/files/partner-firm-3min-rain-bellchime.mp3" in served.request("/feed.xml")[2]
    assert (folder / "partner-firm-3min-rain-bellchime.vtt").is_file()
    assert [p.name for p in folder.glob(".footaudio-*")] in ([".footaudio-123.part"], [])  # only the fixture's


class BlockedSynthesizer(FakeSynthesizer):
    """Speaks only once released, so renders stay in the queue as long as a test needs."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def synthesize(self, text, voice, rate, path):
        assert self.release.wait(60)
        super().synthesize(text, voice, rate, path)


def test_one_render_at_a_time_and_a_short_queue(tmp_path):
    synthesizer = BlockedSynthesizer()
    server = Served(app(tmp_path, synthesizer=synthesizer, cache=ClipCache(tmp_path / ".clips"), queue_limit=1))
    post = {"method": "POST", "headers": {"Content-Type": "application/json"}}
    try:
        status, first = server.json("/api/render", body=b'{"minutes": "3"}', **post)
        assert status == 202
        deadline = time.monotonic() + 10
        while server.json(f"/api/jobs/{first['id']}")[1]["state"] != "rendering":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        status, second = server.json("/api/render", body=b'{"minutes": "4"}', **post)
        assert status == 202 and second["state"] == "queued" and second["position"] == 1
        status, third = server.json("/api/render", body=b'{"minutes": "5"}', **post)
        assert status == 429
        assert third == {"error": "the queue is full (1 routine waiting to be made); try again when one is done."}
        # Asking again for a routine already on its way gives the same job, not a second render.
        again = server.json("/api/render", body=b'{"minutes": "4"}', **post)
        assert again[1].get("id") == second["id"], again
        synthesizer.release.set()
        deadline = time.monotonic() + 120
        while server.json(f"/api/jobs/{second['id']}")[1]["state"] != "done":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert server.json(f"/api/jobs/{first['id']}")[1]["state"] == "done"
        assert sorted(p.name for p in tmp_path.glob("*.mp3")) == ["solo-light-3min.mp3", "solo-light-4min.mp3"]
    finally:
        synthesizer.release.set()
        server.close()


def test_kept_alive_connections_answer_without_a_delayed_ack_wait(served):
    """Responses go out at once (TCP_NODELAY), not ~40 ms later when the client's delayed ACK arrives."""
    import socket
    import statistics

    with open_socket("127.0.0.1", 0) as sock:
        assert sock.proto == socket.IPPROTO_TCP  # asyncio sets TCP_NODELAY on accepted connections only then
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    times = []
    for _ in range(9):
        started = time.perf_counter()
        connection.request("GET", "/")
        response = connection.getresponse()
        assert response.status == 200 and response.read()
        times.append(time.perf_counter() - started)
    connection.close()
    assert statistics.median(times) < 0.030, times


def test_stopping_the_server_interrupts_a_render_and_leaves_nothing_behind(tmp_path):
    web = app(tmp_path, synthesizer=FakeSynthesizer(), cache=ClipCache(tmp_path / ".clips"))
    queue = web.state.queue
    server = Served(web)
    try:
        status, job = server.json("/api/render", method="POST", body=b'{"minutes": "30"}',
                                  headers={"Content-Type": "application/json"})  # fmt: skip
        assert status == 202
        deadline = time.monotonic() + 30
        # Stopped while the MP3 is being written: its temporary file must go too.
        while not list(tmp_path.glob(".footaudio-*.part")):
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        started = time.monotonic()
        server.close()
    assert time.monotonic() - started < 2.0
    assert queue.status(job["id"])["state"] == "failed"
    assert queue.status(job["id"])["error"] == "the server stopped before the routine was finished."
    assert not [p.name for p in tmp_path.iterdir() if p.name != ".clips"]


def test_the_url_and_qr_code_printed_for_the_phone():
    url = access_url("192.168.1.20", 8765, "abc")
    assert url == "http://192.168.1.20:8765/?token=abc"
    drawing = qr_text(url)
    rows = drawing.strip("\n").splitlines()
    assert len(rows) >= 12 and len({len(row) for row in rows}) == 1 and "█" in drawing


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_stops_within_a_second(library, signum):
    folder = library[0]
    with open_socket("127.0.0.1", 0) as probe:
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "footaudio", "serve", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout.readline() == f"Serving {folder} on http://127.0.0.1:{port}/\n"
        deadline = time.monotonic() + 10
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                connection.request("GET", "/api/routines")
                answer = connection.getresponse()
                assert answer.status == 200 and answer.read()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        # A download left half-read on an open connection must not hold the server up.
        connection.request("GET", "/files/long.mp3")
        response = connection.getresponse()
        assert response.status == 200 and len(response.read(1 << 16)) == 1 << 16
        started = time.monotonic()
        process.send_signal(signum)
        assert process.stdout.readline() == "Press Ctrl-C to stop.\n"
        # "Stopped." comes once the server has closed its port and finished shutting down. The
        # interpreter's own exit after it is timed too but not held to the second: on a machine
        # shared by many processes it is CPU starvation, not footaudio, that it measures.
        assert process.stdout.readline() == "Stopped.\n"
        stopped = time.monotonic() - started
        code = process.wait(10)
        exited = time.monotonic() - started
        connection.close()
        assert code == 0, process.stderr.read()
        assert stopped < 1.0, f"stopping took {stopped:.2f} s (exit after {exited:.2f} s)"
        with pytest.raises(ConnectionRefusedError):
            http.client.HTTPConnection("127.0.0.1", port, timeout=10).request("GET", "/")
        print(f"\nstopped after {stopped:.2f} s, exited after {exited:.2f} s")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_a_missing_folder_and_a_port_in_use(tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["serve", str(tmp_path / "missing")])
    assert caught.value.code == 2
    assert capsys.readouterr().err == (
        f"Error: folder {tmp_path / 'missing'} does not exist; give the folder your routines are in, e.g. out/.\n"
    )
    with open_socket("127.0.0.1", 0) as taken:
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as caught:
            main(["serve", str(tmp_path), "--port", str(port)])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"Error: cannot listen on 127.0.0.1 port {port} (") and err.endswith(
        "); use --port with another number.\n"
    )
    for port in ("0", "70000"):
        with pytest.raises(SystemExit) as caught:
            main(["serve", str(tmp_path), "--port", port])
        assert caught.value.code == 2
        assert capsys.readouterr().err == (
            f"Error: --port {port} is not a port number; use one from 1 to 65535, e.g. --port 8765.\n"
        )
