"""Plan: what bringing a store up to date with a corpus folder does (add, replace, remove), and the Report
that says how the two stand afterwards."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal, get_args

from ..documents.document import Chunk, Document
from ..stores.base import Listing, signature

Update = Literal["add", "sync", "rebuild", "none"]   # what a sync does with the corpus folder (see plan())
UPDATES: tuple[str, ...] = get_args(Update)


@dataclass(frozen=True)
class Report:
    """How a store stands against its corpus folder after a sync, and what the sync changed.
    A sync never deletes: rows leave a store only through a remove or an explicit rebuild."""
    added: tuple[str, ...] = ()              # documents new to the store, embedded and added now
    replaced: tuple[str, ...] = ()           # changed in the folder and re-indexed (`reform-qa index`)
    removed: tuple[str, ...] = ()            # deleted from the store (a rebuild of a folder that lacks them)
    only_in_store: tuple[str, ...] = ()      # kept: the folder lacks them (another folder's, or deleted there)
    changed_in_folder: tuple[str, ...] = ()  # kept as indexed: the folder has another version
    not_written: str = ""                    # why the folder's new documents are not in the index yet
    embedded: int = 0                        # chunks embedded by this sync (the rest had vectors)

    def notices(self) -> list[str]:
        """What a person should know about the differences, one line each, with the command that acts."""
        lines = []
        if self.removed:
            lines.append(f"removed from the index: {', '.join(self.removed)}")
        if self.only_in_store:
            lines.append(f"the index has {len(self.only_in_store)} documents the corpus folder lacks, kept and "
                         f"searchable: {', '.join(self.only_in_store[:10])}{' …' if len(self.only_in_store) > 10 else ''}"
                         "; `reform-qa remove ID` deletes one")
        if self.not_written:
            lines.append(self.not_written)
        if self.changed_in_folder:
            lines.append(f"{len(self.changed_in_folder)} documents differ from the corpus folder and are searched "
                         f"as indexed: {', '.join(self.changed_in_folder[:10])}; `reform-qa index` re-indexes them")
        return lines


@dataclass(frozen=True)
class Plan:
    """What a sync does with a corpus folder: the documents to add, replace and remove."""
    add: list[str]
    replace: list[str]
    remove: list[str]
    report: Report


def plan(had: dict[str, tuple[Document, str]], has: dict[str, tuple[Document, str]], update: Update) -> Plan:
    """Compare a store with a corpus folder. update "add" (any open) adds the folder's new documents;
    "sync" (`reform-qa index`) also replaces the ones that changed; "rebuild" makes the store the folder,
    removing what the folder lacks; "none" only reports. had and has are contents(): documents count as
    changed when their metadata (but the file path) or chunk ids differ."""
    if update not in UPDATES:
        raise ValueError(f"unknown update {update!r}: use one of {', '.join(UPDATES)}")
    new = [d for d in has if d not in had]
    changed = [d for d in has if d in had and had[d] != has[d]]
    missing = [d for d in had if d not in has]
    if update == "rebuild":
        return Plan(list(has), [], missing, Report(added=tuple(new), replaced=tuple(changed), removed=tuple(missing)))
    replace_ = changed if update == "sync" else []
    if update == "none":
        new = []
    return Plan(new, replace_, [], Report(tuple(new), tuple(replace_), (), tuple(missing),
                                          tuple(d for d in changed if d not in replace_)))


def contents(documents: list[Document], chunks: list[Chunk]) -> dict[str, tuple[Document, str]]:
    """Each document (without its file path) with the signature of its chunk ids, as plan() compares them."""
    ids: dict[str, list[str]] = {d.doc_id: [] for d in documents}
    for c in chunks:
        ids.setdefault(c.doc_id, []).append(c.id)
    return {d.doc_id: (replace(d, path=""), signature(ids[d.doc_id])) for d in documents}


def held(listing: Listing) -> dict[str, tuple[Document, str]]:
    """What a store lists, as plan() compares it with contents() of a folder."""
    return {d.doc_id: (replace(d, path=""), listing.signatures.get(d.doc_id, "")) for d in listing.documents}
