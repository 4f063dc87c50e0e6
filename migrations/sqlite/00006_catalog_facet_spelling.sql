-- Facets count values by their lowercase form and show one spelling as
-- written for each: the smallest original. This partial index holds only
-- the rows whose original differs from the lowercase value (few), so that
-- spelling is one index seek per distinct value, while the count stays an
-- index-only scan of catalog_search_key_value.

-- +goose Up
CREATE INDEX catalog_search_original ON catalog_search (key, value, original) WHERE original IS NOT NULL;

-- +goose Down
DROP INDEX catalog_search_original;
