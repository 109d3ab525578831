"""The address the audit trail records, with and without a trusted proxy in front."""

from django.test import RequestFactory

from ringround.audit.services import client_ip


def request(remote, forwarded=None):
    headers = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **headers)


def test_without_a_trusted_proxy_the_header_is_ignored(settings):
    settings.RINGROUND_TRUSTED_PROXIES = []
    assert client_ip(request("198.51.100.4", "203.0.113.7")) == "198.51.100.4"


def test_behind_a_trusted_proxy_the_forwarded_address_is_recorded(settings):
    settings.RINGROUND_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request("127.0.0.1", "203.0.113.7")) == "203.0.113.7"


def test_an_address_a_client_wrote_before_the_proxy_is_not_believed(settings):
    settings.RINGROUND_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request("127.0.0.1", "10.9.9.9, 203.0.113.7")) == "203.0.113.7"


def test_a_request_from_elsewhere_with_the_header_keeps_its_own_address(settings):
    settings.RINGROUND_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request("198.51.100.4", "203.0.113.7")) == "198.51.100.4"


def test_garbage_in_the_header_falls_back_to_the_proxy_address(settings):
    settings.RINGROUND_TRUSTED_PROXIES = ["127.0.0.1"]
    assert client_ip(request("127.0.0.1", "<script>")) == "127.0.0.1"
    assert client_ip(request("127.0.0.1", "")) == "127.0.0.1"
