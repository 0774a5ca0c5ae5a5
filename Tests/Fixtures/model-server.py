#!/usr/bin/env python3
"""A scripted stand-in for the model APIs the real agent CLIs call (tests only).

Speaks what Claude Code and Codex send, over plain HTTP on one port:
  POST /v1/messages[?beta=true]   Anthropic Messages API, streaming SSE
                                  (message_start ... message_stop) or JSON
  POST /v1/messages/count_tokens  a token count
  POST /v1/responses              OpenAI Responses API, streaming SSE
                                  (response.created ... response.completed)
  GET  /v1/models                 a model list (both shapes in one answer)
Anything else: 404 with a JSON error (a WebSocket upgrade on /v1/responses
included, so Codex falls back to HTTP). Every request is appended, as one JSON
line, to the log (--log): method, path, headers, body, which rule and step
answered it.

The script (--script, JSON) says what to answer:
  {"rules": [{"match": "TEXT", "steps": [STEP, ...]}, ...],
   "default": [STEP, ...]}
A request that offers tools is matched against the last user prompt (the last
user message that is not a tool result): the first rule whose "match" occurs
in it answers. Its step is the number of assistant turns since that prompt,
so a rule plays a tool call, sees the tool's result come back, and goes on;
after the last step it repeats the last one. Requests without tools (titles,
summaries, quota checks) and unmatched prompts get "default" (a short text).
STEP is one of
  {"text": "..."}                  an answer that ends the turn
  {"shell": "command line"}        a call of the CLI's shell tool
  either with "delay": seconds     wait before answering (stopped early when
                                   the client goes away: an interrupt); a
                                   text step streams "Working on it. " first
                                   unless it has "quiet": true

Usage: model-server.py --script FILE --log FILE --port-file FILE [--host H]
The port (chosen by the kernel) is written to --port-file once listening.
"""
import argparse
import json
import os
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG_LOCK = threading.Lock()
DEFAULT_STEPS = [{"text": "ok"}]


def load_script(path):
    with open(path, encoding="utf-8") as f:
        script = json.load(f)
    script.setdefault("rules", [])
    script.setdefault("default", DEFAULT_STEPS)
    return script


def text_of(content):
    """All text in a message content (a string or a list of blocks)."""
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if isinstance(block, dict):
            for key in ("text", "input_text", "output_text"):
                if isinstance(block.get(key), str):
                    parts.append(block[key])
    return "\n".join(parts)


def anthropic_turn(body):
    """(prompt text, assistant turns since it) for a Messages request."""
    messages = body.get("messages") or []
    prompt_index = None
    for i, message in enumerate(messages):
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, list) and any(isinstance(b, dict) and b.get("type") == "tool_result" for b in content):
            continue
        prompt_index = i
    if prompt_index is None:
        return "", 0
    after = messages[prompt_index + 1:]
    return text_of(messages[prompt_index].get("content")), sum(1 for m in after if m.get("role") == "assistant")


