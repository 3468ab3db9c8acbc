"""Sending the account mails: one template pair per message.

Each message lives in ``accounts/email/<name>.subject.txt`` and ``accounts/email/<name>.body.txt``.
Where mail goes is Django's ``EMAIL_BACKEND``: the file outbox in the data directory by default,
SMTP when ``BASTION_SMTP_URL`` is set (see settings). Mail caused by a request goes through the
task backend (:func:`send_later`); jobs that must know whether it went out send directly, and jobs
that mail thousands of people at once (the critical designation) render with :func:`render_each`
and send with :func:`deliver_each`. A failure to deliver is logged and never undoes the change the
mail reports.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from email.policy import Compat32

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.core.mail.message import forbid_multi_line_headers
from django.template.loader import render_to_string
from django_tasks import task

logger = logging.getLogger(__name__)

#: Mails sent over one connection before it is closed and the next one opened: one SMTP session
#: (or one outbox file) per hundred mails instead of one per mail, and few enough per session for
#: servers that limit them.
MAILS_PER_CONNECTION = 100

#: Stands where a per-mail value goes in a template rendered once for many mails; no template
#: contains it, and values are put in only after the rendered text is split at it.
_MARK = "\x00"


def render(name: str, context: dict | None = None) -> tuple[str, str]:
    """The subject (one line) and body of message ``name``."""
    context = {"base_url": settings.BASE_URL, **(context or {})}
    subject = " ".join(render_to_string(f"accounts/email/{name}.subject.txt", context).split())
    return subject, render_to_string(f"accounts/email/{name}.body.txt", context)


def _marked(context: Mapping) -> tuple[dict, dict[str, str]]:
    """The context with a marker in place of each string, and the strings by marker name.

    Lists keep their length and dicts their keys, so ``{% for %}`` and ``|length`` see the
    context's shape; only the strings, which the template must print as they are, are left out
    (empty ones stay, so ``{% if %}`` on one renders as it would).
    """
    marked: dict = {}
    values: dict[str, str] = {}

    def mark(value: object, path: str) -> object:
        if value == "":
            return value  # as it is, so that {% if %} sees it empty; the shape tells it apart
        if isinstance(value, str):
            values[path] = value
            return f"{_MARK}{path}{_MARK}"
        if isinstance(value, Mapping):
            return {key: mark(item, f"{path}.{key}") for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [mark(item, f"{path}.{index}") for index, item in enumerate(value)]
        raise TypeError(f"{path} is a {type(value).__name__}; give the mail its text instead")

    for key, value in context.items():
        marked[key] = mark(value, key)
    return marked, values


def _fill(pieces: list[str], values: dict[str, str]) -> str:
    """Text and marker names alternate in ``pieces``; put each name's value in its place."""
    filled = pieces[:]
    filled[1::2] = [values[name] for name in pieces[1::2]]
    return "".join(filled)


def render_each(name: str, contexts: Iterable[Mapping]) -> Iterator[tuple[str, str]]:
    """The subject and body of message ``name`` for each context, as :func:`render` gives them.

    Rendering a template costs about as much as the rest of sending a mail, and a job that mails
    thousands of people renders the same two templates thousands of times. Here each is rendered
    once per shape of context (the same keys, lists of the same lengths), with a marker for every
    string, and each mail is that text with its own strings put in. So a context holds only
    strings, lists and dicts of them, already formatted (dates as ISO strings), and the template
    prints each string as it is: no filter or tag may look at one (``|length`` of a list is
    fine). The first mail of each shape is also rendered in full and must come out the same, so a
    template that breaks this rule fails at once rather than sending wrong mail.
    """
    skeletons: dict[tuple[str, ...], tuple[list[str], list[str]]] = {}
    for context in contexts:
        marked, values = _marked(context)
        shape = tuple(values)
        if shape not in skeletons:
            subject, body = render(name, marked)
            skeletons[shape] = (subject.split(_MARK), body.split(_MARK))
            subject_pieces, body_pieces = skeletons[shape]
            filled = " ".join(_fill(subject_pieces, values).split()), _fill(body_pieces, values)
            if filled != render(name, dict(context)):
                raise ValueError(f"{name} changes a value it prints, so it is rendered per mail")
        subject_pieces, body_pieces = skeletons[shape]
        yield " ".join(_fill(subject_pieces, values).split()), _fill(body_pieces, values)


def _recipients(to: Iterable[str]) -> list[str]:
    return sorted({address.strip() for address in to if address})


#: Apart from lengths and whitespace, the characters the standard library's header folding
#: (``email.header.Header``, behind Django's subjects and the ``compat32`` policy) looks at: where
#: it may split (``;`` and ``,``), comments (``(``, ``)``, ``\\``) and an embedded header's colon.
#: Every other ASCII character maps to ``x``, so two values of the same shape fold alike.
_SHAPE = str.maketrans(
    {chr(c): "x" for c in range(128) if not chr(c).isspace() and chr(c) not in ";,()\\:"}
)
_BLANKS = re.compile(r"(\s+)")


