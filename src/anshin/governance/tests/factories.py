"""Rows of every retained kind, dated as the test needs, and staff with permissions."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from anshin.alerts.models import Alert, Category
from anshin.conftest import staff_login
from anshin.delivery.models import Bounce, Delivery, Message, Notification, SendState
from anshin.residents.models import Subscriber


def days_ago(days: float) -> datetime:
    return timezone.now() - timedelta(days=days)


def alert_message(subscriber: Subscriber, category: Category, *, age: float, state: str) -> Message:
    alert = Alert.objects.create(
        category=category, subject="訓練", body="本文", created_via=Alert.Via.CLI
    )
    delivery = Delivery.objects.create(alert=alert)
    Delivery.objects.filter(pk=delivery.pk).update(created_at=days_ago(age))
    finished = days_ago(age) if state not in (SendState.QUEUED, SendState.SENDING) else None
    return Message.objects.create(
        delivery=delivery, subscriber=subscriber, state=state, finished_at=finished
    )


def notification(subscriber: Subscriber, *, age: float, kind: str = "confirm") -> Notification:
    note = Notification.objects.create(
        subscriber=subscriber, kind=kind, state=SendState.ACCEPTED, finished_at=days_ago(age)
    )
    Notification.objects.filter(pk=note.pk).update(created_at=days_ago(age))
    return note


def bounce(message: Message, *, age: float) -> Bounce:
    return Bounce.objects.create(
        address_hash=message.subscriber.email_hash,
        kind=Bounce.Kind.SOFT,
        status="4.2.2",
        received_at=days_ago(age),
        message=message,
    )


def subscriber_dated(subscriber: Subscriber, **fields: datetime) -> Subscriber:
    Subscriber.objects.filter(pk=subscriber.pk).update(**fields)
    subscriber.refresh_from_db()
    return subscriber


def staff_user(username: str, *perms: str) -> User:
    """A staff account holding the given permissions (codenames, e.g. "approve_disclosure")."""
    user = User.objects.create_user(username, password="clerk-passphrase-12345")
    for codename in perms:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return User.objects.get(pk=user.pk)  # a fresh instance: no stale permission cache


def client_for(user: User) -> Client:
    client = Client()
    staff_login(client, user)
    return client
