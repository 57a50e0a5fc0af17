-- Reports against issued cards (lost, stolen, damaged, revoked by an officer). A card with
-- a report is revoked: counters (`cccd verify`, personalization/verify's StatusSource)
-- refuse it. Written by `cccd revoke` (workflow.Engine.RevokeCard) together with the card's
-- state change issued -> revoked.
CREATE TABLE card_reports (
    id           bigserial PRIMARY KEY,
    serial       text NOT NULL REFERENCES cards (serial),
    kind         text NOT NULL CHECK (kind IN ('lost', 'stolen', 'damaged', 'revoked')),
    reported_by  text NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX card_reports_serial ON card_reports (serial, at);
