"""Followers in a container of their own (deploy/docker-compose.ci.yml): `count` actors on one FakeServer,
each with its own inbox and no shared inbox, so a fan-out to them is one delivery per follower. Each signs a
Follow of the target actor at start (over https verified against SSL_CERT_FILE's CAs, as the peers do); the
server tells what it received.

    python -m tests.support.follower_farm --port 9000 --name followers --count 20 --follow http://events:8000/actor

GET /healthz answers 200 once every follower's Follow was accepted; GET /received lists every POST as
`{"inbox", "id", "type", "object"}` (the object's id when it is a document)."""

from __future__ import annotations

import argparse
import json
import threading
import time
from typing import Any

import httpx

from net.tls import client_context
from tests.support.actors import RemoteActor, key_pair
from tests.support.httpserver import FakeServer, Recorded, Reply

AS2 = "application/activity+json"


def received(server: FakeServer) -> list[dict[str, Any]]:
    out = []
    for post in server.posts():
        try:
            doc = post.json()
        except ValueError:
            doc = {}
        obj = doc.get("object") if isinstance(doc, dict) else None
        out.append(
            {
                "inbox": post.path,
                "id": doc.get("id") if isinstance(doc, dict) else None,
                "type": doc.get("type") if isinstance(doc, dict) else None,
                "object": obj.get("id") if isinstance(obj, dict) else obj,
            }
        )
    return out


def accepted(server: FakeServer, followers: list[RemoteActor]) -> bool:
    inboxes = {item["inbox"] for item in received(server) if item["type"] == "Accept"}
    return all(httpx.URL(f.inbox).path in inboxes for f in followers)


def follow_all(followers: list[RemoteActor], target: str) -> None:
    """Sign and send each Follow until the target's inbox takes it (it may still be starting)."""
    with httpx.Client(trust_env=False, timeout=10.0, verify=client_context()) as client:
        inbox = ""
        while not inbox:
            try:
                inbox = client.get(target, headers={"accept": AS2}).json()["inbox"]
            except (httpx.HTTPError, ValueError, KeyError):
                time.sleep(1.0)
        for follower in followers:
            follow = follower.activity("Follow", target, to=[target])
            while True:
                try:
                    if follower.post(client, inbox, follow).status_code < 300:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(1.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--name", default="followers", help="the host name the others reach this server by")
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--follow", default="http://events:8000/actor")
    args = parser.parse_args()

    server = FakeServer(bind="0.0.0.0", port=args.port, netloc=f"{args.name}:{args.port}")
    followers = [RemoteActor(server, f"f{n}", key_pair(n), shared_inbox=False) for n in range(args.count)]

    def gate(request: Recorded) -> Reply | None:
        if request.method != "GET" or request.path not in ("/healthz", "/received"):
            return None
        if request.path == "/received":
            return Reply(200, {"content-type": "application/json"}, json.dumps(received(server)).encode())
        return Reply(200 if accepted(server, followers) else 503)

    server.gate = gate
    threading.Thread(target=follow_all, args=(followers, args.follow), daemon=True).start()
    print(f"{args.count} followers at http://{server.netloc}/users/f0..; following {args.follow}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
