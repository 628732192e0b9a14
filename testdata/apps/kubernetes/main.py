"""The Kubernetes Python client: a Configuration and an ApiClient (no
cluster, nothing connects), then one real request on loopback to a fake API
server in this process (GET /version/)."""

import http.server
import json
import threading

from kubernetes import client

VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.0-fake",
    "gitCommit": "0",
    "gitTreeState": "clean",
    "buildDate": "2024-01-01T00:00:00Z",
    "goVersion": "go1.22",
    "compiler": "gc",
    "platform": "linux/amd64",
}


class Fake(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps(VERSION).encode() if self.path.rstrip("/") == "/version" else b"{}"
        self.send_response(200 if self.path.rstrip("/") == "/version" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


configuration = client.Configuration()
configuration.host = "https://127.0.0.1:6443"
api = client.ApiClient(configuration)
print(f"ApiClient built for {configuration.host}")

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Fake)
threading.Thread(target=server.serve_forever, daemon=True).start()
try:
    local = client.Configuration()
    local.host = f"http://127.0.0.1:{server.server_address[1]}"
    with client.ApiClient(local) as api_client:
        info = client.VersionApi(api_client).get_code()
    print(f"server version over loopback: {info.git_version}")
finally:
    server.shutdown()
