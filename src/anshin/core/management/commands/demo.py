from __future__ import annotations

import os
import secrets
import sys
from base64 import b32encode
from typing import Any

import segno
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from anshin.core.audit import OPERATOR
from anshin.core.otp import confirmed_totp
from anshin.core.otp_services import TOTP_NAME, backup_codes_replace, display_code
from anshin.core.roles import ROLES, role_grant
from anshin.core.supervise import Supervisor

DEMO_USER = "demo"
DEMO_BACKUP_CODES_SHOWN = 3


class Command(BaseCommand):
    help = (
        "Everything on one machine with no configuration: database under ANSHIN_HOME, web, "
        "worker, scheduler and a built-in mail catcher. Ctrl-C stops it all."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--catcher-port", type=int, default=1025, help="SMTP port of the mail catcher"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        password = self._demo_staff_password()
        second = _demo_second_factor()
        os.environ["ANSHIN_DEMO"] = "1"
        catcher = "ANSHIN_SMTP_URL" not in os.environ
        supervisor = Supervisor()
        if catcher:
            port = str(options["catcher_port"])
            os.environ["ANSHIN_SMTP_URL"] = f"smtp://127.0.0.1:{port}"
            supervisor.start("catcher", "catcher", "--port", port)
        supervisor.start("web", "web", "--host", options["host"], "--port", str(options["port"]))
        supervisor.start(
            "alerts-worker",
            "worker",
            "--queues",
            "alerts",
            "--concurrency",
            "1",
            "--loglevel",
            "WARNING",
        )
        supervisor.start("worker", "worker", "--concurrency", "2", "--loglevel", "WARNING")
        supervisor.start("scheduler", "scheduler")
        self._banner(options, password, catcher, second)
        code = supervisor.run()
        self.stdout.write("anshin demo stopped / 停止しました")
        sys.exit(code)

    def _demo_staff_password(self) -> str:
        """A fresh password on every start, so a demo left running is not open to a known one."""
        password = secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(
            username=DEMO_USER, defaults={"is_staff": True}
        )
        user.set_password(password)
        user.is_staff = True
        user.save()
        for role in ROLES.values():  # the demo shows every page
            role_grant(user=user, role=role, actor=OPERATOR)
        return password

    def _second_factor_banner(self, second: tuple[str, str, list[str]]) -> None:
        """What a person needs to add the demo account to an authenticator app."""
        uri, secret, codes = second
        lines = [
            "  Two-step sign-in / 二段階認証 (TOTP):",
            "      add to an authenticator app / 認証アプリに登録:",
            f"      {uri}",
            f"      key / キー: {secret}",
            "      backup codes (one use each) / バックアップコード (各1回):",
            *(f"        {display_code(c)}" for c in codes[:DEMO_BACKUP_CODES_SHOWN]),
            "",
        ]
        self.stdout.write("\n".join(lines))
        self.stdout.flush()
        segno.make(uri, error="m").terminal(out=sys.stdout, compact=True)
        sys.stdout.flush()

    def _banner(
        self,
        options: dict[str, Any],
        password: str,
        catcher: bool,
        second: tuple[str, str, list[str]],
    ) -> None:
        url = f"http://{options['host']}:{options['port']}"
        lines = [
            "",
            "anshin demo is running / デモを起動しました",
            f"  Resident registration / 市民登録:  {url}/subscribe/",
            f"  Staff console / 職員コンソール:     {url}/console/",
            f"      user: {DEMO_USER}   password: {password}",
            f"  Data folder: {settings.HOME}",
        ]
        if catcher:
            lines.append(
                f"  Mail is caught, not sent: see {url}/console/mailbox/ "
                f"(SMTP 127.0.0.1:{options['catcher_port']})"
            )
        self.stdout.write("\n".join(lines))
        self._second_factor_banner(second)
        self.stdout.write("  Press Ctrl-C to stop. / Ctrl-C で停止します。\n")
        self.stdout.flush()


def _demo_second_factor() -> tuple[str, str, list[str]]:
    """The demo account keeps its authenticator across restarts (a phone need not re-scan);
    its backup codes are new on each start, like its password."""
    user = get_user_model().objects.get(username=DEMO_USER)
    device = confirmed_totp(user)
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=True)
    codes = backup_codes_replace(user=user, actor=OPERATOR)
    secret = b32encode(device.bin_key).decode()
    return device.config_url, secret, codes
