#!/usr/bin/env python3
"""Load test of the two boards on loopback: the workshop board and the agents' callback board.

Starts an Odoo server with ``--workers=2`` on a given database (``tools/dev odoo -d DB --workers=2
--http-port=P``, killed at the end), or takes the URL of a running one, logs CLIENTS clients in over
JSON-RPC (``/web/session/authenticate``, one session each) and has each of them open the workshop
board and the callback board in turn for DURATION seconds, with the calls the web client makes on
opening a grouped kanban (``auto_crm/tests/screens_common.py``: ``web_read_group``, the progress
bar's ``read_progress_bar``, one ``web_search_read`` per open column, folded columns skipped).
Then it prints, per screen: board opens, requests, throughput (req/s) and p50/p95 latency of a
whole board open and of one request.

Bounded in time (``--duration``, plus the server's start) and in count (``--max-requests``); Python
standard library only (no Odoo import). Every client logs in as ``--login``/``--password`` (default
admin/admin, the generated databases' administrator; give an advisor of the store to see the boards
as the advisors do: an advisor is also an agent and opens both boards).

    python3 benchmarks/load_board.py -d screens_10k --duration 60
    python3 benchmarks/load_board.py --url http://127.0.0.1:8069 -d screens_10k --login a --password b
"""

import argparse
import http.cookiejar
import importlib.util
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_spec = importlib.util.spec_from_file_location(
    "screens_common", os.path.join(REPO, "auto_crm", "tests", "screens_common.py")
)
screens = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(screens)


class RpcError(Exception):
    pass


class Session:
    """One browser: a cookie jar and JSON-RPC calls."""

    def __init__(self, url, db, timeout):
        self.url = url.rstrip("/")
        self.db = db
        self.timeout = timeout
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.context = {}
        self.uid = None

    def post(self, path, params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}).encode()
        request = urllib.request.Request(self.url + path, body, {"Content-Type": "application/json"})
        with self.opener.open(request, timeout=self.timeout) as response:
            answer = json.loads(response.read())
        if answer.get("error"):
            error = answer["error"]
            raise RpcError(error.get("data", {}).get("message") or error.get("message"))
        return answer["result"]

    def login(self, login, password):
        result = self.post("/web/session/authenticate", {"db": self.db, "login": login, "password": password})
        if not result or not result.get("uid"):
            raise RpcError(f"cannot log in as {login}")
        self.uid = result["uid"]
        company = result.get("user_companies", {}).get("current_company")
        self.context = dict(result.get("user_context", {}), allowed_company_ids=[company] if company else [])
        return result

    def call(self, model, method, *args, **kwargs):
        kwargs.setdefault("context", self.context)
        return self.post(
            f"/web/dataset/call_kw/{model}/{method}", {"model": model, "method": method, "args": args, "kwargs": kwargs}
        )


def open_board(session, board, domain, timings):
    """The web client's calls on opening a grouped kanban; appends each request's seconds."""

    def timed(method, *args, **kwargs):
        started = time.perf_counter()
        result = session.call(board["model"], method, *args, **kwargs)
        timings.append(time.perf_counter() - started)
        return result

    groups = timed(
        "web_read_group", domain, board["aggregates"], ["state"], orderby="", lazy=True, offset=0, limit=None
    )["groups"]
    if board["progress_bar"]:
        timed("read_progress_bar", domain=domain, group_by="state", progress_bar=board["progress_bar"])
    for group in groups:
        if group.get("__fold") or not group.get("state_count"):
            continue
        timed(
            "web_search_read",
            domain=group["__domain"],
            specification=board["spec"],
            offset=0,
            limit=board["limit"],
            order=board["order"],
            count_limit=10001,
        )


SCREENS = {
    "workshop board": (screens.VISIT_BOARD, lambda session: screens.on_board_domain()),
    "callback board": (screens.CALLBACK_BOARD, lambda session: screens.my_calls_today_domain(session.uid)),
}
#: --no-board-filter: the workshop board as it opened before its default filter (the whole history).
PLAIN_SCREENS = {**SCREENS, "workshop board": (screens.VISIT_BOARD, lambda session: [])}


