"""Settings: one frozen dataclass, built from flags or the environment."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from activities.httpsig import SignatureScheme
from activities.order import TicketLimits
from mail.compose import MailError, check_address
from mail.transport import SmtpServer
from net.limits import authority_of

KINDS = ("blog", "events", "shop", "account")  # account: the members' sign-in (OpenID Connect provider)
PAYMENT_PROVIDERS = ("manual", "stripe", "sumup")  # `free` needs no setting: it takes every order priced 0


def parse_peers(value: str) -> dict[str, str]:
    """`blog=http://…,shop=http://…` → {kind: base URL}."""
    peers: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, url = part.partition("=")
        if not sep or not url.startswith(("http://", "https://")):
            raise ValueError(f"peer {part!r} (--peer or ROSE_ASH_PEERS) is not NAME=URL")
        peers[name.strip()] = url.strip().rstrip("/")
    return peers


def parse_clients(value: str) -> dict[str, str]:
    """`blog=SECRET,events=SECRET` → {client id: secret} (the account service's OpenID Connect clients)."""
    clients: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in value.split(","))):
        name, sep, secret = part.partition("=")
        if not sep or not name.strip() or not secret.strip():
            raise ValueError("ROSE_ASH_OIDC_CLIENTS must be NAME=SECRET pairs separated by commas")
        clients[name.strip()] = secret.strip()
    return clients


def trusted_actor(value: str) -> str:
    """A peer's base URL stands for its `/actor`; a URL with a path is an actor id as given (a Fedify or
    Mastodon actor lives at /users/NAME)."""
    url = value.strip().rstrip("/")
    return url if urlsplit(url).path else f"{url}/actor"


def _seconds(env: Mapping[str, str], name: str, default: float, unit: str = "seconds") -> float:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number of {unit}, not {raw!r}") from None
    if not 0 < value < float("inf"):
        raise ValueError(f"{name} must be a positive number of {unit}, not {raw!r}")
    return value


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {raw!r}")
    return int(raw)


def _first_knock(value: str) -> SignatureScheme:
    name = value.strip().lower()
    try:
        return SignatureScheme("draft-cavage" if name == "cavage" else name)
    except ValueError:
        raise ValueError(f"ROSE_ASH_FIRST_KNOCK must be rfc9421 or cavage, not {value!r}") from None


# A CSP source a widget page may be framed by: 'self', a scheme (https:), or a host with an optional scheme,
# `*.` wildcard, port and path; CSP's own grammar, less the forms (nonces, hashes) frame-ancestors ignores.
_ANCESTOR = re.compile(
    r"^(?:'self'|\*|[a-z][a-z0-9+.-]*:|(?:[a-z][a-z0-9+.-]*://)?(?:\*\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*"
    r"(?::(?:[0-9]{1,5}|\*))?(?:/[A-Za-z0-9._~!$&()*+=:@%/-]*)?)$",
    re.IGNORECASE,
)


