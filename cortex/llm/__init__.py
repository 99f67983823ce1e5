"""Talking to language models, one concern per module.

* ``cortex.llm.base``: task types, providers, responses and errors;
* ``cortex.llm.offline``: the offline provider (no network);
* ``cortex.llm.http``: the HTTP providers and the variables that configure them;
* ``cortex.llm.router``: routing, fallback and statistics;
* ``cortex.llm.helpers``: upstream's helper coroutines;
* :mod:`cortex.llm.answers`: reading a model's answer into command lines and notes.

:mod:`cortex.llm_router` re-exports every public name of the first five, as upstream's
module did.
"""
