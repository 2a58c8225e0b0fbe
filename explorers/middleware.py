"""ASGI middleware on gradio's FastAPI app (app.py installs it): what gradio's own routes do not refuse or forget.
No gradio import: each class reads the Blocks it is given."""
from __future__ import annotations

import collections
import contextlib
import inspect
import json
import logging
import re
import secrets
import sys

from starlette.exceptions import HTTPException

from core.validate import echo
from explorers import fairness

log = logging.getLogger(__name__)


class _Digits(str):
    """A whole number in a JSON body with more digits than Python reads from text (4,300 by default)."""


def _whole(text: str) -> int | _Digits:
    """json's parse_int: json.loads would fail on the whole body, and gradio then answers "There was an error
    parsing the body", naming nothing."""
    try:
        return int(text)
    except ValueError:
        return _Digits(text)


def _unreadable(value) -> int:
    """The digits of the first over-long number anywhere in `value`, or 0."""
    if isinstance(value, _Digits):
        return len(value.lstrip("-"))
    items = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next((d for d in map(_unreadable, items) if d), 0)


class BodyLimit:
    """ASGI middleware: a request whose body is larger than `limit` bytes gets HTTP 413 before it is read into
    memory, by its Content-Length when it sends one, else as soon as the streamed body passes the limit."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def refuse(self, send) -> None:
        body = f"Request body too large: the limit is {self.limit:,} bytes.".encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.strip().isdigit() or int(length) > self.limit):
            return await self.refuse(send)
        received, started, refused = 0, False, False

        async def counted_receive():
            nonlocal received, refused
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit and not refused:
                refused = True
                if not started:
                    await self.refuse(send)
                return {"type": "http.disconnect"}  # the app stops reading; its own reply is dropped below
            return message

        async def watched_send(message):
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        await self.app(scope, counted_receive, watched_send)


class ApiSessions:
    """The sessions REST calls that name none run in, lent from a pool. gradio runs every event in a session, and
    builds one (a copy of every component's config: 36 ms for this app's 700 components, on the event loop, so
    every other request waits too) for each REST call that names none, named after its event; a trivial call took
    42 ms against 7 ms on a bare gradio app. RestArguments names a session from this pool in each call it passes
    on, and ForgetApiSessions gives it back once the call's result has been sent, so it is built once and reused.
    A session is lent to one call at a time: gradio's result stream reads every message of its session, and two
    calls in flight in one would read each other's. The endpoints (gr.api) take no gr.State or gr.Request, so a
    session holds nothing of a call but its last values, under a name never sent to anyone. At most `idle`
    sessions wait in the pool; others are dropped when given back, as are the sessions gradio named after an
    event (a REST call that RestArguments did not pass on), which it never reads again but keeps (with every
    component's config) until `state_session_capacity` sessions are held: 1,000 such calls grew the server by
    1.4 GB. Sessions of browsers and gradio_client are named by their own hash, so they are untouched."""

    def __init__(self, blocks, idle: int = 8):
        self.blocks, self.idle = blocks, idle
        self.waiting: list[str] = []
        # event id -> the session lent to it, until its result is sent; a caller who never reads the result keeps
        # its session lent, so the oldest are let go (left to gradio's own bound) past the same capacity
        self.lent: collections.OrderedDict[str, str] = collections.OrderedDict()

    def lend(self) -> str:
        return self.waiting.pop() if self.waiting else f"rest-{secrets.token_hex(16)}"

    def started(self, event_id: str, session: str) -> None:
        self.lent[event_id] = session
        if len(self.lent) > self.blocks.state_session_capacity:
            self.lent.popitem(last=False)

    def give_back(self, session: str) -> None:
        if len(self.waiting) < self.idle:
            self.waiting.append(session)
        else:
            self.forget(session)

    def finished(self, event_id: str, ended: bool = True) -> None:
        """The result stream of `event_id` is over: its session goes back to the pool, or, named after the event,
        is dropped. A stream that did not carry its event's end (`ended`: its caller left while the event ran) may
        leave messages of the event queued in the session, which its next borrower would read: it is dropped."""
        session = self.lent.pop(event_id, None)
        if session is None:
            self.forget(event_id)
        elif ended:
            self.give_back(session)
        else:
            self.forget(session)

    def forget(self, session: str) -> None:
        holder = self.blocks.state_holder
        with holder.lock:
            holder.session_data.pop(session, None)
            holder.time_last_used.pop(session, None)


class ForgetApiSessions:
    """ASGI middleware: once the result stream of a REST call (GET /gradio_api/call/NAME/EVENT) has been sent, the
    session it ran in goes back to the pool, or is dropped (ApiSessions)."""

    def __init__(self, app, sessions: ApiSessions):
        self.app, self.sessions = app, sessions

    RESULT = re.compile(r"/gradio_api/call/(?:v2/)?[^/]+/([0-9a-f]+)/?$")

    async def __call__(self, scope, receive, send):
        result = scope["type"] == "http" and scope["method"] == "GET" and self.RESULT.search(scope["path"])
        if not result:
            return await self.app(scope, receive, send)

        ended = False  # whether the stream carried the event's end (gradio's "complete" or "error")

        async def forget_before_the_end(message):
            """Done before the stream's last chunk goes out, so a caller who has read it finds it done."""
            nonlocal ended
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                ended = ended or b"event: complete" in body or b"event: error" in body
                if not message.get("more_body", False):
                    self.sessions.finished(result[1], ended)
            await send(message)

        await self.app(scope, receive, forget_before_the_end)


class RestArguments:
    """ASGI middleware for gradio's REST route (POST /gradio_api/call/NAME with {"data": [...]}): missing trailing
    values take their parameter's default, as gradio_client fills them, and a body of the wrong shape or with too
    many values gets HTTP 422 with a one-line message. gradio itself answers a wrong count with an error, and a
    20-line log entry, that both repeat every value sent (a 100,000-character string came back whole). A call that
    names no session runs in one lent by `sessions` (ApiSessions)."""

    CALL = re.compile(r"/gradio_api/call/([^/]+)/?$")

    def __init__(self, app, blocks, sessions: ApiSessions):
        self.app, self.blocks, self.sessions = app, blocks, sessions

    def parameters(self, name: str) -> list[inspect.Parameter] | None:
        """The parameters of the public endpoint `name`, or None where there is none (gradio answers that)."""
        for fn in self.blocks.fns.values():
            if fn.api_name == name and fn.api_visibility != "private" and fn.fn is not None:
                params = list(inspect.signature(fn.fn).parameters.values())
                return params if len(params) == len(fn.inputs) else None
        return None

    def checked(self, name: str, params: list[inspect.Parameter], body: bytes) -> tuple[dict | None, str | None]:
        """(the request to pass on, None), (None, None) for a body that is not JSON (gradio's own answer is short),
        or (None, why it is refused)."""
        try:
            request = json.loads(body, parse_int=_whole)
        except (ValueError, RecursionError):
            return None, None
        names = ", ".join(p.name for p in params)
        if not isinstance(request, dict) or not isinstance(request.get("data"), list):
            return None, f'{name} takes a JSON body {{"data": [...]}} with one value per parameter: {names}.'
        data = request["data"]
        if len(data) > len(params):
            return None, f"{name} takes at most {len(params)} values ({names}); {len(data)} were sent."
        for param, value in zip(params, data, strict=False):
            digits = _unreadable(value)
            if digits:
                return None, (f"{name}: {param.name} holds a whole number of {digits:,} digits; numbers of more than "
                              f"{sys.get_int_max_str_digits():,} digits cannot be read.")
        missing = params[len(data):]
        required = [p.name for p in missing if p.default is inspect.Parameter.empty]
        if required:
            return None, f"{name} needs a value for {', '.join(required)} (its parameters, in order: {names})."
        request["data"] = data + [p.default for p in missing]
        return request, None

    async def __call__(self, scope, receive, send):
        call = scope["type"] == "http" and scope["method"] == "POST" and self.CALL.search(scope["path"])
        params = self.parameters(call[1]) if call else None
        if params is None:
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:  # BodyLimit, outside this, has already capped the size
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        request, refused = self.checked(call[1], params, body)
        if refused:
            reply = json.dumps({"detail": refused}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(reply)).encode())]})
            return await send({"type": "http.response.body", "body": reply})
        session = None
        if request is not None:
            if request.get("session_hash") is None:
                session = request["session_hash"] = self.sessions.lend()
            body = json.dumps(request).encode()
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        if session is None:
            return await self.app(scope, replay, send)
        await self.run_in(session, scope, replay, send)

    async def run_in(self, session: str, scope, receive, send) -> None:
        """Pass the call on in `session`, which stays lent to the event the reply names, or else is given back."""
        status, reply, event = None, [], None

        async def noted(message):
            nonlocal status, event
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                reply.append(message.get("body", b""))
                if not message.get("more_body", False):
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        event = json.loads(b"".join(reply))["event_id"]
                        self.sessions.started(event, session)
            await send(message)  # after started(): the caller cannot ask for the result before it is noted

        try:
            await self.app(scope, receive, noted)
        finally:
            if event is None:
                self.sessions.give_back(session)


