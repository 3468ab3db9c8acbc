"""A client process that uploads many distributions at once: ``python -m tests.e2e.burst URL``.

Reads a JSON list of distributions (filename, content in base64, form fields) and a token on
stdin, posts them all in parallel, retries an upload the server was too busy to admit (503, as a
client honouring Retry-After would, but sooner), and prints each answer's status and reason as
JSON. It runs in its own process, like the real clients the end-to-end tests drive.
"""

import base64
import concurrent.futures
import json
import sys
import time

import requests

_BUSY_RETRIES = 200


def upload(url: str, token: str, dist: dict) -> dict:
    content = base64.b64decode(dist["content"])
    for _ in range(_BUSY_RETRIES):
        response = requests.post(
            url,
            data=dist["fields"],
            files={"content": (dist["filename"], content, "application/octet-stream")},
            auth=("__token__", token),
            timeout=60,
        )
        if response.status_code != 503:
            break
        time.sleep(0.05)
    return {"status": response.status_code, "reason": response.reason}


def main() -> None:
    url = sys.argv[1]
    request = json.load(sys.stdin)
    dists = request["dists"]
    with concurrent.futures.ThreadPoolExecutor(len(dists)) as pool:
        answers = list(pool.map(lambda dist: upload(url, request["token"], dist), dists))
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()
