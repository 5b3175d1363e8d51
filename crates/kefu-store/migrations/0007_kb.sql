-- The knowledge base: articles, FAQ entries (title = question, body = answer) and case
-- studies, each with its full version history. Same rules as 0001: this file runs unchanged
-- on SQLite and PostgreSQL; ids are UUID text, times epoch ms (BIGINT), JSON is TEXT.
-- The full-text index (tantivy, in the data directory) is derived from these rows and can
-- be rebuilt from them at any time.

CREATE TABLE kb_articles (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('article', 'faq', 'case')),
    title          TEXT NOT NULL,
    body           TEXT NOT NULL,               -- Markdown
    category       TEXT NOT NULL,               -- 产品 / 政策 / FAQ / 操作指南 / 案例 …
    tags           TEXT NOT NULL DEFAULT '[]',  -- JSON list of strings
    product        TEXT,
    status         TEXT NOT NULL CHECK (status IN ('draft', 'published')),
    valid_from     BIGINT,                      -- NULL: valid since ever
    valid_to       BIGINT,                      -- NULL: valid for ever; exclusive end
    author_id      TEXT REFERENCES users (id) ON DELETE SET NULL,
    source_ticket  TEXT,                        -- the work order a case study was made from
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX kb_articles_updated_idx ON kb_articles (updated_at, id);
CREATE INDEX kb_articles_kind_idx ON kb_articles (kind, updated_at);

-- every saved state of an article, version 1 being the creation; deleted with the article
CREATE TABLE kb_article_versions (
    article_id  TEXT NOT NULL REFERENCES kb_articles (id) ON DELETE CASCADE,
    version     BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    title       TEXT NOT NULL,
    body        TEXT NOT NULL,
    category    TEXT NOT NULL,
    tags        TEXT NOT NULL,
    product     TEXT,
    valid_from  BIGINT,
    valid_to    BIGINT,
    status      TEXT NOT NULL,
    author_id   TEXT REFERENCES users (id) ON DELETE SET NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (article_id, version)
);
