"""Where a residents' CSV waits between the console's preview and its apply: its own store
(``HOME/uploads/residents``) of :class:`anshin.core.uploads.UploadStore`."""

from __future__ import annotations

from anshin.core.uploads import UploadStore

_STORE = UploadStore("residents")

upload_store = _STORE.store
upload_take = _STORE.take
