"""The Celery application. Messages carry row ids only; the database is the truth.

Embedded default: kombu's filesystem:// transport under $ANSHIN_HOME/queue (no server);
operators set ANSHIN_BROKER_URL to Redis or RabbitMQ. Configuration is read lazily from the
CELERY_* names in anshin.settings.
"""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshin.settings")

app = Celery("anshin")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["anshin.delivery", "anshin.directory"])