def openai_turn(body):
    """(prompt text, assistant outputs since it) for a Responses request."""
    items = body.get("input") or []
    if isinstance(items, str):
        return items, 0
    prompt_index = None
    for i, item in enumerate(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            prompt_index = i
    if prompt_index is None:
        return "", 0
    after = items[prompt_index + 1:]
    outputs = sum(
        1 for item in after
        if item.get("type") in ("function_call", "custom_tool_call", "local_shell_call")
        or (item.get("type", "message") == "message" and item.get("role") == "assistant"))
    return text_of(items[prompt_index].get("content")), outputs


def choose(script, prompt, step, has_tools):
    if has_tools:
        for index, rule in enumerate(script["rules"]):
            if rule.get("match", "") in prompt:
                steps = rule.get("steps") or DEFAULT_STEPS
                return f"rule{index}", min(step, len(steps) - 1), steps[min(step, len(steps) - 1)]
    steps = script["default"] or DEFAULT_STEPS
    return "default", 0, steps[min(step, len(steps) - 1)]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "scion-test-model-server"

    def log_message(self, format, *args):  # quiet; the JSON log has it all
        pass

    # --- plumbing ---------------------------------------------------------

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("Content-Encoding") == "zstd" or self.headers.get("Content-Encoding") == "gzip":
            if self.headers.get("Content-Encoding") == "gzip":
                import gzip
                raw = gzip.decompress(raw)
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return {"_unparsed": raw.decode("utf-8", "replace")}

    def record(self, body, **extra):
        entry = {
            "time": time.time(), "method": self.command, "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body,
        }
        entry.update(extra)
        with LOG_LOCK, open(self.server.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def send_json(self, status, value):
        data = json.dumps(value).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def start_sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True

    def event(self, name, data):
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def wait(self, seconds):
        """Sleeps, but returns False as soon as the client has gone away."""
        deadline = time.time() + seconds
        self.connection.setblocking(False)
        try:
            while time.time() < deadline:
                try:
                    if self.connection.recv(1, socket.MSG_PEEK) == b"":
                        return False
                except BlockingIOError:
                    pass
                except OSError:
                    return False
                time.sleep(0.1)
        finally:
            self.connection.setblocking(True)
        return True

    # --- routes -----------------------------------------------------------

    def do_GET(self):
        path = self.path.split("?")[0]
        self.record(None)
        if path.endswith("/models"):
            models = [{"id": m, "type": "model", "object": "model", "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
                      for m in ("claude-sonnet-4-5", "gpt-5-codex")]
            self.send_json(200, {"data": models, "object": "list", "models": [], "has_more": False})
        else:
            self.send_json(404, {"error": {"type": "not_found_error", "message": f"no route {path}"}})

    def do_POST(self):
        path = self.path.split("?")[0]
        body = self.read_body() or {}
        if path.endswith("/messages/count_tokens"):
            self.record(body)
            self.send_json(200, {"input_tokens": 100})
        elif path.endswith("/messages"):
            self.anthropic(body)
        elif path.endswith("/responses"):
            self.openai(body)
        else:
            self.record(body)
            self.send_json(404, {"error": {"type": "not_found_error", "message": f"no route {path}"}})

    def anthropic(self, body):
        prompt, turns = anthropic_turn(body)
        rule, step_index, step = choose(self.server.script(), prompt, turns, bool(body.get("tools")))
        self.record(body, api="anthropic", rule=rule, step=step_index)
        model = body.get("model", "claude-test")
        message_id = "msg_" + uuid.uuid4().hex[:20]
        if "shell" in step:
            block = {"type": "tool_use", "id": "toolu_" + uuid.uuid4().hex[:20], "name": "Bash",
                     "input": {"command": step["shell"], "description": "scripted command"}}
            stop = "tool_use"
        else:
            block = {"type": "text", "text": step.get("text", "ok")}
            stop = "end_turn"
        usage = {"input_tokens": 100, "output_tokens": 10, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        if not body.get("stream"):
            self.send_json(200, {"id": message_id, "type": "message", "role": "assistant", "model": model,
                                 "content": [block], "stop_reason": stop, "stop_sequence": None, "usage": usage})
            return
        self.start_sse()
        self.event("message_start", {"type": "message_start", "message": {
            "id": message_id, "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": dict(usage, output_tokens=1)}})
        self.event("ping", {"type": "ping"})
        delay = float(step.get("delay") or 0)
        # A long turn that has begun to answer: a first piece, then the wait;
        # "quiet" waits with nothing streamed (an interrupt before any text).
        early = delay and block["type"] == "text" and not step.get("quiet")
        if early:
            self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": "Working on it. "}})
            if not self.wait(delay):
                return
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": block["text"]}})
        elif delay and not self.wait(delay):
            return
        if early:
            pass  # streamed above
        elif block["type"] == "tool_use":
            self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": dict(block, input={})})
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {
                "type": "input_json_delta", "partial_json": json.dumps(block["input"])}})
        else:
            self.event("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})
            self.event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                               "delta": {"type": "text_delta", "text": block["text"]}})
        self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
        self.event("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                                     "usage": {"output_tokens": 10}})
        self.event("message_stop", {"type": "message_stop"})

    def openai(self, body):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.record(body, api="openai-websocket")
            self.send_json(404, {"error": {"message": "no websocket here"}})
            return
        prompt, turns = openai_turn(body)
        tools = body.get("tools") or []
        rule, step_index, step = choose(self.server.script(), prompt, turns, bool(tools))
        self.record(body, api="openai", rule=rule, step=step_index)
        response_id = "resp_" + uuid.uuid4().hex[:20]
        if "shell" in step:
            names = {t.get("name") for t in tools if isinstance(t, dict)}
            call_id = "call_" + uuid.uuid4().hex[:20]
            if "exec_command" in names:
                arguments = {"cmd": step["shell"]}
                name = "exec_command"
            elif "shell_command" in names:
                arguments = {"command": step["shell"]}
                name = "shell_command"
            else:
                arguments = {"command": ["bash", "-lc", step["shell"]]}
                name = "shell"
            item = {"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:20], "call_id": call_id,
                    "name": name, "arguments": json.dumps(arguments), "status": "completed"}
        else:
            item = {"type": "message", "role": "assistant", "id": "msg_" + uuid.uuid4().hex[:20], "status": "completed",
                    "content": [{"type": "output_text", "text": step.get("text", "ok"), "annotations": []}]}
        self.start_sse()
        self.event("response.created", {"type": "response.created", "response": {"id": response_id, "status": "in_progress"}})
        delay = float(step.get("delay") or 0)
        self.event("response.output_item.added", {"type": "response.output_item.added", "output_index": 0,
                                                  "item": dict(item, content=[]) if item["type"] == "message" else item})
        if delay and item["type"] == "message" and not step.get("quiet"):
            # A long turn that has begun to answer: a first piece, then the wait.
            self.event("response.output_text.delta", {"type": "response.output_text.delta", "output_index": 0,
                                                      "content_index": 0, "item_id": item["id"], "delta": "Working on it. "})
        if delay and not self.wait(delay):
            return
        if item["type"] == "message":
            self.event("response.output_text.delta", {"type": "response.output_text.delta", "output_index": 0,
                                                      "content_index": 0, "item_id": item["id"],
                                                      "delta": item["content"][0]["text"]})
        self.event("response.output_item.done", {"type": "response.output_item.done", "output_index": 0, "item": item})
        self.event("response.completed", {"type": "response.completed", "response": {
            "id": response_id, "status": "completed", "output": [item],
            "usage": {"input_tokens": 100, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 10,
                      "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 110}}})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, script_path, log_path):
        super().__init__(address, Handler)
        self.script_path = script_path
        self.log_path = log_path

    def script(self):
        # Read on every request, so a test can change the script mid-run.
        return load_script(self.script_path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--script", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--port-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    load_script(args.script)  # fail early on a bad script
    server = Server((args.host, 0), args.script, args.log)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