def embed_ancestors(value: str) -> str:
    """The pages allowed to show the calendar widget in a frame, as CSP `frame-ancestors` sources
    (space-separated: `'self' https://example.org https://*.example.net`); `'none'` alone allows none."""
    sources = value.split()
    if sources == ["'none'"]:
        return "'none'"
    if "'none'" in sources:
        raise ValueError("ROSE_ASH_EMBED_ANCESTORS: 'none' allows no page to frame the widget, so it stands alone")
    bad = next((s for s in sources if not _ANCESTOR.match(s)), None)
    if not sources or bad is not None:
        shown = bad if bad is not None else value
        raise ValueError(
            "ROSE_ASH_EMBED_ANCESTORS must be CSP frame-ancestors sources separated by spaces, such as "
            f"'self' https://example.org, or 'none' alone; {shown!r} is not one"
        )
    return " ".join(sources)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class Settings:
    kind: str
    base_url: str
    database_url: str
    admin_token: str
    metrics_token: str = field(default="", repr=False)  # a bearer token for GET /metrics that opens nothing else
    peers: Mapping[str, str] = field(default_factory=dict)
    trusted: frozenset[str] = frozenset()  # actor ids whose Add/Offer are accepted at once
    allow_private: bool = False  # dev/test mode: fetch loopback and private addresses
    allowed_hosts: frozenset[str] = frozenset()
    inprocess_worker: bool = True
    retry_base: float = 30.0
    retry_horizon: float = 3 * 24 * 3600.0
    lease_seconds: float = 60.0
    worker_safety_poll: float = 30.0  # an idle delivery worker looks at the queue this often unwoken
    header_seconds: float = 10.0  # a client must send its request headers this fast
    body_seconds: float = 30.0  # … and its body
    max_connections_per_client: int = 1000
    db_pool_size: int = 10  # SQLite's readers; PostgreSQL keeps twice this many connections per process
    db_wait_seconds: float = 30.0  # a request waits this long for a PostgreSQL connection, then is told to retry
    inbox_retention: float = 7 * 24 * 3600.0  # seconds an accepted activity's body is kept (its id: for ever)
    manually_approves_followers: bool = False
    currency: str = "GBP"
    max_tickets_per_order: int = 10
    max_tickets_per_buyer: int = 10  # per event, counted by the buyer's email address
    hold_minutes: float = 15.0  # how long a priced order's tickets are held while the buyer pays
    waitlist_offer_minutes: float = 30.0  # how long seats freed for the next person on a waiting list are kept
    payment_provider: str = "manual"  # the shop's provider for priced orders (free orders need none)
    stripe_secret_key: str = field(default="", repr=False)
    stripe_publishable_key: str = ""
    stripe_webhook_secret: str = field(default="", repr=False)
    stripe_api_base: str = "https://api.stripe.com"
    stripe_js_url: str = "https://js.stripe.com/v3/"
    sumup_api_key: str = field(default="", repr=False)
    sumup_merchant_code: str = ""
    sumup_api_base: str = "https://api.sumup.com"
    first_knock: SignatureScheme = SignatureScheme.RFC9421  # the HTTP signature scheme tried first per origin
    seed: bool = True
    due_check_seconds: float = 60.0  # how often due work another process made (a scheduled post) is looked for
    media_dir: str = ""  # uploaded images; empty: beside a SQLite database, else ./data/media/<kind>
    max_upload_bytes: int = 10 * 1024 * 1024
    max_upload_pixels: int = 40_000_000  # a decompression bomb is refused before it is decoded
    embed_ancestors: str = "'self'"  # CSP frame-ancestors of the calendar widget pages (every other page: 'none')

    smtp_url: str = field(default="", repr=False)  # empty: mail is caught, readable at /admin/mail
    mail_from: str = ""  # the From address; empty: <kind>@<the base URL's host>
    mail_retention: float = 30 * 24 * 3600.0  # seconds a sent email's content and addresses are kept
    ghost_url: str = ""  # the blog's old Ghost site: a Ghost import fetches its images from there
    admin_token_login: bool = True  # the admin token opens pages and the outbox; off: only members' sign-in does
    oidc_secret: str = field(default="", repr=False)  # this peer's client secret at the account service
    # the account service's clients: client id (a peer's kind) → its secret; redirect URIs come from `peers`
    oidc_clients: Mapping[str, str] = field(default_factory=dict, repr=False)
    introspection_cache: float = 30.0  # seconds the account service's answer about a member's token is kept

    @property
    def media_path(self) -> Path:
        if self.media_dir:
            return Path(self.media_dir)
        if self.database_url.startswith("sqlite") and ":memory:" not in self.database_url:
            return Path(self.database_url.split(":///", 1)[-1]).parent / f"{self.kind}-media"
        return Path("data") / "media" / self.kind

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"the kind (--kind or ROSE_ASH_KIND) must be one of {', '.join(KINDS)}")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("the base URL (--base-url or ROSE_ASH_BASE_URL) must start with http:// or https://")
        self.ticket_limits  # noqa: B018  (refuses limits out of range at start)
        if not 0 < self.hold_minutes <= 7 * 24 * 60:
            raise ValueError("ROSE_ASH_HOLD_MINUTES must be more than 0 and at most a week (10080)")
        if self.ghost_url and not self.ghost_url.startswith(("http://", "https://")):
            raise ValueError("ROSE_ASH_GHOST_URL (the old Ghost site) must start with http:// or https://")
        if not 0 < self.waitlist_offer_minutes <= 7 * 24 * 60:
            raise ValueError("ROSE_ASH_WAITLIST_OFFER_MINUTES must be more than 0 and at most a week (10080)")
        if self.payment_provider not in PAYMENT_PROVIDERS:
            names = ", ".join(PAYMENT_PROVIDERS)
            raise ValueError(f"ROSE_ASH_PAYMENT_PROVIDER must be one of {names}, not {self.payment_provider!r}")
        stripe_keys = (self.stripe_secret_key, self.stripe_publishable_key, self.stripe_webhook_secret)
        if self.payment_provider == "stripe" and not all(stripe_keys):
            raise ValueError(
                "the stripe provider needs ROSE_ASH_STRIPE_SECRET_KEY, ROSE_ASH_STRIPE_PUBLISHABLE_KEY and "
                "ROSE_ASH_STRIPE_WEBHOOK_SECRET"
            )
        if self.payment_provider == "sumup" and not (self.sumup_api_key and self.sumup_merchant_code):
            raise ValueError("the sumup provider needs ROSE_ASH_SUMUP_API_KEY and ROSE_ASH_SUMUP_MERCHANT_CODE")
        if not self.sumup_api_base.startswith(("http://", "https://")):
            raise ValueError("ROSE_ASH_SUMUP_API_BASE must start with http:// or https://")
        if self.first_knock not in tuple(SignatureScheme):
            schemes = ", ".join(SignatureScheme)
            raise ValueError(f"ROSE_ASH_FIRST_KNOCK must be one of {schemes}, not {self.first_knock!r}")
        embed_ancestors(self.embed_ancestors)  # refuses a source CSP does not know, at start
        if self.smtp_url:
            SmtpServer.from_url(self.smtp_url)  # refuses a malformed URL at start, without repeating it
        try:
            check_address(parseaddr(self.sender_address)[1])
        except MailError:
            raise ValueError(f"ROSE_ASH_MAIL_FROM must be an email address, not {self.mail_from!r}") from None
        if len(self.admin_token) < 8:
            raise ValueError("the admin token (--admin-token or ROSE_ASH_ADMIN_TOKEN) must be at least 8 characters")
        if self.oidc_secret and len(self.oidc_secret) < 32:
            raise ValueError("ROSE_ASH_OIDC_SECRET (this peer's client secret) must be at least 32 characters")
        short = next((name for name, secret in self.oidc_clients.items() if len(secret) < 32), None)
        if short is not None:
            raise ValueError(f"ROSE_ASH_OIDC_CLIENTS: the secret of {short} must be at least 32 characters")
        if self.introspection_cache > 30:
            raise ValueError("ROSE_ASH_INTROSPECTION_CACHE must be at most 30 seconds (a revoked token stops soon)")
        if self.metrics_token and len(self.metrics_token) < 16:
            raise ValueError("ROSE_ASH_METRICS_TOKEN must be at least 16 characters (or unset)")

    @property
    def sender_address(self) -> str:
        """ROSE_ASH_MAIL_FROM ("Blog <blog@example.org>" or a bare address), else `<kind>@<base URL's host>`."""
        host = urlsplit(self.base_url).hostname or "localhost"
        return self.mail_from or f"{self.kind}@{host if '.' in host else host + '.localdomain'}"

    @property
    def ticket_limits(self) -> TicketLimits:
        try:
            return TicketLimits(self.max_tickets_per_order, self.max_tickets_per_buyer)
        except ValueError as exc:
            raise ValueError(f"ROSE_ASH_MAX_TICKETS_PER_ORDER / _PER_BUYER: {exc}") from None

    @property
    def peer_authorities(self) -> frozenset[str]:
        """The cooperating peers' `host:port`: their traffic is never queued behind strangers'."""
        return frozenset(authority_of(url) for url in self.peers.values())

    @property
    def trusted_actors(self) -> frozenset[str]:
        return self.trusted or frozenset(f"{url}/actor" for url in self.peers.values())

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if env is None else env
        kind = str(overrides.pop("kind", None) or env.get("ROSE_ASH_KIND", ""))
        data_dir = Path(env.get("ROSE_ASH_DATA_DIR", "data"))
        values: dict[str, object] = {
            "kind": kind,
            "base_url": env.get("ROSE_ASH_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
            "database_url": env.get("DATABASE_URL") or f"sqlite:///{data_dir / (kind + '.db')}",
            "admin_token": env.get("ROSE_ASH_ADMIN_TOKEN", ""),
            "metrics_token": env.get("ROSE_ASH_METRICS_TOKEN", "").strip(),
            "peers": parse_peers(env.get("ROSE_ASH_PEERS", "")),
            "trusted": frozenset(trusted_actor(t) for t in env.get("ROSE_ASH_TRUSTED", "").split(",") if t.strip()),
            "allow_private": _flag(env.get("ROSE_ASH_ALLOW_PRIVATE")),
            "allowed_hosts": frozenset(
                h.strip().lower() for h in env.get("ROSE_ASH_ALLOWED_HOSTS", "").split(",") if h.strip()
            ),
            "inprocess_worker": env.get("ROSE_ASH_INPROCESS_WORKER", "1") != "0",
            "retry_base": _seconds(env, "ROSE_ASH_RETRY_BASE", 30.0),
            "retry_horizon": _seconds(env, "ROSE_ASH_RETRY_HORIZON", 3 * 24 * 3600.0),
            "lease_seconds": _seconds(env, "ROSE_ASH_LEASE_SECONDS", 60.0),
            "worker_safety_poll": _seconds(env, "ROSE_ASH_WORKER_SAFETY_POLL", 30.0),
            "header_seconds": _seconds(env, "ROSE_ASH_HEADER_SECONDS", 10.0),
            "body_seconds": _seconds(env, "ROSE_ASH_BODY_SECONDS", 30.0),
            "max_connections_per_client": _count(env, "ROSE_ASH_MAX_CONNECTIONS_PER_CLIENT", 1000),
            "db_pool_size": _count(env, "ROSE_ASH_DB_POOL_SIZE", 10),
            "db_wait_seconds": _seconds(env, "ROSE_ASH_DB_WAIT_SECONDS", 30.0),
            "inbox_retention": _seconds(env, "ROSE_ASH_INBOX_RETENTION", 7 * 24 * 3600.0),
            "manually_approves_followers": _flag(env.get("ROSE_ASH_MANUAL_FOLLOWERS")),
            "currency": env.get("ROSE_ASH_CURRENCY", "GBP"),
            "max_tickets_per_order": _count(env, "ROSE_ASH_MAX_TICKETS_PER_ORDER", 10),
            "max_tickets_per_buyer": _count(env, "ROSE_ASH_MAX_TICKETS_PER_BUYER", 10),
            "hold_minutes": _seconds(env, "ROSE_ASH_HOLD_MINUTES", 15.0, "minutes"),
            "waitlist_offer_minutes": _seconds(env, "ROSE_ASH_WAITLIST_OFFER_MINUTES", 30.0, "minutes"),
            "payment_provider": env.get("ROSE_ASH_PAYMENT_PROVIDER", "manual").strip().lower(),
            "stripe_secret_key": env.get("ROSE_ASH_STRIPE_SECRET_KEY", ""),
            "stripe_publishable_key": env.get("ROSE_ASH_STRIPE_PUBLISHABLE_KEY", ""),
            "stripe_webhook_secret": env.get("ROSE_ASH_STRIPE_WEBHOOK_SECRET", ""),
            "stripe_api_base": env.get("ROSE_ASH_STRIPE_API_BASE", "https://api.stripe.com").rstrip("/"),
            "stripe_js_url": env.get("ROSE_ASH_STRIPE_JS_URL", "https://js.stripe.com/v3/"),
            "sumup_api_key": env.get("ROSE_ASH_SUMUP_API_KEY", "").strip(),
            "sumup_merchant_code": env.get("ROSE_ASH_SUMUP_MERCHANT_CODE", "").strip(),
            "sumup_api_base": env.get("ROSE_ASH_SUMUP_API_BASE", "https://api.sumup.com").strip().rstrip("/"),
            "first_knock": _first_knock(env.get("ROSE_ASH_FIRST_KNOCK", "rfc9421")),
            "due_check_seconds": _seconds(env, "ROSE_ASH_DUE_CHECK_SECONDS", 60.0),
            "media_dir": env.get("ROSE_ASH_MEDIA_DIR") or str(data_dir / "media" / kind),
            "max_upload_bytes": _count(env, "ROSE_ASH_MAX_UPLOAD_BYTES", 10 * 1024 * 1024),
            "max_upload_pixels": _count(env, "ROSE_ASH_MAX_UPLOAD_PIXELS", 40_000_000),
            "embed_ancestors": embed_ancestors(env.get("ROSE_ASH_EMBED_ANCESTORS", "").strip() or "'self'"),
            "smtp_url": env.get("ROSE_ASH_SMTP_URL", "").strip(),
            "mail_from": env.get("ROSE_ASH_MAIL_FROM", "").strip(),
            "mail_retention": _seconds(env, "ROSE_ASH_MAIL_RETENTION", 30 * 24 * 3600.0),
            "ghost_url": env.get("ROSE_ASH_GHOST_URL", "").strip().rstrip("/"),
            "admin_token_login": env.get("ROSE_ASH_ADMIN_TOKEN_LOGIN", "on").strip().lower()
            not in ("0", "off", "no", "false"),
            "oidc_secret": env.get("ROSE_ASH_OIDC_SECRET", "").strip(),
            "oidc_clients": parse_clients(env.get("ROSE_ASH_OIDC_CLIENTS", "")),
            "introspection_cache": _seconds(env, "ROSE_ASH_INTROSPECTION_CACHE", 30.0),
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
