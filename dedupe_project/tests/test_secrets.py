from __future__ import annotations

import io
import logging

import pytest
from django.urls import reverse

from dedupe_project import crypto
from dedupe_project.logging import build_logging_config, register_secret
from dedupe_project.models import Configuration

pytestmark = pytest.mark.django_db

TOKEN = "0123456789abcdef0123456789abcdef01234567"


def test_token_saved_through_the_api_is_encrypted_at_rest_and_never_returned(auth_client):
    response = auth_client.patch(
        "/api/config", data={"paperless_token": TOKEN}, content_type="application/json"
    )
    assert response.status_code == 200
    assert TOKEN not in response.content.decode()
    assert response.json()["paperless_token_hint"].endswith(TOKEN[-4:])
    stored = Configuration.objects.values_list("paperless_token_encrypted", flat=True).get()
    assert TOKEN not in stored and stored
    assert Configuration.objects.get_solo().get_secret("paperless_token") == TOKEN
    page = auth_client.get(reverse("connection")).content.decode()
    assert TOKEN not in page and TOKEN[-4:] in page


def test_secret_unreadable_after_secret_key_changes(settings):
    config = Configuration.objects.get_solo()
    config.set_secret("openai_api_key", "sk-test-abcdefghijklmnopqrstuvwx")
    config.save()
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    with pytest.raises(crypto.SecretUnreadable, match="DEDUPE_SECRET_KEY changed"):
        Configuration.objects.get_solo().get_secret("openai_api_key")
    assert Configuration.objects.get_solo().secret_hint("openai_api_key").startswith("unreadable")


def test_fernet_key_is_derived_not_padded(settings):
    settings.SECRET_KEY = "short"
    token = crypto.encrypt("value")
    assert crypto.decrypt(token) == "value"
    settings.SECRET_KEY = "short\x00"  # a padded key must not decrypt the same data
    with pytest.raises(crypto.SecretUnreadable):
        crypto.decrypt(token)


def _formatted(fmt: str, message: str, *args: object) -> str:
    config = build_logging_config(level="INFO", fmt=fmt)
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"]["structured"]
    )
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger = logging.getLogger("test.masking")
    logger.addHandler(handler)
    try:
        logger.warning(message, *args)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.parametrize("fmt", ["json", "console"])
def test_stored_secret_is_masked_in_logs(auth_client, fmt):
    auth_client.patch(
        "/api/config", data={"paperless_token": TOKEN}, content_type="application/json"
    )
    out = _formatted(fmt, "calling paperless with %s", TOKEN)
    assert TOKEN not in out
    assert "***" in out


def test_credential_patterns_are_masked_even_when_not_registered():
    out = _formatted(
        "json",
        "headers Authorization: Token abcdefabcdef12345 and key sk-proj-ABCDEFGHIJKLMNOPQRSTU "
        "and url ?password=hunter22",
    )
    for secret in ("abcdefabcdef12345", "sk-proj-ABCDEFGHIJKLMNOPQRSTU", "hunter22"):
        assert secret not in out


def test_registered_secret_masked_inside_exception_text():
    register_secret("very-secret-value-42")
    config = build_logging_config(level="INFO", fmt="json")
    formatter = logging.config.DictConfigurator(config).configure_formatter(
        config["formatters"]["structured"]
    )
    try:
        raise RuntimeError("failed with very-secret-value-42")
    except RuntimeError:
        record = logging.getLogger("x").makeRecord(
            "x", logging.ERROR, __file__, 1, "boom", (), exc_info=__import__("sys").exc_info()
        )
    out = formatter.format(record)
    assert "very-secret-value-42" not in out
    assert "RuntimeError" in out
