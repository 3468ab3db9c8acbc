"""Shared helpers for the private-index tests (``BASTION_READ_ACCESS=authenticated``)."""

import base64

import pytest

from bastion import authz
from bastion.tokens import reads
from bastion.tokens.services import create_token
from bastion.web import read_access


def basic(username: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def private_index(settings, fresh_rate_limits):
    """A private index with empty verdict caches and rate limits, before and after the test."""
    settings.READ_ACCESS = read_access.AUTHENTICATED
    reads.forget_verdicts()
    read_access.forget_sessions()
    yield settings
    reads.forget_verdicts()
    read_access.forget_sessions()


@pytest.fixture
def read_token(alice) -> str:
    """Alice's read-only token, as a CI job or a laptop would hold it."""
    return create_token(actor=authz.Actor(alice), name="laptop", read_only=True).secret


@pytest.fixture
def upload_token(alice) -> str:
    return create_token(actor=authz.Actor(alice), name="uploads").secret
