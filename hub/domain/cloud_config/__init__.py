"""The configuration the cloud pushes, applied to the hub's own tables (issue 6).

- :mod:`.model`: decoding a delta's items up front, the outcome and the config state.
- :mod:`.catalog`, :mod:`.pos`: one writer per section, upserting by the cloud's ids.
- :mod:`.checks`: references checked on the state a delta leaves behind.
- :mod:`.apply`: :func:`apply`, one transaction or a recorded rejection.
- :mod:`.service`: :class:`CloudConfig` for the sync layer, the API and the reported state.
"""

from hub.domain.cloud_config.apply import apply, read_state
from hub.domain.cloud_config.model import DOCUMENT_SECTIONS, AppliedConfig, ConfigRejected, ConfigState
from hub.domain.cloud_config.service import CloudConfig, ConfigDocument, ConfigDocuments

__all__ = [
    "DOCUMENT_SECTIONS",
    "AppliedConfig",
    "CloudConfig",
    "ConfigDocument",
    "ConfigDocuments",
    "ConfigRejected",
    "ConfigState",
    "apply",
    "read_state",
]
