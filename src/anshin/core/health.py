"""Reachability of what anshin depends on: database, broker, SMTP relay. Used by /healthz
and by `anshin check`. Each probe returns None when fine, else a plain reason."""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from anshin.core.smtp import SmtpUrlError, check_reachable, parse_smtp_url


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        return f"database not reachable ({type(exc).__name__})"
    return None


def broker_problem() -> str | None:
    from anshin.core.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=3)
    except Exception as exc:
        return f"broker not reachable ({type(exc).__name__})"
    return None


def smtp_problem() -> str | None:
    try:
        config = parse_smtp_url(settings.SMTP_URL)
    except SmtpUrlError as exc:
        return str(exc)
    return check_reachable(config, timeout=3.0)


def status() -> dict[str, str | None]:
    return {"database": database_problem(), "broker": broker_problem(), "smtp": smtp_problem()}
