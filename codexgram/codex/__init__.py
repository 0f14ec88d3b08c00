"""The Codex app-server protocol, pure (no trio): types, the converter, thread ids, the turn lifecycle.

See ``docs/codex-protocol.md``. Modules: ``items``, ``requests``, ``notifications``, ``server_requests`` (the
wire types), ``converter`` (encode/decode), ``thread_ids`` (``thread_id_of``), ``turn_transcript`` and
``lifecycle`` (what a thread actor tracks). ``transport`` is the one trio module here (owned by the link).
"""
