"""`pulse serve`: the archive as a small web app (Starlette), with the same searches as JSON under /api/.

Pages: search (/), a story with its cluster's full brief (/story/ID), a thread's timeline
(/thread/ID), digests (/digests, /digest/DATE). Works without JavaScript: every page is HTML from
Jinja2 with autoescaping; text that arrives as markdown (a story's body, a digest) goes through
markdown-it and nh3 (`markdown.to_html`). A strict Content-Security-Policy (no scripts at all) is
a second wall should anything slip through.

One Store and one Searcher live for the app's lifetime, opened in the lifespan so that every
request runs on the event loop's thread (SQLite connections are per thread).
"""
from __future__ import annotations

import contextlib
import re
from datetime import date
from pathlib import Path
from typing import Any, Callable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from pipeline.cluster_stage import story_view, thread_view
from pipeline.search import MODES, Filters, Results, SearchError, Searcher
from pipeline.store import Store

from .briefing import load_brief
from .markdown import safe_url, to_html

CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; "
       "frame-ancestors 'none'")
CSS = """
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:0 auto;padding:0 1rem 3rem;color:#1b1b1b}
header{display:flex;gap:1rem;align-items:center;border-bottom:1px solid #ddd;padding:.6rem 0;flex-wrap:wrap}
header a.home{font-weight:700;text-decoration:none;color:#b3261e}
form.search{display:flex;gap:.4rem;flex-wrap:wrap;flex:1}
form.search input[type=search]{flex:1;min-width:14rem;padding:.35rem}
mark{background:#ffe58a}
.meta{color:#666;font-size:.9rem}
.hit{margin:1.1rem 0}.hit h3{margin:0;font-size:1.05rem}.snippet{margin:.2rem 0;color:#333}
.impact{font-weight:700;padding:0 .35rem;border-radius:.25rem}
.impact-high{background:#f8d0cd}.impact-medium{background:#fde7b0}.impact-low{background:#e3e8ee}
blockquote{margin:.6rem 0;padding:.2rem .9rem;border-left:3px solid #bbb;color:#333}
table{border-collapse:collapse;font-size:.92rem}td,th{border-bottom:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left}
.error{color:#b3261e}.label{font-style:italic;color:#666}
"""
_TAIL_MD = re.compile(r"\.md$")


def segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """A snippet cut into (text, highlighted) pieces, for the template to escape piece by piece."""
    out, pos = [], 0
    for start, end in spans:
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


class SecurityHeaders:
    """Adds CSP and friends to every response (pure ASGI, so streaming is untouched)."""

    HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"no-referrer"), (b"x-frame-options", b"DENY")]

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + self.HEADERS
            await send(message)

        await self.app(scope, receive, with_headers)


def _filters(params: Any) -> Filters:
    return Filters(tuple(s for s in params.getlist("source") if s), params.get("since") or None,
                   params.get("until") or None, params.get("cluster") or None, params.get("thread") or None)


def _limit(value: str | None, default: int = 20) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        raise SearchError(f"limit must be a whole number, got {value!r}") from None


