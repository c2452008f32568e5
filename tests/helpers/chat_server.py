"""A real OpenAI-compatible chat server on localhost, for tests of LLM clients.

The real openai client talks to it over TCP, so retries, Retry-After, timeouts and error
statuses go through the same code paths as with api.openai.com. `responder(received,
attempt)` decides each reply.
"""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

from PIL import Image

MODEL = "test-vision-model"


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict -> JSON, str -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    hang: bool = False  # never answer (until the test ends)


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON document the planner put in the user message."""
        parts = self.body["messages"][1]["content"]
        return json.loads(next(p["text"] for p in parts if p["type"] == "text"))

    @property
    def image(self) -> Image.Image:
        parts = self.body["messages"][1]["content"]
        url = next(p["image_url"]["url"] for p in parts if p["type"] == "image_url")
        assert url.startswith("data:image/png;base64,")
        return Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))

    @property
    def schema(self) -> dict[str, Any]:
        """The answer schema sent, with its $defs references resolved (pydantic names nested models)."""
        sent = self.body["response_format"]["json_schema"]["schema"]
        return inline_refs(sent, sent.get("$defs", {}))


def inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return inline_refs({**defs[node["$ref"].rsplit("/", 1)[-1]], **{k: v for k, v in node.items() if k != "$ref"}}, defs)
        return {k: inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [inline_refs(v, defs) for v in node]
    return node


class ChatServer:
    """A tiny OpenAI-compatible server: `responder(received, attempt)` decides each reply."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.responder: Callable[[Received, int], Reply] = lambda r, n: Reply(500)
        self.release = threading.Event()
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", 0))
                received = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(self.rfile.read(length)), time.monotonic())
                with server.lock:
                    server.received.append(received)
                    attempt = len(server.received)
                reply = server.responder(received, attempt)
                if reply.hang:
                    server.release.wait(10)
                    return
                body = reply.body if isinstance(reply.body, str) else json.dumps(reply.body or {"error": {"message": "failed"}})
                data = body.encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    pass  # the client gave up (timeout test)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def completion(content: str | None, refusal: str | None = None, finish_reason: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1700000000,
        "model": MODEL,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }
