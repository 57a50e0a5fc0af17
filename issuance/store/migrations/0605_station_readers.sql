-- The readers of each personalization station as the operator's dashboard shows them: one row
-- per (station, reader), written by the station after every card and every removal. It is a
-- picture of the line, not a record: the cards and their events stay the record.
CREATE TABLE station_readers (
    station         text NOT NULL,
    reader          text NOT NULL,
    line            text NOT NULL,
    position        int NOT NULL DEFAULT 0,
    state           text NOT NULL CHECK (state IN ('waiting', 'good', 'spoiled', 'stopped')),
    serial          text NOT NULL DEFAULT '',
    application_id  bigint,
    detail          text NOT NULL DEFAULT '',
    good            bigint NOT NULL DEFAULT 0,
    spoiled         bigint NOT NULL DEFAULT 0,
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (station, reader)
);

-- The throughput chart counts card events of one shift by time: a covering index keeps it to
-- the shift's rows whatever the size of the table.
CREATE INDEX card_events_at_state ON card_events (at, to_state);
