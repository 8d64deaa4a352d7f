"""The connection page and /api/config/connection/test against the fake Paperless over HTTP."""

from __future__ import annotations

import http.server
import threading

import pytest
from django.urls import reverse

from dedupe_project.models import Configuration
from tests.fixtures import free_port

pytestmark = pytest.mark.django_db


def test_good_connection_shows_versions_and_count(auth_client, fake_paperless):
    fake_paperless.seed(documents=7)
    response = auth_client.post(
        reverse("connection"),
        {"url": fake_paperless.url, "token": fake_paperless.token, "test": "1"},
    )
    page = response.content.decode()
    assert "Connected to Paperless-NGX" in page
    assert "<dd>10</dd>" in page  # API version
    assert "<dd>7</dd>" in page  # documents


def test_test_and_save_stores_url_and_encrypted_token(auth_client, fake_paperless):
    response = auth_client.post(
        reverse("connection"),
        {"url": fake_paperless.url, "token": fake_paperless.token, "save": "1"},
    )
    assert response.status_code == 302
    config = Configuration.objects.get_solo()
    assert config.paperless_url == fake_paperless.url
    assert fake_paperless.token not in config.paperless_token_encrypted
    assert config.get_secret("paperless_token") == fake_paperless.token


def test_bad_token_is_explained_and_not_saved(auth_client, fake_paperless):
    response = auth_client.post(
        reverse("connection"), {"url": fake_paperless.url, "token": "wrong", "save": "1"}
    )
    page = response.content.decode()
    assert 'data-code="bad_token"' in page
    assert "token" in page.lower()
    assert Configuration.objects.get_solo().paperless_url == ""


def test_unreachable_server_is_explained(auth_client):
    url = f"http://127.0.0.1:{free_port()}"
    response = auth_client.post(
        reverse("connection"), {"url": url, "token": "x", "test": "1"}, HTTP_HX_REQUEST="true"
    )
    assert b"<html" not in response.content  # the HTMX partial only
    assert b'data-code="unreachable"' in response.content


class _NotPaperlessHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b"<html><body>My router</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_server_that_is_not_paperless_is_explained(auth_client):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotPaperlessHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        response = auth_client.post(reverse("connection"), {"url": url, "token": "x", "test": "1"})
    finally:
        server.shutdown()
    assert b'data-code="not_paperless"' in response.content


def test_metadata_address_is_refused(auth_client):
    response = auth_client.post(
        reverse("connection"), {"url": "http://169.254.169.254", "token": "x", "test": "1"}
    )
    assert b'data-code="invalid_url"' in response.content


def test_api_connection_test_reports_codes(auth_client, fake_paperless):
    ok = auth_client.post(
        "/api/config/connection/test",
        data={"url": fake_paperless.url, "token": fake_paperless.token},
        content_type="application/json",
    ).json()
    assert ok["ok"] is True and ok["api_version"] == 10
    bad = auth_client.post(
        "/api/config/connection/test",
        data={"url": fake_paperless.url, "token": "nope"},
        content_type="application/json",
    ).json()
    assert bad == {**bad, "ok": False, "code": "bad_token"}
    missing = auth_client.post(
        "/api/config/connection/test", data={}, content_type="application/json"
    ).json()
    assert missing["code"] == "not_configured"


def _self_signed_cert(tmp_path):
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_untrusted_tls_certificate_is_explained(auth_client, tmp_path):
    import ssl

    cert_file, key_file = _self_signed_cert(tmp_path)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotPaperlessHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}"
        response = auth_client.post(reverse("connection"), {"url": url, "token": "x", "test": "1"})
    finally:
        server.shutdown()
    assert b'data-code="tls_error"' in response.content
