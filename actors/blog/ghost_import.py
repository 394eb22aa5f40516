"""Importing a Ghost export into the blog, all of it in one transaction (a broken file changes nothing).

- Published posts keep their slug and their `published_at`, and are public on the blog and in its feeds, in
  date order. They are **not announced**: no `Create` goes to followers and no newsletter is sent, since they
  are old news to everyone who followed the Ghost site. Drafts stay drafts; a scheduled post stays scheduled
  and is published (and announced) at its time, like any scheduled post; one whose time has passed becomes a
  draft. Pages become the blog's static pages (Ghost's draft pages are skipped: the blog's pages are public).
- Posts visible only to Ghost's members, and email-only newsletters, are skipped: the blog has no members.
- Tags become the blog's tags (Ghost's internal `#tags` are left out).
- Images (the feature image first, then those in the text) are fetched from the old site (`__GHOST_URL__` is
  its address) through the media pipeline; one that cannot be had is listed in the report and becomes a link
  to its old address (the blog shows only its own images), for the editor to replace.
- A slug the blog already uses gets the next free one (`welcome-2`), said in the report.
- Importing again skips what was imported before, recognised by the Ghost post's uuid, so running it twice
  duplicates nothing (and does not overwrite edits made since)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from activities.build import iso
from activities.errors import ActivityError
from activities.markdown import render_markdown
from activities.text import plain, slugify
from actors import audit
from actors.blog import drafts
from actors.blog.drafts import PostInput
from actors.blog.ghost_content import image_refs, link_instead, replace_ref, resolve, source_of
from actors.blog.ghost_export import GhostExport, GhostPost, parse_export
from actors.blog.ghost_images import fetch_all
from actors.blog.posts import post_id
from actors.blog.site_pages import page_document, page_id
from actors.blog.tags import MAX_TAGS, parse_tags
from actors.context import Services
from media.errors import MediaError
from media.library import Stored, attachment, described
from store import collections, objects
from store.models import ScheduledPublication


@dataclass
class ImportReport:
    posts: int = 0
    pages: int = 0
    drafts: int = 0
    scheduled: int = 0
    images: int = 0
    tags: set[str] = field(default_factory=set)
    already: int = 0  # imported by an earlier run
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (title, why)
    notes: list[tuple[str, str]] = field(default_factory=list)  # (title, what changed on the way)
    missing_images: list[tuple[str, str, str]] = field(default_factory=list)  # (title, address, why)

    def summary(self) -> str:
        return (
            f"Imported {_n(self.posts, 'published post')}, {_n(self.drafts, 'draft')}, "
            f"{_n(self.scheduled, 'scheduled post')}, {_n(self.pages, 'page')}, {_n(len(self.tags), 'tag')} and "
            f"{_n(self.images, 'image')}; {self.already} imported before; {len(self.skipped)} skipped; "
            f"{_n(len(self.missing_images), 'image')} missing."
        )

    def lines(self) -> list[str]:
        out = [self.summary()]
        out += [f"Skipped “{title}”: {why}." for title, why in self.skipped]
        out += [f"“{title}”: {what}." for title, what in self.notes]
        out += [f"Image missing in “{title}”: {url}: {why}." for title, url, why in self.missing_images]
        return out


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def imports_of(services: Services) -> str:
    """The Ghost posts imported so far: item = the Ghost uuid, data = the object it became."""
    return services.actor.url("imports/ghost")


def _tags(post: GhostPost, report: ImportReport) -> list[str]:
    names: dict[str, str] = {}
    for tag in post.tags:
        try:
            for name in parse_tags(tag):
                names.setdefault(name.casefold(), name)
        except ActivityError as exc:
            report.notes.append((post.title, f"the tag “{tag[:40]}” is left out: {exc.reason}"))
    if len(names) > MAX_TAGS:
        report.notes.append((post.title, f"only its first {MAX_TAGS} tags are kept"))
    return list(names.values())[:MAX_TAGS]


def _skip_reason(post: GhostPost) -> str | None:
    if post.visibility != "public":
        who = {"paid": "paying members", "tiers": "members of some tiers"}.get(post.visibility, "members")
        return f"it is for Ghost's {who} only, and the blog has no members-only posts"
    if post.status == "sent":
        return "it is an email-only newsletter, never published on the Ghost site"
    if post.page and post.status != "published":
        return "it is an unpublished page, and the blog's pages are all public"
    return None


@dataclass(frozen=True)
class _Plan:
    post: GhostPost
    source: str
    tags: list[str]
    images: list[tuple[str, str, str | None, str]]  # (reference, alt, address to fetch or None, why none)


def _plan(post: GhostPost, old_site: str, report: ImportReport) -> _Plan | None:
    """What the post becomes, checked before anything is fetched or written; None (and why) if it is skipped."""
    why = _skip_reason(post)
    source = source_of(post)
    if why is None and source is None:
        why = "the export holds no text for it (neither html, a Markdown card nor plaintext)"
    if why is None and source is not None:
        try:
            plain(post.title, "title", 200)
            render_markdown(source, "")
        except ActivityError as exc:
            why = exc.reason
    if why is not None or source is None:
        report.skipped.append((post.title, why or ""))
        return None
    images = [(ref, alt, *resolve(ref, old_site)) for ref, alt in image_refs(source)]
    return _Plan(post, source, [] if post.page else _tags(post, report), images)


def _plans(posts: list[GhostPost], old_site: str, report: ImportReport) -> list[_Plan]:
    return [plan for post in posts if (plan := _plan(post, old_site, report)) is not None]


async def _with_images(
    session: AsyncSession,
    services: Services,
    plan: _Plan,
    fetched: dict[str, Stored | str],
    stored: dict[str, str],
    report: ImportReport,
) -> str:
    """The source with each image it could fetch in the media library pointing at our copy."""
    source = plan.source
    for ref, alt, url, why in plan.images:
        if url is None:
            report.missing_images.append((plan.post.title, ref, why))
            continue
        if url not in stored:
            got = fetched.get(url, "it was not fetched")
            if isinstance(got, str):
                report.missing_images.append((plan.post.title, url, got))
                source = link_instead(source, ref, url)
                continue
            try:
                description = described(alt or plan.post.title)
            except MediaError:
                description = described(plan.post.title)
            row = await services.media.record(session, services.actor.name, got, description, services.clock())
            stored[url] = attachment(row, services.actor.base_url)["url"]
            report.images += 1
        source = replace_ref(source, ref, stored[url])
    return source


async def _free_page_slug(session: AsyncSession, services: Services, wanted: str) -> str:
    slug, n = wanted, 1
    while await objects.get(session, page_id(services, slug)) is not None:
        n += 1
        slug = f"{wanted}-{n}"
    return slug


async def _write(session: AsyncSession, services: Services, plan: _Plan, source: str, report: ImportReport) -> str:
    post, now = plan.post, services.clock()
    wanted = slugify(post.slug)
    published = post.published_at or post.updated_at or now
    if post.page:
        slug = await _free_page_slug(session, services, wanted)
        updated = iso(post.updated_at) if post.updated_at and post.updated_at > published + 60 else None
        doc = page_document(services, page_id(services, slug), post.title, source, iso(published), updated)
        await objects.put(session, doc, actor=services.actor.name, now=published)
        report.pages += 1
    else:
        slug = await drafts.free_slug(session, services, wanted)
        object_id = post_id(services, slug)
        post_input = PostInput(post.title, source, plan.tags)
        if post.status == "published":
            updated = iso(post.updated_at) if post.updated_at and post.updated_at > published + 60 else None
            doc = await drafts.document(session, services, object_id, post_input, iso(published), updated)
            await objects.put(session, doc, actor=services.actor.name, now=published)
            await collections.add(session, services.actor.url("posts"), object_id, published)
            report.posts += 1
        else:
            doc = await drafts.document(session, services, object_id, post_input, None, None)
            await objects.put(session, doc, actor=services.actor.name, now=post.updated_at or now, public=False)
            if post.status == "scheduled" and post.published_at and post.published_at > now:
                session.add(
                    ScheduledPublication(
                        object_id=object_id, actor=services.actor.name, due_at=post.published_at, created_at=now
                    )
                )
                services.after_commit_ring(session, services.due_work)
                report.scheduled += 1
            else:
                if post.status == "scheduled":
                    report.notes.append((post.title, "its scheduled time has passed, so it is kept as a draft"))
                report.drafts += 1
        report.tags.update(t.casefold() for t in plan.tags)
    if slug != wanted:
        where = "pages" if post.page else "posts"
        report.notes.append((post.title, f"the address /{where}/{wanted} was taken, so it is at /{where}/{slug}"))
    return page_id(services, slug) if post.page else post_id(services, slug)


async def _imported(session: AsyncSession, services: Services, export: GhostExport) -> set[str]:
    return {p.key for p in export.posts if await collections.contains(session, imports_of(services), p.key)}


async def import_ghost(
    services: Services, raw: bytes, old_site: str = "", by: Mapping[str, Any] | None = None
) -> ImportReport:
    """Import the export in `raw`; NotAGhostExport (nothing changed) when it is not one. `old_site` is the
    Ghost site's address, where its images are fetched from; `by`, the session of the editor importing it, for
    the audit log."""
    export = await asyncio.to_thread(parse_export, raw)  # a large export takes a while: not on the event loop
    old_site = old_site.strip().rstrip("/")
    report = ImportReport()
    async with services.store.read() as session:
        done = await _imported(session, services, export)
    report.already = sum(1 for post in export.posts if post.key in done)
    fresh = [post for post in export.posts if post.key not in done]
    plans = await asyncio.to_thread(_plans, fresh, old_site, report)
    urls = [url for plan in plans for _, _, url, _ in plan.images if url is not None]
    fetched = await fetch_all(services.fetcher.client, urls, services.media) if urls else {}
    stored: dict[str, str] = {}
    async with services.store.write() as session:
        for plan in plans:
            if await collections.contains(session, imports_of(services), plan.post.key):
                report.already += 1  # another import ran meanwhile
                continue
            source = await _with_images(session, services, plan, fetched, stored, report)
            object_id = await _write(session, services, plan, source, report)
            await collections.add(session, imports_of(services), plan.post.key, services.clock(), {"object": object_id})
        if by is not None and report.posts + report.drafts + report.scheduled + report.pages:
            await audit.record(
                session, by, "ghost import", old_site or "a Ghost export", services.clock(), report.summary()
            )
    return report