def reply(status: int, detail: str):
    """The ASGI messages of a one-line JSON answer {"detail": ...}."""
    body = json.dumps({"detail": detail}).encode()
    return [{"type": "http.response.start", "status": status,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]},
            {"type": "http.response.body", "body": body}]


class Closed:
    """ASGI middleware: refuses, in one line, what gradio serves but the app must not.
    - gradio's non-queued REST routes, /gradio_api/run/NAME and /gradio_api/api/NAME: they run an event outside
      the queue, so outside its concurrency limits and size (44 parallel calls took gradio's 40 worker threads and
      another client's trivial call waited 42 s). The page sends only events with queue=False there, and the app
      has none; gradio_client and the "Use via API" page's examples use the queue.
    - /gradio_api/deep_link, which writes a visitor's whole state to a file that /gradio_api/file= then serves;
      the app has no deep-link button.
    - a request from another origin's page (its Origin header names another host than its Host): gradio's CORS
      lets any localhost port, or any site when the server is not on localhost, call with the visitor's cookies.
      `origins` widens that (GLASSBOX_ORIGINS; "*" any)."""

    DIRECT = re.compile(r"^/gradio_api/(?:run|api)/([^/]*)")

    def __init__(self, app, origins: frozenset[str] | None = None):
        self.app, self.origins = app, origins or frozenset()

    def refusal(self, scope) -> tuple[int, str] | None:
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):  # mounted under a sub-path: the route is what follows it
            path = path[len(root):]
        direct = self.DIRECT.match(path)
        if direct:
            name = echo(direct[1])[1:-1]  # at most ECHO characters of the caller's name, without repr's quotes
            return 404, (f"{path.split('/')[2]}/ is closed: every call goes through the queue. POST "
                         f"/gradio_api/call/{name} instead (gradio_client does).")
        if path.rstrip("/") == "/gradio_api/deep_link":
            return 404, "Deep links are not served by this app."
        origin = dict(scope["headers"]).get(b"origin")
        if origin is not None and not self.allowed(origin.decode("latin-1"), scope):
            return 403, (f"Requests from pages of {echo(origin.decode('latin-1'))} are refused: only this server's "
                         "own pages may call it (GLASSBOX_ORIGINS lists others).")
        return None

    def allowed(self, origin: str, scope) -> bool:
        if "*" in self.origins or origin in self.origins:
            return True
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        forwarded = re.findall(r"host=\"?([^;,\"]+)", headers.get("forwarded", ""), re.IGNORECASE)
        hosts = {headers.get("host", ""), *headers.get("x-forwarded-host", "").split(","), *forwarded}
        own = origin.split("://", 1)[-1].rstrip("/")  # a proxy may end TLS, so the scheme is not compared
        return host_name(own) in {host_name(h) for h in hosts if h.strip()}

    async def __call__(self, scope, receive, send):
        refused = scope["type"] == "http" and self.refusal(scope)
        if not refused:
            return await self.app(scope, receive, send)
        for message in reply(*refused):
            await send(message)