def create_app(db_path: Path, searcher_factory: Callable[[Store], Searcher]) -> Starlette:
    env = Environment(loader=PackageLoader("outputs", "templates/web"), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["day"] = lambda v: (v or "")[:10]
    env.filters["safe_url"] = safe_url
    env.filters["segments"] = lambda hit: segments(hit.snippet, hit.highlights)
    env.filters["md_html"] = lambda text: Markup(to_html(text or ""))  # nh3-cleaned: safe to mark safe
    templates = Jinja2Templates(env=env)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        state["store"] = Store(db_path)
        state["searcher"] = searcher_factory(state["store"])
        try:
            yield
        finally:
            state["searcher"].close()
            state["store"].close()

    def page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"modes": MODES, **context}, status_code=status)

    def run_search(params: Any) -> Results:
        return state["searcher"].search(params.get("q", ""), mode=params.get("mode") or "hybrid",
                                        limit=_limit(params.get("limit")), filters=_filters(params))

    async def home(request: Request) -> Response:
        params = request.query_params
        results, error = None, None
        if params.get("q", "").strip():
            try:
                results = run_search(params)
            except SearchError as exc:
                error = str(exc)
        return page(request, "search.html", status=400 if error else 200, q=params.get("q", ""),
                    mode=params.get("mode") or "hybrid", source=params.get("source") or "",
                    since=params.get("since") or "", until=params.get("until") or "", results=results,
                    error=error, sources=state["store"].source_names())

    def story_context(sid: str) -> dict[str, Any]:
        store: Store = state["store"]
        view = story_view(store, sid)
        if view is None:
            raise HTTPException(404, f"no story {sid}")
        body = store.story(view["id"])
        brief = None
        if view["cluster_id"]:
            row = store.briefs([view["cluster_id"]]).get(view["cluster_id"])
            brief = load_brief(row) if row else None
        return {"story": view, "markdown": (body or {}).get("markdown") or view["text"], "brief": brief}

    async def story(request: Request) -> Response:
        return page(request, "story.html", **story_context(request.path_params["sid"]))

    async def brief(request: Request) -> Response:
        """/brief/SLUG and the digest's relative links (stories/SLUG.md) lead to the cluster's first story."""
        store: Store = state["store"]
        row = store.brief_by_slug(_TAIL_MD.sub("", request.path_params["slug"]))
        first = store.first_story_of(row["cluster_id"]) if row else None
        if first is None:
            raise HTTPException(404, "no such brief")
        return RedirectResponse(f"/story/{first}", status_code=303)

    async def thread(request: Request) -> Response:
        view = thread_view(state["store"], request.path_params["tid"])
        if not view["timeline"]:
            raise HTTPException(404, "no such thread")
        return page(request, "thread.html", thread=view)

    async def digests(request: Request) -> Response:
        return page(request, "digests.html", digests=state["store"].digests(limit=365))

    def digest_row(day: str) -> dict[str, Any]:
        try:
            date.fromisoformat(day)
        except ValueError:
            raise HTTPException(404, "no such digest") from None
        row = state["store"].digest(day)
        if row is None:
            raise HTTPException(404, f"no digest for {day}")
        return row

    async def digest(request: Request) -> Response:
        row = digest_row(request.path_params["day"])
        return page(request, "digest.html", digest=row, html=to_html(row["markdown"]))

    async def css(request: Request) -> Response:
        return Response(CSS, media_type="text/css")

    # ------------------------------------------------------------------ JSON
    async def api_search(request: Request) -> Response:
        try:
            return JSONResponse(run_search(request.query_params).to_dict())
        except SearchError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

    async def api_story(request: Request) -> Response:
        ctx = story_context(request.path_params["sid"])
        return JSONResponse({**ctx["story"], "brief": ctx["brief"].to_dict() if ctx["brief"] else None})

    async def api_thread(request: Request) -> Response:
        view = thread_view(state["store"], request.path_params["tid"])
        if not view["timeline"]:
            return JSONResponse({"error": "no such thread"}, status_code=404)
        return JSONResponse(view)

    async def api_digests(request: Request) -> Response:
        return JSONResponse([{"date": d["date"], "clusters": d["clusters"], "updated": d["updated"]}
                             for d in state["store"].digests(limit=365)])

    async def api_digest(request: Request) -> Response:
        row = digest_row(request.path_params["day"])
        return JSONResponse({**row, "html": to_html(row["markdown"])})

    async def not_found(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
        return page(request, "error.html", status=exc.status_code, message=exc.detail)

    routes = [
        Route("/", home), Route("/story/{sid}", story), Route("/brief/{slug}", brief),
        Route("/digest/stories/{slug}", brief), Route("/thread/{tid}", thread), Route("/digests", digests),
        Route("/digest/{day}", digest), Route("/static/pulse.css", css),
        Route("/api/search", api_search), Route("/api/story/{sid}", api_story), Route("/api/thread/{tid}", api_thread),
        Route("/api/digests", api_digests), Route("/api/digest/{day}", api_digest),
    ]
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={HTTPException: not_found})
    app.add_middleware(SecurityHeaders)
    return app
