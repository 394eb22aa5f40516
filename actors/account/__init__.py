"""The account service: the cooperative's members, their roles and their one sign-in for every peer (the
OpenID Connect provider the blog, events and shop peers are clients of). It is a peer of its own, so it has an
actor (a `Service`), a store, a mail queue and pages like the others."""

from __future__ import annotations

from actors.account import dashboard, deletion, introspection, member_admin, personal_tokens, profile, signin, signup
from actors.account.oidc_provider import Provider
from actors.kind import Kind, KindSetup


def register(setup: KindSetup) -> None:
    setup.routes += signin.ROUTES
    setup.routes += personal_tokens.ROUTES + introspection.ROUTES
    setup.routes += signup.ROUTES + profile.ROUTES + member_admin.ROUTES
    setup.routes += dashboard.ROUTES + deletion.ROUTES  # the account page and deleting the account
    setup.routes += Provider(setup.services).routes()


KIND = Kind(
    "account",
    "Service",
    "Account",
    "The cooperative's members: sign-up, sign-in for the blog, events and shop, roles and the account page.",
    register,
    nav=(("Account", "/account"),),
)
