#!/usr/bin/env python3
"""The HTTPS portal of scripts/wine/test-open.sh: test infrastructure only.

Serves one launch descriptor (the JSON file given) as application/json at
/d on 127.0.0.1, on a port the system chooses, which it prints on stdout as
soon as it listens. Every request's method, path and query go to the log
file, one line each, so the test can tell whether trustlaunch fetched
(the ticket travels in the query). Any other path is a 404. It runs until
it is killed; the test bounds it with timeout(1).

  portal.py CERT KEY DESCRIPTOR LOG
"""
import http.server
import ssl
import sys


def main():
    cert, key, descriptor, log = sys.argv[1:]
    with open(descriptor, "rb") as f:
        body = f.read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            with open(log, "a") as f:
                f.write(f"GET {self.path}\n")
            if self.path.split("?")[0] != "/d":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass  # the request log above is the record; stderr stays quiet

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    print(srv.server_address[1], flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
