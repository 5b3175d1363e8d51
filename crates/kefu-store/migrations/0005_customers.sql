-- Customers (CRM-1): profiles, phone numbers, custom fields, assets and notes. Same rules as
-- 0001: this file runs unchanged on SQLite and PostgreSQL; ids are UUID text, times epoch ms
-- (BIGINT), JSON is TEXT, booleans are BIGINT 0/1.
--
-- Personal data at rest (SEC-2): phone numbers, ID card numbers and asset (account/order)
-- numbers are stored only encrypted (`*_enc`: "v1:" + base64(nonce || AES-256-GCM ciphertext)).
-- Lookups go through a blind index (`*_idx`: hex HMAC-SHA256 of the normalised value under a
-- key derived from the field key), never through the clear value.

-- one row: a fingerprint (an HMAC, not the key) of the field key the values below were
-- written with, so that starting with another key is refused instead of mixing keys
CREATE TABLE field_key_check (
    id           TEXT PRIMARY KEY,          -- always 'field_key'
    fingerprint  TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

CREATE TABLE customers (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    tier         TEXT NOT NULL DEFAULT 'regular'
                 CHECK (tier IN ('regular', 'silver', 'gold', 'vip')),
    email        TEXT,
    id_card_enc  TEXT,                      -- encrypted PRC resident ID number
    id_card_idx  TEXT,                      -- blind index of the ID number
    birthday     TEXT,                      -- 'YYYY-MM-DD', from the ID card or given
    gender       TEXT CHECK (gender IN ('male', 'female')),
    tags         TEXT NOT NULL DEFAULT '[]',   -- JSON list of strings
    custom       TEXT NOT NULL DEFAULT '{}',   -- JSON object: custom field key -> value
    created_by   TEXT REFERENCES users (id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    erased_at    BIGINT                     -- set when de-identified on request
);
CREATE INDEX customers_id_card_idx ON customers (id_card_idx) WHERE id_card_idx IS NOT NULL;
CREATE INDEX customers_name_idx ON customers (name, id);
CREATE INDEX customers_created_idx ON customers (created_at, id);
CREATE INDEX customers_tier_idx ON customers (tier, id);

-- the customer's tags, one row each, kept in step with customers.tags so a tag filter is an
-- index lookup
CREATE TABLE customer_tags (
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    tag          TEXT NOT NULL,
    PRIMARY KEY (tag, customer_id)
);
CREATE INDEX customer_tags_customer_idx ON customer_tags (customer_id);

-- a customer's phone numbers; one number may belong to several customers (a shared landline)
CREATE TABLE customer_phones (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    phone_idx    TEXT NOT NULL,             -- blind index of the normalised number
    phone_enc    TEXT NOT NULL,             -- encrypted normalised number
    label        TEXT NOT NULL DEFAULT '',
    position     BIGINT NOT NULL,
    CONSTRAINT customer_phones_customer_phone_uq UNIQUE (customer_id, phone_idx)
);
CREATE INDEX customer_phones_phone_idx ON customer_phones (phone_idx);

-- custom field definitions (configuration)
CREATE TABLE customer_fields (
    id          TEXT PRIMARY KEY,
    key         TEXT NOT NULL,
    label       TEXT NOT NULL,
    kind        TEXT NOT NULL CHECK (kind IN ('text', 'number', 'date', 'choice')),
    options     TEXT NOT NULL DEFAULT '[]', -- JSON list of strings (choice fields)
    required    BIGINT NOT NULL DEFAULT 0,
    position    BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    CONSTRAINT customer_fields_key_uq UNIQUE (key)
);

-- what a customer owns or did: products, orders, accounts
CREATE TABLE customer_assets (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    kind         TEXT NOT NULL CHECK (kind IN ('product', 'order', 'account')),
    name         TEXT NOT NULL,
    number_enc   TEXT,                      -- encrypted account / order / serial number
    number_idx   TEXT,                      -- blind index of the number
    fields       TEXT NOT NULL DEFAULT '{}',   -- JSON object
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX customer_assets_customer_idx ON customer_assets (customer_id);
CREATE INDEX customer_assets_number_idx ON customer_assets (number_idx) WHERE number_idx IS NOT NULL;

-- free-text notes agents leave on a customer
CREATE TABLE customer_notes (
    id           TEXT PRIMARY KEY,
    customer_id  TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    author_id    TEXT REFERENCES users (id) ON DELETE SET NULL,
    body         TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX customer_notes_customer_idx ON customer_notes (customer_id, created_at);
