-- Hub store, schema 12: devices adopted at runtime (hub.devices.adoption).
--
-- Devices in hub.toml are fixed by the file; a technician adopts the rest from what discovery
-- found (`smartpos-hub devices adopt`). They live here so they survive restarts, and can be
-- removed again. `found_id` is the discovery id the device was adopted from, so the same
-- physical device, seen again after a replug, is shown as adopted rather than as new.

CREATE TABLE adopted_devices (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    driver     TEXT NOT NULL,
    url        TEXT NOT NULL,
    name       TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    terminal   TEXT NOT NULL DEFAULT '',
    station    TEXT NOT NULL DEFAULT '',
    options    TEXT NOT NULL DEFAULT '{}',  -- JSON, checked by the driver's options struct
    found_id   TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE UNIQUE INDEX adopted_devices_found ON adopted_devices (found_id) WHERE found_id IS NOT NULL;
