-- What the station read back from each chip after locking it (post-personalization QC):
-- the print queue compares the printed face with it.
CREATE TABLE card_readback (
    serial  text PRIMARY KEY REFERENCES cards (serial),
    dg1     bytea NOT NULL,
    dg13    bytea NOT NULL,
    at      timestamptz NOT NULL DEFAULT now()
);
