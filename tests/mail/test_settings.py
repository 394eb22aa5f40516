"""The mail settings: a malformed SMTP URL or From address stops the peer at start with a sentence naming
the setting, and the SMTP password shows up in none of that nor in the settings' repr."""

from __future__ import annotations

import pytest

from peer.settings import Settings

ENV = {"ROSE_ASH_KIND": "blog", "ROSE_ASH_ADMIN_TOKEN": "a-long-admin-token", "ROSE_ASH_BASE_URL": "https://blog.example"}


def test_the_smtp_url_and_sender_come_from_the_environment_and_the_password_stays_hidden() -> None:
    settings = Settings.from_env(
        {**ENV, "ROSE_ASH_SMTP_URL": "smtp://mailer:pa55word@mail.example:587", "ROSE_ASH_MAIL_FROM": "Blog <news@blog.example>"}
    )
    assert settings.smtp_url == "smtp://mailer:pa55word@mail.example:587"
    assert settings.sender_address == "Blog <news@blog.example>"
    assert "pa55word" not in repr(settings)


def test_the_sender_defaults_to_the_kind_at_the_base_urls_host() -> None:
    assert Settings.from_env(ENV).sender_address == "blog@blog.example"
    local = Settings.from_env({**ENV, "ROSE_ASH_BASE_URL": "http://localhost:8001"})
    assert local.sender_address == "blog@localhost.localdomain" and local.smtp_url == ""


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROSE_ASH_SMTP_URL", "https://user:pa55word@mail.example"),
        ("ROSE_ASH_SMTP_URL", "smtp://user:pa55word@mail.example:port"),
        ("ROSE_ASH_MAIL_FROM", "not an address"),
    ],
)
def test_a_bad_mail_setting_is_refused_at_start_in_a_sentence(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name) as refused:
        Settings.from_env({**ENV, name: value})
    assert "pa55word" not in str(refused.value)
