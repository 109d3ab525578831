"""The WSGI application hands an ordinary response over as one piece (and closes it, so
Django's end-of-request work still runs); a streaming response stays a stream."""

from django.core.signals import request_finished
from django.http import HttpResponse, StreamingHttpResponse

from ringround.wsgi import whole_bodies


def _app(response):
    def django_app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return response

    return whole_bodies(django_app)


def test_an_ordinary_response_is_one_piece_and_closed(db):
    finished = []

    def note(**kwargs):
        finished.append(True)

    request_finished.connect(note)
    try:
        body = _app(HttpResponse(b"hello " * 3))({}, lambda *args: None)
    finally:
        request_finished.disconnect(note)
    assert body == [b"hello hello hello "]
    assert finished == [True]


def test_a_streaming_response_stays_a_stream():
    chunks = (f"row {n}\n".encode() for n in range(3))
    response = StreamingHttpResponse(chunks)
    body = _app(response)({}, lambda *args: None)
    assert body is response
    assert b"".join(body) == b"row 0\nrow 1\nrow 2\n"
