"""A throwaway HTTP(S) SMS gateway for the delivery tests (run with /usr/bin/python3).

Listens on 127.0.0.1 at a free port and prints the port on the first line of stdout once it
accepts connections; exits when its stdin closes. Every request is recorded as JSON in
DIR/req-N.json: the path, whether its signature (webhook) or basic auth (Twilio) verified, and
the fields it carried.

POST /hook: a Standard Webhooks request, verified with the key in --secret-file.
POST /2010-04-01/Accounts/SID/Messages.json: a Twilio request, verified against --twilio-sid and
the token in --twilio-token-file.
Modes (--mode): ok; 500; 429 (with Retry-After: --retry-after); 400; slow (--delay seconds before
answering). --tls-cert/--tls-key serve HTTPS.
"""
import argparse
import base64
import hashlib
import hmac
import json
import os
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
LOCK = threading.Lock()
COUNT = [0]


def record(entry):
    with LOCK:
        COUNT[0] += 1
        base = os.path.join(ARGS.dir, "req-%d" % COUNT[0])
    with open(base + ".tmp", "w") as out:
        json.dump(entry, out)
    os.rename(base + ".tmp", base + ".json")


def verify_webhook(headers, body):
    with open(ARGS.secret_file, "rb") as f:
        key = f.read()
    msg_id = headers.get("webhook-id", "")
    stamp = headers.get("webhook-timestamp", "")
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    offered = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split(" ")
               if s.startswith("v1,")]
    fresh = stamp.isdigit() and abs(time.time() - int(stamp)) < 300
    return fresh and any(hmac.compare_digest(expected, s) for s in offered)


def verify_twilio(path, headers):
    with open(ARGS.twilio_token_file) as f:
        token = f.read().rstrip("\n")
    expected = "Basic " + base64.b64encode(("%s:%s" % (ARGS.twilio_sid, token)).encode()).decode()
    right_path = path == "/2010-04-01/Accounts/%s/Messages.json" % ARGS.twilio_sid
    return right_path and hmac.compare_digest(headers.get("Authorization", ""), expected)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        entry = {"path": self.path, "content_type": self.headers.get("Content-Type", ""),
                 "webhook_id": self.headers.get("webhook-id", "")}
        if self.path == "/hook":
            entry["kind"] = "webhook"
            entry["verified"] = verify_webhook(self.headers, body)
            try:
                entry["json"] = json.loads(body)
            except ValueError:
                entry["json"] = None
        else:
            entry["kind"] = "twilio"
            entry["verified"] = verify_twilio(self.path, self.headers)
            entry["form"] = {k: v for k, v in urllib.parse.parse_qsl(body.decode())}
        record(entry)
        if ARGS.mode == "slow":
            time.sleep(ARGS.delay)
        status, extra = 201, {}
        if not entry["verified"]:
            status = 401
        elif ARGS.mode == "500":
            status = 500
        elif ARGS.mode == "429":
            status, extra = 429, {"Retry-After": ARGS.retry_after}
        elif ARGS.mode == "400":
            status = 400
        reply = b'{"sid":"SM0"}'
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--mode", default="ok")
    p.add_argument("--delay", type=float, default=30)
    p.add_argument("--retry-after", default="7")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--secret-file")
    p.add_argument("--twilio-sid")
    p.add_argument("--twilio-token-file")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if ARGS.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(ARGS.tls_cert, ARGS.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)

    def watch_stdin():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch_stdin, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
