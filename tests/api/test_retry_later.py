"""A database that cannot take a request *now* (a standby still read-only while it is promoted,
a transaction a lost connection left aborted, a server shutting down) answers 503 with
Retry-After, so the phone retries with the same key; any other database error stays an error."""

import psycopg
import pytest
from django.db import DatabaseError, IntegrityError, InternalError

from ringround.api.errors import database_unavailable, refusal_response


def _wrapped(django_error, psycopg_error):
    try:
        try:
            raise psycopg_error("from the server")
        except psycopg.Error as cause:
            raise django_error(str(cause)) from cause
    except DatabaseError as exc:
        return exc


@pytest.mark.parametrize(
    "django_error, psycopg_error",
    [
        (InternalError, psycopg.errors.ReadOnlySqlTransaction),
        (InternalError, psycopg.errors.InFailedSqlTransaction),
        (DatabaseError, psycopg.errors.AdminShutdown),
        (DatabaseError, psycopg.errors.CannotConnectNow),
    ],
)
def test_not_now_is_503_with_retry_after(django_error, psycopg_error):
    exc = _wrapped(django_error, psycopg_error)
    assert database_unavailable(exc)
    response = refusal_response(exc)
    assert response.status_code == 503 and response["Retry-After"]


@pytest.mark.parametrize(
    "django_error, psycopg_error",
    [
        (IntegrityError, psycopg.errors.UniqueViolation),
        (InternalError, psycopg.errors.InternalError_),
    ],
)
def test_other_database_errors_are_not_retried(django_error, psycopg_error):
    assert not database_unavailable(_wrapped(django_error, psycopg_error))
