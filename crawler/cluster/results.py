"""A crawl result as a Redis Stream entry, and back.

JSON and two binary fields, never pickle: the writer reads whatever is in the stream,
and the archive should not run code that a stray Redis client put there. The page goes
as the worker compressed it (a twentieth of its bytes); the writer gets its raw length
back by decompressing, which zstd does at about 1 GB/s.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from archive.pagecodec import decompress_page
from archive.store import FetchedPage
from crawler.items import AliasItem, FailureItem, ListingItem, PageItem, RemovedItem
from pipelines.dedup import SIGNATURE, Fingerprint
from pipelines.dedup import fingerprint as dedup_fingerprint

Item = PageItem | FailureItem | RemovedItem | ListingItem | AliasItem
_SIMPLE = {"failure": FailureItem, "removed": RemovedItem, "alias": AliasItem}


@dataclass
class Result:
    """One stream entry: the item, its run and the node that fetched it."""

    item: Item
    run: str
    node: str


def encode(item: Item, run: str, node: str) -> dict[str, bytes]:
    """The stream entry's fields for `item`."""
    meta: dict[str, Any] = {"run": run, "node": node}
    fields: dict[str, bytes] = {}
    if isinstance(item, PageItem):
        page = item.page
        meta.update(type="page", source=item.source, profile=item.profile,
                    revisit=item.revisit, article=item.article, segmented=item.segmented,
                    codec=item.body_codec, previous_segmented=item.previous_segmented,
                    extract_error=item.extract_error,
                    page={"url": page.url, "final_url": page.final_url,
                          "status": page.status, "headers": page.headers,
                          "fetched_at": page.fetched_at})
        if item.body_blob is None or item.body_codec is None:
            # Extraction failed before compressing: the raw page, as the archive keeps it.
            meta["codec"] = None
            fields["body"] = page.body
        else:
            fields["body"] = item.body_blob
        if item.fingerprint is not None:
            meta["bands"] = list(item.fingerprint.bands)
            meta["signature"] = SIGNATURE
            fields["hashvalues"] = item.fingerprint.hashvalues
    elif isinstance(item, ListingItem):
        meta.update(type="listing", source=item.source, url=item.url, status=item.status,
                    etag=item.etag, last_modified=item.last_modified, links=item.links,
                    children=item.children)
    else:
        kind = next(k for k, cls in _SIMPLE.items() if isinstance(item, cls))
        meta.update(type=kind, **item.__dict__)
    fields["meta"] = json.dumps(meta, ensure_ascii=False).encode("utf-8")
    return fields


def decode(fields: dict[bytes, bytes]) -> Result:
    """The Result a stream entry holds; ValueError if it is not one."""
    try:
        meta = json.loads(fields[b"meta"])
        kind = meta.pop("type")
        run, node = str(meta.pop("run")), str(meta.pop("node"))
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"not a crawl result: {exc}") from exc
    if kind == "page":
        return Result(_page_item(meta, fields), run, node)
    if kind == "listing":
        return Result(ListingItem(meta["source"], meta["url"], meta["status"], meta["etag"],
                                  meta["last_modified"], tuple(meta["links"]),
                                  tuple(meta["children"])), run, node)
    if kind in _SIMPLE:
        return Result(_SIMPLE[kind](**meta), run, node)
    raise ValueError(f"not a crawl result: type {kind!r}")


def _page_item(meta: dict[str, Any], fields: dict[bytes, bytes]) -> PageItem:
    blob, codec = fields.get(b"body", b""), meta["codec"]
    raw = blob if codec is None else decompress_page(None, (blob, codec))
    fingerprint = None
    if meta.get("signature") == SIGNATURE and b"hashvalues" in fields:
        fingerprint = Fingerprint(fields[b"hashvalues"], tuple(meta["bands"]))
    elif b"hashvalues" in fields:  # a node of another version: its kind never compares
        fingerprint = dedup_fingerprint(meta["article"]["text"])
    previous = meta["previous_segmented"]
    return PageItem(
        source=meta["source"], profile=meta["profile"], revisit=meta["revisit"],
        page=FetchedPage(body=raw, **meta["page"]), article=meta["article"],
        fingerprint=fingerprint,
        segmented=tuple(meta["segmented"]) if meta["segmented"] else None,
        body_blob=blob if codec else None, body_codec=codec,
        previous_segmented=(tuple(previous[0]), tuple(previous[1])) if previous else None,
        extract_error=meta["extract_error"])
