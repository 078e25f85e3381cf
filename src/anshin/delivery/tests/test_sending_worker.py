"""A worker process loads what sending needs and nothing a web page needs: its memory is
counted once per pool process, and the issue caps their sum (300 MB at a million
recipients)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

# What `anshin worker` does before its pool starts: Django set up, every task module
# imported, celery's Django fixup run (it ran Django's system checks, which import the whole
# URLconf); then what each pool process does as it starts (render.warm_up).
WORKER_START = """
import sys, django
django.setup()
from anshin.core.celery_app import app
app.loader.import_default_modules()
from celery.fixups.django import DjangoWorkerFixup
DjangoWorkerFixup(app).validate_models()
from anshin.delivery import render
render.warm_up()
assert "anshin.delivery.tasks" in sys.modules and "anshin.directory.tasks" in sys.modules
web_only = ("anshin.urls", "anshin.console.views", "anshin.api.api", "ninja", "apprise")
print(" ".join(name for name in web_only if name in sys.modules))
"""


def test_a_worker_loads_neither_the_urlconf_nor_the_web_only_libraries(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "ANSHIN_HOME": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "anshin.settings",
    }
    env.pop("CELERY_SKIP_CHECKS", None)  # the worker's own setting must do it
    result = subprocess.run(
        [sys.executable, "-c", WORKER_START],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == ""
