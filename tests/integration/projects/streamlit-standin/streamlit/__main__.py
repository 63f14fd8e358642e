"""Stand-in `python3 -m streamlit run ...` (see __init__.py): not Streamlit."""
import argparse
import http.server
import runpy
import sys

import streamlit


def main():
    parser = argparse.ArgumentParser(prog="streamlit (stand-in)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run")
    run.add_argument("script")
    run.add_argument("--server.address", dest="address", required=True)
    run.add_argument("--server.port", dest="port", type=int, required=True)
    run.add_argument("--server.headless", dest="headless", choices=["true", "false"], required=True)
    args = parser.parse_args()

    runpy.run_path(args.script, run_name="__main__")
    page = ("\n".join(streamlit._output) + "\n").encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = {"/": page, "/_stcore/health": b"ok"}.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"not found\n")

    print(f"stand-in streamlit serving {args.script} on {args.address}:{args.port}", flush=True)
    http.server.HTTPServer((args.address, args.port), Handler).serve_forever()


if __name__ == "__main__":
    sys.exit(main())
