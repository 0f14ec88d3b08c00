"""The conversation, as pure logic: the gate, what a chat does with an update, what a thread does with a turn,
and how all of it looks in Telegram. No trio, httpx or apsw here: the actors in ``codexgram.actors`` run these
cores and carry out what they decide."""
