"""The registry client against a stub server that loses the races two workers start together."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from wire.registry import RegistryClient, SchemaRegistryError


class _Stub:
    """Answers PUT /config and POST /versions from a script of (status, body) per path."""

    def __init__(self) -> None:
        self.level = "NONE"
        self.script: dict[tuple[str, str], list[tuple[int, dict[str, Any]]]] = {}
        self.calls: list[tuple[str, str]] = []

    def answer(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.calls.append((method, path.split("/")[1]))
        queued = self.script.get((method, path.split("/")[1]))
        if queued:
            return queued.pop(0)
        if method == "PUT":
            self.level = body["compatibility"]
            return 200, {"compatibility": self.level}
        if method == "GET":
            return 200, {"compatibilityLevel": self.level}
        return 200, {"id": 7}


@pytest.fixture
def stub() -> Iterator[tuple[_Stub, str]]:
    state = _Stub()

    class Handler(BaseHTTPRequestHandler):
        def _reply(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}")
            status, payload = state.answer(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = _reply

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


EXISTS = (409, {"message": "A rule named 'COMPATIBILITY' already exists."})
CASES = [
    # (what the racing worker left, PUT answers scripted, level expected, calls expected)
    ("no race", [], "BACKWARD", [("PUT", "config")]),
    (
        "the other worker set the same level",
        [EXISTS],
        "BACKWARD",
        [("PUT", "config"), ("GET", "config")],
    ),
    (
        "the other worker's rule is another level",
        [EXISTS],
        "FULL",
        [("PUT", "config"), ("GET", "config"), ("PUT", "config")],
    ),
]


@pytest.mark.parametrize(("race", "answers", "preset", "calls"), CASES, ids=[c[0] for c in CASES])
def test_set_compatibility_survives_a_concurrent_writer(
    stub: tuple[_Stub, str], race: str, answers: list[Any], preset: str, calls: list[Any]
) -> None:
    state, url = stub
    state.level = preset
    state.script[("PUT", "config")] = list(answers)
    RegistryClient(url).set_compatibility("t-value", "BACKWARD")
    assert state.calls == calls
    assert state.level == "BACKWARD"


def test_register_asks_again_after_a_conflict_and_still_refuses_an_incompatible_schema(
    stub: tuple[_Stub, str],
) -> None:
    state, url = stub
    state.script[("POST", "subjects")] = [(409, {"message": "exists"})]
    assert RegistryClient(url).register("t-value", '"string"') == 7
    state.script[("POST", "subjects")] = [(409, {"message": "incompatible"})] * 2
    with pytest.raises(SchemaRegistryError, match="HTTP 409 incompatible"):
        RegistryClient(url).register("u-value", '"string"')
