"""The web app: the phone page, its JSON, the media files, the podcast feed and the render form."""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Sequence
from functools import partial
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from urllib.parse import parse_qs, parse_qsl, quote, urlsplit

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import FootaudioError, UsageError
from ..sets.feed import DEFAULT_COVER, chapters_json, default_cover_png, feed_xml
from ..speech.cache import ClipCache
from ..speech.engine import Synthesizer
from .jobs import QUEUE_LIMIT, QueueFull, RenderQueue, parse_form
from .library import Library
from .media import CHAPTERS_TYPE, media_type, not_modified, resolve

__all__ = ["COOKIE", "app"]

COOKIE = "footaudio_token"
STATIC = {
    "app.js": "text/javascript; charset=utf-8",
    "style.css": "text/css; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json",
}


class TokenGate:
    """Lets a request through only with the access token, in the query (``?token=``) or the cookie.

    A right token in the query is stored in an HttpOnly, SameSite=Strict cookie, so links
    on the page keep working. Without it: 403 and nothing else.
    """

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token", [""])[0]
        cookie = ""
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                jar: SimpleCookie = SimpleCookie()
                with contextlib.suppress(Exception):
                    jar.load(value.decode("latin-1"))
                if COOKIE in jar:
                    cookie = jar[COOKIE].value
        if secrets.compare_digest(query.encode(), self.token.encode()):
            set_cookie = f"{COOKIE}={self.token}; Path=/; HttpOnly; SameSite=Strict".encode()

            async def send_with_cookie(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", set_cookie)]}
                await send(message)

            await self.app(scope, receive, send_with_cookie)
        elif secrets.compare_digest(cookie.encode(), self.token.encode()):
            await self.app(scope, receive, send)
        else:
            await PlainTextResponse("Forbidden", status_code=403)(scope, receive, send)


def _static(name: str) -> bytes:
    return (resources.files("footaudio.serve") / "static" / name).read_bytes()


def _file_response(request: Request, path: Path, media: str, *, download: bool = False) -> Response:
    stat = path.stat()
    filename = path.name if download else None
    response = FileResponse(path, media_type=media, stat_result=stat, filename=filename)
    response.headers["cache-control"] = "no-cache"
    if request.method in ("GET", "HEAD") and not_modified(
        response.headers["etag"],
        response.headers["last-modified"],
        request.headers.get("if-none-match"),
        request.headers.get("if-modified-since"),
    ):
        headers = {key: response.headers[key] for key in ("etag", "last-modified", "cache-control")}
        return Response(status_code=304, headers=headers)
    return response


def _not_found() -> PlainTextResponse:
    return PlainTextResponse("Not found", status_code=404)


def app(
    folder: Path | str,
    token: str | None = None,
    *,
    synthesizer: Synthesizer | None = None,
    cache: ClipCache | None = None,
    queue_limit: int = QUEUE_LIMIT,
    hosts: Sequence[str] | None = None,
) -> Starlette:
    """The ASGI app serving ``folder``; with ``token`` every request must carry it.

    ``hosts`` limits the Host header to these names (on loopback, this stops DNS rebinding:
    another site's page reaching the server under its own name). ``synthesizer`` and
    ``cache`` go to the renders made from the page (tests pass a fake).
    """
    folder = Path(folder)
    library = Library(folder)
    queue = RenderQueue(folder, synthesizer=synthesizer, cache=cache, limit=queue_limit)
    suffix = f"?token={quote(token)}" if token else ""
    page = _static("index.html")
    feeds: dict[tuple, str] = {}

    def absolute(request: Request, path: str) -> str:
        return f"{str(request.base_url).rstrip('/')}/{path}"

    def cover_file() -> Path | None:
        for name in ("cover.jpg", "cover.png"):
            found = resolve(folder, name)
            if found is not None:
                return found
        return None

    async def index(request: Request) -> Response:
        return Response(page, media_type="text/html; charset=utf-8", headers={"cache-control": "no-cache"})

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in STATIC:
            return _not_found()
        return Response(_static(name), media_type=STATIC[name], headers={"cache-control": "no-cache"})

    async def manifest(request: Request) -> Response:
        return Response(_static("manifest.webmanifest"), media_type=STATIC["manifest.webmanifest"])

    async def icon(request: Request) -> Response:
        return Response(default_cover_png(), media_type="image/png", headers={"cache-control": "max-age=86400"})

    async def routines(request: Request) -> Response:
        listed = await run_in_threadpool(library.routines)
        feed = absolute(request, f"feed.xml{suffix}")
        body = {
            "folder": folder.resolve().name,
            "feed": feed,
            "podcast": "podcast://" + feed.split("://", 1)[1],
            "routines": [routine.to_dict() for routine in listed],
        }
        return JSONResponse(body, headers={"cache-control": "no-cache"})

    async def media(request: Request) -> Response:
        found = resolve(folder, request.path_params["path"])
        if found is None:
            return _not_found()
        return _file_response(request, found, media_type(found), download="download" in request.query_params)

    async def chapters(request: Request) -> Response:
        wanted = request.path_params["path"]
        found = resolve(folder, wanted)
        if found is None or found.suffix.lower() != ".mp3":
            return _not_found()
        listed = await run_in_threadpool(library.routines)
        routine = next((r for r in listed if r.file == Path(found).relative_to(folder.resolve()).as_posix()), None)
        if routine is None:
            return _not_found()
        return Response(chapters_json(routine.episode()), media_type=CHAPTERS_TYPE)

    async def feed(request: Request) -> Response:
        listed = await run_in_threadpool(library.routines)
        found = cover_file()

        def url(relative: str) -> str:
            if relative.endswith(".chapters.json"):
                relative = "chapters/" + quote(relative.removesuffix(".chapters.json") + ".mp3")
            elif relative == DEFAULT_COVER and found is None:
                relative = DEFAULT_COVER  # made up on request, like the page's icon
            else:
                relative = "files/" + quote(relative)
            return absolute(request, relative + suffix)

        # Podcast apps poll the feed: it is rebuilt only when a file or the address asked for changes.
        key = (str(request.base_url), found, tuple((r.file, r.mtime_ns, r.size, r.captions) for r in listed))
        text = feeds.get(key)
        if text is None:
            text = feed_xml(
                f"footaudio: {folder.resolve().name}",
                [routine.episode() for routine in listed],
                url,
                link=absolute(request, suffix),
                cover=found.name if found is not None else DEFAULT_COVER,
                self_url=absolute(request, f"feed.xml{suffix}"),
            )
            if len(feeds) > 8:
                feeds.clear()
            feeds[key] = text
        return Response(text, media_type="application/rss+xml; charset=utf-8", headers={"cache-control": "no-cache"})

    async def make(request: Request) -> Response:
        origin = request.headers.get("origin")
        if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
            # Another web site's page posting here (cross-site request forgery): refused.
            return JSONResponse({"error": "forms from other sites are not accepted."}, status_code=403)
        body = await request.body()
        fields: object = None
        if request.headers.get("content-type", "").startswith("application/json"):
            with contextlib.suppress(ValueError):
                fields = json.loads(body)
        else:  # a plain HTML form post
            with contextlib.suppress(ValueError):
                fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
        if not isinstance(fields, dict) or len(body) > 4096:
            return JSONResponse({"error": "the form could not be read; reload the page."}, status_code=400)
        try:
            settings, options = parse_form({key: str(value) for key, value in fields.items()})
            await run_in_threadpool(queue.check_voice, settings)
            job = queue.submit(settings, options)
        except QueueFull as exc:
            return JSONResponse({"error": exc.message}, status_code=429)
        except UsageError as exc:
            return JSONResponse({"error": exc.message}, status_code=400)
        except FootaudioError as exc:  # the speech engine is missing or broken on this computer
            return JSONResponse({"error": exc.message}, status_code=503)
        return JSONResponse(queue.status(job.id), status_code=202)

    async def job(request: Request) -> Response:
        status = queue.status(request.path_params["id"])
        if status is None:
            return _not_found()
        return JSONResponse(status, headers={"cache-control": "no-store"})

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(partial(queue.stop, 0.8))

    routes = [
        Route("/", index),
        Route("/static/{name}", static),
        Route("/manifest.webmanifest", manifest),
        Route("/icon.png", icon),
        Route(f"/{DEFAULT_COVER}", icon),
        Route("/feed.xml", feed),
        Route("/api/routines", routines),
        Route("/api/render", make, methods=["POST"]),
        Route("/api/jobs/{id}", job),
        Route("/files/{path:path}", media, methods=["GET", "HEAD"]),
        Route("/chapters/{path:path}", chapters),
    ]
    web = Starlette(routes=routes, lifespan=lifespan)
    web.state.queue = queue
    web.state.library = library
    if token:
        web.add_middleware(TokenGate, token=token)
    if hosts is not None:
        web.add_middleware(TrustedHostMiddleware, allowed_hosts=list(hosts))
    return web