def start_server(db, port, workers):
    command = [
        os.path.join(REPO, "tools", "dev"),
        "odoo",
        "-d",
        db,
        f"--workers={workers}",
        f"--http-port={port}",
        "--http-interface=127.0.0.1",
        "--max-cron-threads=0",
        "--log-level=warn",
        "--db-filter",
        f"^{db}$",
    ]
    log = open(os.environ.get("LOAD_BOARD_LOG", os.devnull), "ab")
    server = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/web/login", timeout=5):
                return server, url
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(1)
    stop_server(server)
    raise SystemExit("the server did not answer within 180 s")


def stop_server(server):
    if server and server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def percentile(values, fraction):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def run(args):
    boards = PLAIN_SCREENS if args.no_board_filter else SCREENS
    stats = {name: {"opens": [], "requests": [], "errors": 0} for name in boards}
    lock = threading.Lock()
    budget = {"left": args.max_requests}
    stop = threading.Event()
    sessions = []
    for _index in range(args.clients):
        session = Session(args.url, args.db, args.timeout)
        session.login(args.login, args.password)
        sessions.append(session)
    # One warm-up open of each board (the workers' caches), not counted.
    for board, domain in boards.values():
        open_board(sessions[0], board, domain(sessions[0]), [])

    def client(index, session):
        names = list(boards)
        turn = index  # half the clients start on each board
        while not stop.is_set():
            name = names[turn % len(names)]
            turn += 1
            board, domain = boards[name]
            timings = []
            started = time.perf_counter()
            try:
                open_board(session, board, domain(session), timings)
            except (RpcError, urllib.error.URLError, TimeoutError, ConnectionError) as error:
                with lock:
                    stats[name]["errors"] += 1
                    if stats[name]["errors"] <= 3:
                        print(f"client {index}, {name}: {error}", file=sys.stderr)
                continue
            elapsed = time.perf_counter() - started
            with lock:
                if stop.is_set():
                    break
                stats[name]["opens"].append(elapsed)
                stats[name]["requests"].extend(timings)
                budget["left"] -= len(timings)
                if budget["left"] <= 0:
                    stop.set()

    threads = [threading.Thread(target=client, args=(i, s), daemon=True) for i, s in enumerate(sessions)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    stop.wait(args.duration)
    stop.set()
    for thread in threads:
        thread.join(args.timeout + 5)
    elapsed = time.perf_counter() - started

    print(f"\n{args.clients} clients, {elapsed:.1f} s, database {args.db}, {args.url}")
    print(
        f"{'screen':16s} {'opens':>6s} {'requests':>9s} {'req/s':>7s} {'opens/s':>8s} "
        f"{'open p50':>9s} {'open p95':>9s} {'req p50':>8s} {'req p95':>8s} {'errors':>6s}"
    )
    for name, values in stats.items():
        opens, requests = values["opens"], values["requests"]
        print(
            f"{name:16s} {len(opens):6d} {len(requests):9d} {len(requests) / elapsed:7.1f} {len(opens) / elapsed:8.2f} "
            f"{percentile(opens, 0.5) * 1000:7.0f}ms {percentile(opens, 0.95) * 1000:7.0f}ms "
            f"{percentile(requests, 0.5) * 1000:6.0f}ms {percentile(requests, 0.95) * 1000:6.0f}ms "
            f"{values['errors']:6d}"
        )
    total = sum(len(values["requests"]) for values in stats.values())
    print(f"{'all':16s} {'':6s} {total:9d} {total / elapsed:7.1f}")
    return stats


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-d", "--db", required=True, help="the database (auto_crm installed)")
    parser.add_argument("--url", help="a running server (else one is started with --workers)")
    parser.add_argument("--port", type=int, default=8190, help="the port of the server started (default 8190)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    parser.add_argument("--max-requests", type=int, default=200000, help="stop after this many requests")
    parser.add_argument("--timeout", type=float, default=120, help="seconds before a request is given up")
    parser.add_argument("--login", default="admin")
    parser.add_argument("--password", default="admin")
    parser.add_argument(
        "--no-board-filter", action="store_true", help="open the workshop board on the whole history (as before)"
    )
    args = parser.parse_args()
    server = None
    try:
        if not args.url:
            server, args.url = start_server(args.db, args.port, args.workers)
        run(args)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
