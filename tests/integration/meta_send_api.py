#!/usr/bin/python3
"""Test stand-in for Meta's Send API (Graph API POST /{version}/{page}/messages),
on loopback: records each request (path, Authorization, JSON body) as one
JSON line in --log and answers as Meta documents, {"recipient_id": PSID,
"message_id": "m_..."}; a request without the expected bearer token gets
Meta's OAuthException shape with 401.

  meta_send_api.py --port P --log FILE --token TOKEN --ready FILE
"""
import argparse
import http.server
import itertools
import json

counter = itertools.count(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def answer(self, status, obj):
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            n = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(n)
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            rec = {"path": self.path, "authorization": self.headers.get("Authorization", ""),
                   "content_type": self.headers.get("Content-Type", ""), "body": body}
            with open(a.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
            if rec["authorization"] != "Bearer " + a.token:
                self.answer(401, {"error": {"message": "Invalid OAuth access token.",
                                            "type": "OAuthException", "code": 190}})
                return
            psid = (body or {}).get("recipient", {}).get("id", "")
            self.answer(200, {"recipient_id": psid, "message_id": "m_test_%d" % next(counter)})

    srv = http.server.HTTPServer(("127.0.0.1", a.port), Handler)
    with open(a.ready, "w") as f:
        f.write("ready\n")
    srv.serve_forever()


if __name__ == "__main__":
    main()