def _unshape(folded: str, shape: str, value: str) -> str | None:
    """``folded`` (``shape``, the shape of ``value``, folded) with ``value``'s own non-blank
    characters put back in order; None if the counts differ, which folding that only moves
    whitespace cannot cause."""
    end = folded[len(shape) :]
    if folded.startswith(shape) and (not end or end.isspace()):
        return value + end  # not folded, only ended: the common case
    chars = "".join(value.split())
    pieces = _BLANKS.split(folded)
    at = 0
    for index in range(0, len(pieces), 2):
        size = len(pieces[index])
        pieces[index] = chars[at : at + size]
        at += size
    return "".join(pieces) if at == len(chars) else None


def _by_shape(fold, value: str, *key) -> str:
    """``fold(value, *key)``, with ``fold`` run once per shape of an ASCII value (it is cached):
    folding decides from lengths, whitespace and the characters kept in :data:`_SHAPE` only."""
    if value.isascii():
        shape = value.translate(_SHAPE)
        folded = _unshape(fold(shape, *key), shape, value)
        if folded is not None:
            return folded
    return fold(value, *key)


@functools.lru_cache(maxsize=1024)
def _subject(value: str, encoding: str) -> str:
    return forbid_multi_line_headers("Subject", value, encoding)[1]


@functools.lru_cache(maxsize=1024)
def _header_value(value: str, name: str, linesep: str, max_line_length: int | None) -> str:
    """What ``compat32`` writes after ``name: ``: the folded value and the line end."""
    policy = Compat32(linesep=linesep, max_line_length=max_line_length)
    return policy.fold_binary(name, value).decode("ascii", "surrogateescape")[len(name) + 2 :]


class _FoldByShape(Compat32):
    """The policy of Django's messages (``compat32``), folding once per shape of header value.

    Folding headers is most of the cost of writing a message out, and from one mail to the next
    the values repeat or keep their shape (a date to the second, addresses and names of the same
    length): the standard library folds each shape once and the mail's own characters are put
    back in. Only for ASCII values, where the folded text is the standard library's to the byte
    (``tests/accounts/test_mail.py`` compares the two on thousands of values).
    """

    def fold_binary(self, name: str, value: str) -> bytes:
        if not isinstance(value, str):
            return super().fold_binary(name, value)
        folded = _by_shape(_header_value, value, name, self.linesep, self.max_line_length)
        return f"{name}: {folded}".encode("ascii", "surrogateescape")


_FOLD_BY_SHAPE = _FoldByShape()


class _Message(EmailMessage):
    """Django's message with its subject and headers folded by shape: the same bytes, less work.

    Django folds the subject when the message is built and the policy folds it again when it is
    written; both go through :func:`_by_shape`.
    """

    def message(self):
        subject, self.subject = self.subject, ""
        try:
            message = super().message()
        finally:
            self.subject = subject
        encoding = self.encoding or settings.DEFAULT_CHARSET
        message.replace_header("Subject", _by_shape(_subject, str(subject), encoding))
        message.policy = _FOLD_BY_SHAPE
        return message


def deliver_each(mails: Iterable[tuple[str, str, Iterable[str]]]) -> Iterator[bool]:
    """Send each (subject, body, recipients) mail, one copy to each address, in order; yield
    whether it went out (False when it has no recipient).

    Mails share a connection, :data:`MAILS_PER_CONNECTION` at a time. A mail that fails is
    logged, its connection dropped, and the next mail opens a new one, so one refused address
    does not stop the others.
    """
    connection = None
    used = 0
    try:
        for subject, body, to in mails:
            recipients = _recipients(to)
            if not recipients:
                yield False
                continue
            messages = [_Message(subject=subject, body=body, to=[to]) for to in recipients]
            try:
                if connection is None:
                    connection = get_connection(fail_silently=False)
                    connection.open()
                    used = 0
                sent = connection.send_messages(messages) == len(messages)
            except OSError:
                logger.exception("Could not send '%s' to %d address(es)", subject, len(recipients))
                connection, broken = None, connection
                _close_quietly(broken)
                yield False
                continue
            used += 1
            if used == MAILS_PER_CONNECTION:
                connection, full = None, connection
                _close_quietly(full)
            yield sent
    finally:
        _close_quietly(connection)


def _close_quietly(connection) -> None:
    """Close a connection; the mails sent over it went out whether or not it closes cleanly
    (an SMTP server has accepted each one already), and it may be broken after a failure."""
    if connection is None:
        return
    try:
        connection.close()
    except OSError:
        logger.warning("Could not close the mail connection cleanly", exc_info=True)


def deliver(subject: str, body: str, recipients: list[str]) -> bool:
    """Send one copy to each address; False when nothing was sent."""
    [sent] = deliver_each([(subject, body, recipients)])
    return sent


@task()
def deliver_mail(subject: str, body: str, recipients: list[str]) -> bool:
    """The task behind :func:`send_later`; its arguments are plain strings, as a queue needs."""
    return deliver(subject, body, recipients)


def send(name: str, to: Iterable[str], context: dict | None = None) -> bool:
    """Render and send now; for jobs that record whether the mail went out."""
    return deliver(*render(name, context), _recipients(to))


def send_later(name: str, to: Iterable[str], context: dict | None = None) -> None:
    """Render now and hand delivery to the task backend, so a request never waits on SMTP.

    Rendering happens here because the context holds model instances; the task gets strings.
    """
    recipients = _recipients(to)
    if recipients:
        subject, body = render(name, context)
        deliver_mail.enqueue(subject, body, recipients)
