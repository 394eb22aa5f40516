"""A Ghost post's body as the blog's stored source (Markdown), and the images it shows.

Ghost publishes HTML (rendered from its mobiledoc or lexical documents); markdownify turns it into Markdown the
editor can keep editing, which the blog renders and cleans with nh3 like any post. Ghost's cards become their
plain Markdown (an image card an image and its caption, a bookmark a link); embeds (iframes, scripts) are not
kept, as the blog publishes neither."""

from __future__ import annotations

import re
from typing import Any

from bs4 import BeautifulSoup
from markdownify import MarkdownConverter

from actors.blog.ghost_export import GhostPost

GHOST_URL = "__GHOST_URL__"
_DROPPED = ["script", "style", "iframe", "object", "embed", "form", "input", "button", "video", "audio", "svg"]
_LINKS = ("https://", "http://", "mailto:", "tel:", "/", "#", "__ghost_url__")
_LANGUAGE = re.compile(r"language-([\w+-]+)")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(\s*<?([^)\s>]+)")


def _language(pre: Any) -> str:
    """A code block's language, from the `language-…` class Ghost's code card puts on its `<code>`."""
    for element in (pre, pre.find("code")):
        classes = element.get("class") if element is not None else None
        for name in classes or []:
            found = _LANGUAGE.match(str(name))
            if found:
                return found.group(1)
    return ""


def to_markdown(html: str) -> str:
    soup = BeautifulSoup(html, "html.parser")
    for element in soup.find_all(_DROPPED):
        element.decompose()  # with what they hold: a script's text is not the post's
    for link in soup.find_all("a"):
        href = str(link.get("href") or "").strip().lower()
        if not href.startswith(_LINKS):
            link.unwrap()  # a javascript: or data: link keeps its words, not its target
    converter = MarkdownConverter(heading_style="ATX", bullets="-", code_language_callback=_language)
    text = converter.convert_soup(soup)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def source_of(post: GhostPost) -> str | None:
    """The post's Markdown, with its feature image first; None when the export holds no body for it."""
    if post.html:
        body = to_markdown(post.html)
    elif post.markdown:
        body = post.markdown.strip() + "\n"
    elif post.plaintext:
        body = "\n\n".join(p.strip() for p in post.plaintext.split("\n\n") if p.strip()) + "\n"
    elif post.feature_image:
        body = ""
    else:
        return None
    if post.feature_image:
        alt = (post.feature_image_alt or post.title).replace("]", "").replace("[", "")
        body = f"![{alt}]({post.feature_image})\n\n{body}"
    return body


def image_refs(source: str) -> list[tuple[str, str]]:
    """Each `(reference, alt text)` of an image in the source, in order, each reference once."""
    seen: dict[str, str] = {}
    for match in _IMAGE.finditer(source):
        seen.setdefault(match.group(2), match.group(1).strip())
    return list(seen.items())


def resolve(ref: str, old_site: str) -> tuple[str | None, str]:
    """The address to fetch an image from, or None with the reason it has none."""
    if ref.startswith(GHOST_URL):
        if not old_site:
            return None, "the old Ghost site's address was not given, so the image could not be fetched"
        return old_site + ref.removeprefix(GHOST_URL), ""
    if ref.startswith("/") and not ref.startswith("//"):
        if not old_site:
            return None, "a path on the old site, whose address was not given"
        return old_site + ref, ""
    if ref.startswith(("https://", "http://")):
        return ref, ""
    return None, "not a web address"


def replace_ref(source: str, ref: str, url: str) -> str:
    return source.replace(f"]({ref}", f"]({url}").replace(f"](<{ref}>", f"]({url}")


def link_instead(source: str, ref: str, url: str) -> str:
    """An image that could not be brought over becomes a link to where it was (the blog shows only its own
    images), so the text keeps its place and the editor sees what to replace."""
    pattern = re.compile(r"!(\[[^\]]*\]\(\s*)<?" + re.escape(ref) + r">?")
    return pattern.sub(lambda m: m.group(1) + url, source)
