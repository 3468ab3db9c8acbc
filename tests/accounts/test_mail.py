"""Account mail: rendered from templates, sent to the outbox or through SMTP when configured."""

import random
import socketserver
import string
import threading
from datetime import date

import pytest
from django.core.mail import EmailMessage
from django.core.mail.backends import locmem

from bastion.accounts import mail
from bastion.settings import _smtp


class _SMTPHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: greet, accept one sender, recipients and a message."""

    def handle(self):
        self.reply("220 fixture ESMTP")
        envelope = {"to": []}
        while line := self.rfile.readline().decode().rstrip("\r\n"):
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 fixture")
            elif verb == "MAIL":
                envelope["from"] = line
                self.reply("250 ok")
            elif verb == "RCPT":
                envelope["to"].append(line.split(":", 1)[1].strip(" <>"))
                self.reply("250 ok")
            elif verb == "DATA":
                self.reply("354 go on")
                data = []
                while (chunk := self.rfile.readline().decode()) != ".\r\n":
                    data.append(chunk)
                self.server.received.append({**envelope, "data": "".join(data)})
                envelope = {"to": []}
                self.reply("250 queued")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 ok")

    def reply(self, text):
        self.wfile.write(text.encode() + b"\r\n")


@pytest.fixture
def smtp_server():
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SMTPHandler)
    server.daemon_threads = True
    server.received = []
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_mail_goes_through_smtp_when_a_server_is_configured(settings, smtp_server, db):
    port = smtp_server.server_address[1]
    for name, value in _smtp(f"smtp+plain://127.0.0.1:{port}").items():
        setattr(settings, name, value)
    settings.DEFAULT_FROM_EMAIL = "Bastion <bastion@index.example>"

    assert mail.send(
        "password-changed", ["a@example.org", "b@example.org"], {"user": {"username": "ann"}}
    )
    assert sorted(m["to"][0] for m in smtp_server.received) == ["a@example.org", "b@example.org"]
    message = smtp_server.received[0]
    assert "bastion@index.example" in message["from"]
    assert "Subject: Your Bastion password was changed" in message["data"]
    assert "Hello ann," in message["data"]


def test_an_unreachable_smtp_server_is_logged_and_does_not_raise(settings, caplog):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1
    assert mail.send("password-changed", ["a@example.org"], {"user": {"username": "ann"}}) is False
    assert "Could not send" in caplog.text and "1 address" in caplog.text


def test_the_smtp_url_chooses_tls_port_and_credentials():
    starttls = _smtp("smtp://me%40corp:p%3Ass@mail.example")
    assert (starttls["EMAIL_HOST"], starttls["EMAIL_PORT"]) == ("mail.example", 587)
    assert starttls["EMAIL_USE_TLS"] and not starttls["EMAIL_USE_SSL"]
    assert (starttls["EMAIL_HOST_USER"], starttls["EMAIL_HOST_PASSWORD"]) == ("me@corp", "p:ss")
    implicit = _smtp("smtps://mail.example:2465")
    assert implicit["EMAIL_USE_SSL"] and not implicit["EMAIL_USE_TLS"]
    assert implicit["EMAIL_PORT"] == 2465
    plain = _smtp("smtp+plain://127.0.0.1")
    assert not plain["EMAIL_USE_SSL"] and not plain["EMAIL_USE_TLS"] and plain["EMAIL_PORT"] == 25
    with pytest.raises(ValueError, match="BASTION_SMTP_URL"):
        _smtp("http://mail.example")


def test_nothing_is_sent_without_recipients(mailbox):
    assert mail.send("password-changed", ["", None], {}) is False
    assert mailbox == []


def test_rendering_once_per_shape_gives_what_rendering_each_mail_gives(db):
    contexts = [
        {"user": {"username": name}, "method": method, "label": label}
        for name, method, label in [
            ("ann", "An authenticator app", ""),
            ("bob", "A security key", "yubi"),
            ("zoë", "A passkey", 'my "phone"'),
            ("cy", "A security key", ""),
        ]
    ]
    assert list(mail.render_each("two-factor-added", contexts)) == [
        mail.render("two-factor-added", context) for context in contexts
    ]


def test_a_template_that_changes_a_value_it_prints_is_refused(db):
    # two-factor-added prints {{ method|capfirst }}: the marker would be capitalised, not the value
    context = {"user": {"username": "ann"}, "method": "an authenticator app", "label": ""}
    with pytest.raises(ValueError, match="changes a value it prints"):
        list(mail.render_each("two-factor-added", [context]))
    with pytest.raises(TypeError, match="give the mail its text"):
        list(mail.render_each("two-factor-added", [{**context, "when": date(2026, 12, 3)}]))


def _random_header_values(count: int):
    """ASCII values of every kind of character folding looks at, in runs that make it fold."""
    rng = random.Random(18)  # noqa: S311 - test data, repeatable
    alphabet = string.ascii_letters + string.digits + "@.-_=?<>\"'/;,():\\"
    for _ in range(count):
        words = [
            "".join(rng.choice(alphabet) for _ in range(rng.choice([1, 2, 5, 9, 14, 30, 80])))
            for _ in range(rng.randint(1, 18))
        ]
        gaps = [rng.choice([" ", " ", " ", "  ", "\t", " \t"]) for _ in words]
        yield "".join(word + gap for word, gap in zip(words, gaps, strict=True)).rstrip(
            rng.choice(["", " \t"])
        )


def test_folding_by_shape_writes_what_the_standard_library_writes(db):
    """Messages fold their headers once per shape (bastion.accounts.mail._FoldByShape): for
    thousands of subjects and addresses, the bytes are those of Django's own message."""
    values = list(_random_header_values(3_000))
    for index, value in enumerate(values):
        headers = {"Date": values[index - 1], "Message-ID": values[index - 2]}
        to = [values[index - 3].replace("\t", " ")]
        ours = mail._Message(subject=value, body="Hello", to=to, headers=headers).message()
        django = EmailMessage(subject=value, body="Hello", to=to, headers=headers).message()
        assert ours["Subject"] == django["Subject"], value
        for linesep in ("\n", "\r\n"):
            assert ours.as_bytes(linesep=linesep) == django.as_bytes(linesep=linesep), value


class CountingBackend(locmem.EmailBackend):
    """Django's in-memory backend, counting the connections opened."""

    opened = 0

    def open(self):
        CountingBackend.opened += 1
        return super().open()


def test_many_mails_share_a_connection_a_hundred_at_a_time(settings, mailbox):
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = 0
    mails = [(f"Subject {i}", f"Body {i}\n", [f"user{i}@example.com"]) for i in range(250)]
    assert list(mail.deliver_each([*mails, ("No one", "Body\n", [""])])) == [True] * 250 + [False]
    assert [m.to for m in mailbox] == [[f"user{i}@example.com"] for i in range(250)]
    assert CountingBackend.opened == 3
