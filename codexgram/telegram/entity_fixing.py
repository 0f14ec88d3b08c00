"""How Telegram tidies parsed entities before it stores a message (pure).

A reading of TDLib's ``fix_entities`` (``td/telegram/MessageEntity.cpp``), which ``fix_formatted_text`` runs
on what ``parse_html`` produced:

- order: offset, longer first, then a fixed type priority (``MessageEntity::operator<``);
- "continuous" entities (links, code, pre, custom emoji, dates) never nest or overlap: of two, the one that
  sorts first stays, and blockquotes do not nest either; a continuous entity reaching out of a blockquote
  goes;
- "splittable" entities (bold, italic, underline, strikethrough, spoiler) are cut at every boundary of a
  continuous entity and of any other splittable entity starting inside them, parts inside code, pre or a
  date are dropped, and same-type neighbours are merged: ``<b>a<i>b</i>c</b>`` comes back as bold 0-1,
  bold 1-3, italic 1-2.

Not modelled: the trimming and the automatic entities (URLs, mentions...) ``fix_formatted_text`` adds.
"""

from __future__ import annotations

from codexgram.telegram.types import MessageEntity

__all__ = ["fix_entities", "type_priority"]

# MessageEntity::get_type_priority; types not listed (mentions, URLs, hashtags...) are 50.
_TYPE_PRIORITY = {
    "bold": 90,
    "italic": 91,
    "code": 20,
    "pre": 11,
    "text_link": 49,
    "text_mention": 49,
    "underline": 92,
    "strikethrough": 93,
    "blockquote": 0,
    "spoiler": 94,
    "custom_emoji": 99,
    "expandable_blockquote": 0,
    "date_time": 30,
}
# In the order TDLib flushes them at a boundary.
_SPLITTABLE = ("bold", "italic", "underline", "strikethrough", "spoiler")
_BLOCKQUOTES = frozenset({"blockquote", "expandable_blockquote"})
_NO_NESTED_ENTITIES = frozenset({"pre", "code", "date_time"})  # TDLib's "pre entities" mask


def type_priority(entity: MessageEntity) -> int:
    """Lower sorts first (outside) among entities with the same range."""
    if entity.type == "pre" and entity.language:
        return 10  # TDLib's PreCode
    return _TYPE_PRIORITY.get(entity.type, 50)


def _sorted(entities: list[MessageEntity]) -> list[MessageEntity]:
    return sorted(entities, key=lambda e: (e.offset, -e.length, type_priority(e)))


def _end(entity: MessageEntity) -> int:
    return entity.offset + entity.length


def fix_entities(entities: list[MessageEntity]) -> list[MessageEntity]:
    """Telegram's tidy-up of ``entities`` (any order, positive lengths); returns them sorted."""
    ordered = _sorted(entities)
    splittable = [e for e in ordered if e.type in _SPLITTABLE]
    blockquotes = _without_intersecting([e for e in ordered if e.type in _BLOCKQUOTES])
    continuous = _without_intersecting(
        [e for e in ordered if e.type not in _SPLITTABLE and e.type not in _BLOCKQUOTES]
    )
    continuous = _sorted(_outside_blockquotes(continuous, blockquotes) + blockquotes)
    return _sorted(_split(splittable, continuous) + continuous)


def _without_intersecting(ordered: list[MessageEntity]) -> list[MessageEntity]:
    """Keep an entity only if it starts after every kept one ended (drops nested ones too)."""
    kept: list[MessageEntity] = []
    last_end = 0
    for entity in ordered:
        if entity.offset >= last_end:
            kept.append(entity)
            last_end = _end(entity)
    return kept


def _outside_blockquotes(
    ordered: list[MessageEntity], blockquotes: list[MessageEntity]
) -> list[MessageEntity]:
    """Drop entities that reach out of a blockquote or start before one and end inside or after its start."""
    kept: list[MessageEntity] = []
    index = 0
    for entity in ordered:
        while index < len(blockquotes) and _end(blockquotes[index]) <= entity.offset:
            index += 1
        if index < len(blockquotes):
            quote = blockquotes[index]
            if _end(quote) < _end(entity) or entity.offset < quote.offset < _end(entity):
                continue
        kept.append(entity)
    return kept


class _Splitter:
    """TDLib's split_entities: walks the splittable entities against the (non-overlapping) others."""

    def __init__(self, splittable: list[MessageEntity]) -> None:
        self.pending = splittable
        self.next = 0
        self.begin = dict.fromkeys(_SPLITTABLE, 0)
        self.end = dict.fromkeys(_SPLITTABLE, 0)  # 0: no open run of this type
        self.result: list[MessageEntity] = []

    def flush(self, offset: int) -> None:
        for kind in _SPLITTABLE:
            begin, end = self.begin[kind], self.end[kind]
            if end == 0 or begin >= offset:
                continue
            if end <= offset:
                self.result.append(MessageEntity(type=kind, offset=begin, length=end - begin))
                self.begin[kind] = self.end[kind] = 0
            else:
                self.result.append(MessageEntity(type=kind, offset=begin, length=offset - begin))
                self.begin[kind] = offset

    def add_until(self, end_offset: int) -> None:
        while self.next < len(self.pending) and self.pending[self.next].offset < end_offset:
            entity = self.pending[self.next]
            kind = entity.type
            if self.end[kind] != 0 and entity.offset <= self.end[kind]:
                self.end[kind] = max(self.end[kind], _end(entity))  # overlapping or adjacent: merged
            else:
                self.flush(entity.offset)
                self.begin[kind], self.end[kind] = entity.offset, _end(entity)
            self.next += 1
        self.flush(end_offset)


def _split(splittable: list[MessageEntity], others: list[MessageEntity]) -> list[MessageEntity]:
    splitter = _Splitter(splittable)
    enclosing: list[MessageEntity] = []

    def advance_to(offset: int) -> None:
        while enclosing and offset >= _end(enclosing[-1]):
            closed = enclosing.pop()
            kept = len(splitter.result)
            splitter.add_until(_end(closed))
            if closed.type in _NO_NESTED_ENTITIES:
                del splitter.result[kept:]
        splitter.add_until(offset)

    for other in others:
        advance_to(other.offset)
        enclosing.append(other)
    advance_to(2**31 - 1)
    return splitter.result
