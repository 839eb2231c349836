#!/usr/bin/env python3
"""Publish to a sluice hub from Python, standard library only.

    HUB_URL=http://localhost:8080 SLUICE_PUBLISH_KEY=... python3 publish.py news '{"title": "hi"}'
"""
import json
import os
import sys
import urllib.error
import urllib.request


def publish(topic, data, event=None, store=True):
    body = {"topic": topic, "data": data, "store": store}
    if event is not None:
        body["event"] = event
    request = urllib.request.Request(
        os.environ.get("HUB_URL", "http://localhost:8080") + "/publish",
        data=json.dumps(body).encode(),
        headers={
            "authorization": "Bearer " + os.environ["SLUICE_PUBLISH_KEY"],
            "content-type": "application/json",
        },
        method="POST",
    )
    # A refusal raises urllib.error.HTTPError; its body is a problem+json saying why.
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["id"]


if __name__ == "__main__":
    try:
        print(publish(sys.argv[1], json.loads(sys.argv[2])))
    except urllib.error.HTTPError as error:
        sys.exit(f"{error.code}: {error.read().decode()}")
