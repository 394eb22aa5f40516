"""A post written in the editor, with an uploaded image and tags, as Fedify reads it: the `Image` attachment
and the `Hashtag`s survive JSON-LD processing (no term dropped) with their fields."""

from __future__ import annotations

import pytest

from tests.interop.conftest import Rose
from tests.interop.fedify import FedifyPeer
from tests.media import images

pytestmark = pytest.mark.interop


def test_fedify_reads_the_posts_image_and_hashtags(fedify: FedifyPeer, rose: Rose) -> None:
    admin = rose.admin("blog")
    uploaded = admin.client.post(
        "/media",
        data={"csrf": admin.csrf, "alt": "The hall, lit"},
        files={"file": ("hall.jpg", images.photo("JPEG", (1000, 750), gps=True), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    image = uploaded.json()
    written = admin.client.post(
        "/posts",
        data={
            "csrf": admin.csrf,
            "title": "Interop with pictures",
            "body": f"**Doors** at seven.\n\n![The hall, lit]({image['url']})",
            "tags": "interop, live music",
            "action": "publish",
        },
    )
    assert written.status_code == 303, written.text[:300]
    url = rose.blog.url + written.headers["location"]

    got = fedify.lookup(url)
    assert got["ok"], got.get("error")
    assert got["dropped"] == [], got["dropped"]
    # Fedify's own serialization of the object it parsed: what its typed vocabulary kept
    node = got["json_ld"]
    images_seen = node["attachment"] if isinstance(node["attachment"], list) else [node["attachment"]]
    assert images_seen == [
        {
            "type": "Image",
            "mediaType": "image/jpeg",
            "url": image["url"],
            "width": 1000,
            "height": 750,
            "name": "The hall, lit",
        }
    ]
    assert sorted((t["type"], t["name"], t["href"]) for t in node["tag"]) == [
        ("Hashtag", "#interop", f"{rose.blog.url}/tags/interop"),
        ("Hashtag", "#liveMusic", f"{rose.blog.url}/tags/livemusic"),
    ]