def host_name(host: str) -> str:
    """A Host header as a browser's Origin writes it: lower case, no default port."""
    host = host.strip().lower()
    return host.removesuffix(":80").removesuffix(":443")


class QuietErrors:
    """ASGI middleware: a request that gradio's own routes fail on (an unknown endpoint or event, arguments they
    cannot use, a GET of a stream that does not exist) gets one short log line and a one-line answer instead of
    uvicorn's 24-84-line traceback and a bare 500, so a script cannot flood the log. An error raised in, or passing
    through, the app's own code (the files under `own`) is not a malformed request: it is raised on, whole."""

    def __init__(self, app, own: tuple[str, ...]):
        self.app, self.own = app, own

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watched(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as error:
            if through(error, self.own) or not caused_by_request(error):
                raise  # the app's fault or the server's (a full disk, a bug), not the caller's: logged whole
            why = f"{type(error).__name__}: {echo(str(error))}"
            log.warning("refused %s %s (%s)", scope["method"], echo(scope["path"]), why)
            if started:  # a stream already under way: end it
                return await send({"type": "http.response.body", "body": b"", "more_body": False})
            status = 404 if isinstance(error, LookupError) else 400  # an unknown endpoint, event or session; else
            for message in reply(status, f"This request could not be served ({why})."):  # a body it cannot use
                await send(message)


# What a malformed request makes gradio's routes raise: an unknown name or event (LookupError, FnIndexInferError), an
# HTTP refusal (an HTTPException, which starlette wraps in a RuntimeError once a stream has begun), arguments, a body
# or a path they cannot use (ValueError, gradio's InvalidPathError among them, TypeError). Anything else is a fault
# of the server, never quieted.
REQUEST_ERRORS = (LookupError, ValueError, TypeError, HTTPException)
REQUEST_ERROR_NAMES = {"FnIndexInferError"}  # gradio.route_utils's, by name: this module imports no gradio


def caused_by_request(error: BaseException) -> bool:
    """Whether `error`, or one it was raised from, is what a malformed request makes gradio raise."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, REQUEST_ERRORS) or type(error).__name__ in REQUEST_ERROR_NAMES:
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


# Modules of the app's whose frames only pass a request on to gradio: this one, and explorers.fairness, around the
# queue's push (an unknown event index raises in gradio below it).
PASSING = frozenset({__file__, fairness.__file__})


def through(error: BaseException, own: tuple[str, ...]) -> bool:
    """Whether the app's own code (files under `own`) raised `error`, or one it was chained from, or called what
    did; PASSING's frames only pass requests on, so they count only where an error was raised in them."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        frames = []
        tb = error.__traceback__
        while tb is not None:
            frames.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        if (frames and frames[-1].startswith(own)) or any(f.startswith(own) and f not in PASSING for f in frames):
            return True
        error = error.__cause__ or error.__context__
    return False


class QuietTracebacks:
    """Stands in for the `traceback` module inside a module of gradio's (app.py gives it gradio.queueing), whose
    print_exc() writes a 20-line traceback to stderr for each queued call gradio itself refuses (a server path
    in place of an upload): one short log line instead, unless the error came through the app's own code."""

    def __init__(self, module, own: tuple[str, ...]):
        self.module, self.own = module, own

    def __getattr__(self, name):
        return getattr(self.module, name)

    def print_exc(self, *args, **kwargs):
        error = sys.exc_info()[1]
        if error is None or through(error, self.own) or not caused_by_request(error):
            return self.module.print_exc(*args, **kwargs)
        log.warning("refused a call (%s: %s)", type(error).__name__, echo(str(error)))
