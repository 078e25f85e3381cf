"""The `anshin` command. Every verb is a Django management command, so Django's own verbs
pass through (`anshin migrate`, `anshin createsuperuser`)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "anshin.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["anshin", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
