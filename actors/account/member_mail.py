"""The emails the account service sends members, queued in the transaction that made their link (durable: the
mail worker sends them after the commit, never if it rolls back). Each is keyed by its cause, so a retried
transaction queues it once."""

from __future__ import annotations

import hashlib
import html

from sqlalchemy.ext.asyncio import AsyncSession

from actors.context import Services


def _key(kind: str, *parts: str) -> str:
    return f"account:{kind}:" + hashlib.sha256("\n".join(parts).encode()).hexdigest()


async def _send(
    db: AsyncSession,
    services: Services,
    to: str,
    subject: str,
    paragraphs: list[str],
    key: str,
    link: tuple[str, str] | None = None,
) -> None:
    text = "\n\n".join(paragraphs)
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    if link is not None:
        label, href = link
        text += f"\n\n{label}:\n{href}"
        body += f'<p><a href="{html.escape(href)}">{html.escape(label)}</a></p>'
    ending = f"— the account service of {services.actor.base_url}/"
    await services.mail.send(
        db, to=to, subject=subject, text=f"{text}\n\n{ending}\n", html=f"{body}<p>{html.escape(ending)}</p>", key=key
    )


async def verify(db: AsyncSession, services: Services, to: str, link: str) -> None:
    await _send(
        db,
        services,
        to,
        "Confirm your email address",
        [
            "Someone, probably you, made an account with this address. Confirm that it is yours (the link works "
            "for 48 hours, once).",
            "If it was not you, ignore this email.",
        ],
        _key("verify", link),
        ("Confirm my email address", link),
    )


async def signup_again(db: AsyncSession, services: Services, to: str, now: float) -> None:
    await _send(
        db,
        services,
        to,
        "Someone tried to sign up with your address",
        [
            "Someone, probably you, tried to make a new account with this address, but you have one already.",
            "Sign in with your password, or reset it if you have forgotten it. If it was not you, ignore this "
            "email: nothing changed.",
        ],
        _key("again", to, repr(now)),
        ("Sign in or reset your password", services.actor.url("signin")),
    )


async def reset(db: AsyncSession, services: Services, to: str, link: str) -> None:
    await _send(
        db,
        services,
        to,
        "Reset your password",
        [
            "Someone, probably you, asked to reset the password of your account. Choose a new one here (the link "
            "works for one hour, once; using it signs you out everywhere).",
            "If it was not you, ignore this email: your password stays as it is.",
        ],
        _key("reset", link),
        ("Choose a new password", link),
    )


async def new_address(db: AsyncSession, services: Services, to: str, link: str) -> None:
    await _send(
        db,
        services,
        to,
        "Confirm your new email address",
        [
            "You asked to use this address for your account. Confirm it here (the link works for 48 hours, once); "
            "until then your account keeps its old address.",
            "If it was not you, ignore this email.",
        ],
        _key("email", link),
        ("Confirm my new address", link),
    )


async def address_changing(db: AsyncSession, services: Services, to: str, new: str, cause: str) -> None:
    await _send(
        db,
        services,
        to,
        "Your account's email address is being changed",
        [
            f"Someone signed in to your account asked to change its address to {new}. It changes only once the "
            "link sent there is followed.",
            "If it was not you, sign in and change your password now.",
        ],
        _key("email-old", cause),
        ("Sign in", services.actor.url("signin")),
    )


async def invite(db: AsyncSession, services: Services, to: str, link: str, by: str) -> None:
    await _send(
        db,
        services,
        to,
        "You are invited to the cooperative's account service",
        [
            f"{by} invited you to become a member. Choose your name and a password here (the link works for "
            "7 days, once).",
            "If you do not want to, ignore this email.",
        ],
        _key("invite", link),
        ("Accept the invitation", link),
    )
