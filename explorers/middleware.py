"""ASGI middleware on gradio's FastAPI app (app.py installs it): what gradio's own routes do not refuse or forget.
No gradio import: each class reads the Blocks it is given."""
from __future__ import annotations

import inspect
import json
import re


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


class ForgetApiSessions:
    """ASGI middleware: once the result stream of a REST call made without a session (GET
    /gradio_api/call/NAME/EVENT) has been sent, drop the session gradio made for it. gradio names that session
    after the event and never reads it again, but keeps it (with every component's config) until
    `state_session_capacity` sessions are held, so 1,000 such calls grew the server by 1.4 GB. Sessions of
    browsers and gradio_client are named by their own hash, never by an event id, so they are untouched."""

    def __init__(self, app, blocks):
        self.app, self.blocks = app, blocks

    RESULT = re.compile(r"/gradio_api/call/(?:v2/)?[^/]+/([0-9a-f]+)/?$")

    async def __call__(self, scope, receive, send):
        result = scope["type"] == "http" and scope["method"] == "GET" and self.RESULT.search(scope["path"])
        if not result:
            return await self.app(scope, receive, send)

        async def forget_before_the_end(message):
            """Dropped before the stream's last chunk goes out, so a caller who has read it finds it gone."""
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                holder = self.blocks.state_holder
                with holder.lock:
                    holder.session_data.pop(result[1], None)
                    holder.time_last_used.pop(result[1], None)
            await send(message)

        await self.app(scope, receive, forget_before_the_end)


class RestArguments:
    """ASGI middleware for gradio's REST route (POST /gradio_api/call/NAME with {"data": [...]}): missing trailing
    values take their parameter's default, as gradio_client fills them, and a body of the wrong shape or with too
    many values gets HTTP 422 with a one-line message. gradio itself answers a wrong count with an error, and a
    20-line log entry, that both repeat every value sent (a 100,000-character string came back whole)."""

    CALL = re.compile(r"/gradio_api/call/([^/]+)/?$")

    def __init__(self, app, blocks):
        self.app, self.blocks = app, blocks

    def parameters(self, name: str) -> list[inspect.Parameter] | None:
        """The parameters of the public endpoint `name`, or None where there is none (gradio answers that)."""
        for fn in self.blocks.fns.values():
            if fn.api_name == name and fn.api_visibility != "private" and fn.fn is not None:
                params = list(inspect.signature(fn.fn).parameters.values())
                return params if len(params) == len(fn.inputs) else None
        return None

    def checked(self, name: str, params: list[inspect.Parameter], body: bytes) -> tuple[bytes | None, str | None]:
        """(the body to pass on, None) or (None, why it is refused)."""
        try:
            request = json.loads(body)
        except (ValueError, RecursionError):
            return body, None  # not JSON: gradio's own answer is short
        names = ", ".join(p.name for p in params)
        if not isinstance(request, dict) or not isinstance(request.get("data"), list):
            return None, f'{name} takes a JSON body {{"data": [...]}} with one value per parameter: {names}.'
        data = request["data"]
        if len(data) > len(params):
            return None, f"{name} takes at most {len(params)} values ({names}); {len(data)} were sent."
        missing = params[len(data):]
        required = [p.name for p in missing if p.default is inspect.Parameter.empty]
        if required:
            return None, f"{name} needs a value for {', '.join(required)} (its parameters, in order: {names})."
        if not missing:
            return body, None
        request["data"] = data + [p.default for p in missing]
        return json.dumps(request).encode(), None

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
        body, refused = self.checked(call[1], params, b"".join(chunks))
        if refused:
            reply = json.dumps({"detail": refused}).encode()
            await send({"type": "http.response.start", "status": 422,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(reply)).encode())]})
            return await send({"type": "http.response.body", "body": reply})
        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        scope = {**scope, "headers": [*headers, (b"content-length", str(len(body)).encode())]}
        sent = False

        async def replay():
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)
