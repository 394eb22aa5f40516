"""The account service: the cooperative's members, their roles and their one sign-in for every peer (the
OpenID Connect provider the blog, events and shop peers are clients of). It is a peer of its own, so it has an
actor (a `Service`), a store, a mail queue and pages like the others."""

from __future__ import annotations

from actors.account import introspection, personal_tokens, signin
from actors.account.dashboard import ROUTES as ACCOUNT_PAGE
from actors.account.deletion import ROUTES as DELETION
from actors.kind import Kind, KindSetup


def register(setup: KindSetup) -> None:
    setup.routes += signin.ROUTES
    setup.routes += personal_tokens.ROUTES + introspection.ROUTES
    setup.routes += ACCOUNT_PAGE + DELETION  # the account page and deleting the account


KIND = Kind(
    "account",
    "Service",
    "Account",
    "The cooperative's members: sign-up, sign-in for the blog, events and shop, roles and the account page.",
    register,
    nav=(("Account", "/account"),),
)
