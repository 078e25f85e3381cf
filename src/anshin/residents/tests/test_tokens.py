from __future__ import annotations

from dataclasses import dataclass

from django.core import signing

from anshin.residents.tokens import make_manage_token


@dataclass
class Owner:
    pk: int
    token_key: str


def test_manage_token_is_exactly_djangos_signer_output() -> None:
    owner = Owner(pk=12345, token_key="0123456789abcdef0123456789abcdef")
    signer = signing.Signer(salt="anshin.residents.manage")
    assert make_manage_token(owner) == signer.sign_object([owner.pk, owner.token_key])
    assert signer.unsign_object(make_manage_token(owner)) == [12345, owner.token_key]


def test_manage_token_never_contains_more_than_id_and_key() -> None:
    token = make_manage_token(Owner(pk=7, token_key="k" * 32))
    assert "@" not in token and len(token) < 100
