"""The upstream's part of the read path: pages and files for names not hosted here.

``bastion.simple.readpath`` calls in here only after the local page tree had nothing for the
name, so local pages pay nothing for the upstream. A cached upstream page younger than the TTL
costs one more ``stat``; everything else (the database, the network) happens only on a miss.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings

from bastion.downloads.useragents import UPSTREAM_SOURCE
from bastion.packaging import storage
from bastion.simple import files
from bastion.simple.replies import Reply, plain
from bastion.upstream import services
from bastion.upstream.services import HEADER, Outcome, Refused

enabled = services.enabled
_Page = TypeVar("_Page")  # bastion.simple.readpath's Page, which imports this module
_FILE = re.compile(r"upstream/(?P<sha256>[0-9a-f]{64})/(?P<filename>[A-Za-z0-9][^/]*)")


def fresh_page(cache, live_root: str, name: str, page_file: str):
    """The cached upstream page while it is fresh (and the name not excluded), else None.

    ``live_root`` is the local tree's ``simple/`` directory; the upstream tree is its sibling.
    One ``stat``, no database: this is how every cached upstream page is served.
    """
    path = f"{live_root.removesuffix('simple')}upstream/{name}/{page_file}"
    page = cache.get(path, modified_since=time.time() - settings.UPSTREAM_PAGE_TTL)
    if page is None or (settings.UPSTREAM_EXCLUDE and services.excluded(name)):
        return None
    return page


def refreshed_page(
    cache, name: str, page_file: str, render_local: Callable[[str, str], _Page | None]
) -> Reply | tuple[_Page, list[tuple[str, str]]]:
    """Refresh the name's page from the upstream; the page and its header, or an error reply.

    Call with the database available (inside the read path's request signals).
    """
    try:
        outcome = services.refresh_page(name)
    except Refused as refused:
        return plain(refused.status, refused.message)
    if outcome is None:
        return plain(404, f"Not Found: no project named {name!r} here or on the upstream index")
    if outcome is Outcome.LOCAL:
        page = render_local(name, page_file)
        return (page, []) if page is not None else plain(404, "Not Found")
    page = cache.get(services.page_path(name, page_file))
    if page is None:  # dropped by a purge meanwhile
        return plain(404, f"Not Found: no project named {name!r}")
    return page, [(HEADER, outcome.value)]


def serve_file(environ: dict, key: str) -> Reply:
    """``/files/upstream/<sha256>/<filename>``: from storage, fetched on its first request.

    A bucket's redirect would not say whether the file is there, so with one the file is
    ensured first (a ``HEAD``, and the fetch if it is missing).
    """
    match = _FILE.fullmatch(key)
    if match is None or not services.enabled():
        return plain(404, "Not Found")
    sha256, filename = match["sha256"], match["filename"]
    if not storage.backend().serves_by_redirect:  # opening the file tells whether it is kept
        reply = files.serve_stored(environ, key, sha256, UPSTREAM_SOURCE)
        if reply.status != 404:
            if settings.UPSTREAM_CACHE_BYTES:
                services.note_use(key)
            return reply
    from django.core.signals import request_finished, request_started

    request_started.send(sender=serve_file)
    try:
        services.ensure_file(sha256, filename)
    except Refused as refused:
        return plain(refused.status, refused.message)
    finally:
        request_finished.send(sender=serve_file)
    return files.serve_stored(environ, key, sha256, UPSTREAM_SOURCE)
