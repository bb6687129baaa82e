#!/usr/bin/env python3
"""A token service on 127.0.0.1 for benches/refresh.sh and benches/postgres.sh.

It rotates refresh tokens and revokes the login when a used one comes back
(reuse detection); a `password` grant (the `refresher` component's login)
issues a 1-second access token and resets the count of refresh requests,
which it writes to COUNT_FILE after each one.

    python3 benches/token_service.py PORT_FILE COUNT_FILE
"""
import http.server, json, sys, threading, urllib.parse
port_file, count_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()
state = {"n": 0, "refresh": None, "used": set(), "revoked": False, "refreshes": 0}
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args): pass
    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def issue(self, ttl):
        state["n"] += 1
        state["refresh"] = "r-%d" % state["n"]
        return {"access_token": "a-%d" % state["n"], "refresh_token": state["refresh"],
                "expires_in": ttl, "token_type": "Bearer"}
    def do_POST(self):
        form = urllib.parse.parse_qs(self.rfile.read(int(self.headers["content-length"])).decode())
        with lock:
            grant = form.get("grant_type", [""])[0]
            if grant == "password":
                # A login issues a 1-second access token (the benches wait
                # for it to expire); each login starts a new count.
                state["revoked"] = False
                state["refreshes"] = 0
                return self.answer(200, self.issue(1))
            state["refreshes"] += 1
            open(count_file, "w").write(str(state["refreshes"]))
            token = form.get("refresh_token", [""])[0]
            if state["revoked"] or token != state["refresh"]:
                if token in state["used"]:
                    state["revoked"] = True
                return self.answer(400, {"error": "invalid_grant"})
            state["used"].add(token)
            return self.answer(200, self.issue(3600))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
open(port_file, "w").write(str(server.server_address[1]))
server.serve_forever()
