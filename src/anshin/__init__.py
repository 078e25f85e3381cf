"""anshin (安心): crime-prevention and disaster alert mail for a Japanese municipality."""

from anshin.core.celery_app import app as celery_app

__all__ = ["celery_app"]
