-- The text-search configuration of every tenant store: PostgreSQL's default parser, accents folded
-- (unaccent, a trusted extension) and English Snowball stemming WITHOUT a stop-word list, the closest match
-- to libSQL's `porter unicode61 remove_diacritics 2` tokenizer (which stems and has no stop words: "the" or
-- "not" are searchable there, so they must be here). Lives in `public`, once per database; every tenant
-- schema and tenant database refers to it as public.mcp_mt_english.
CREATE EXTENSION IF NOT EXISTS unaccent WITH SCHEMA public;
--> statement-breakpoint
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'mcp_mt_english_stem' AND dictnamespace = 'public'::regnamespace) THEN
    CREATE TEXT SEARCH DICTIONARY public.mcp_mt_english_stem (TEMPLATE = pg_catalog.snowball, Language = english);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'mcp_mt_english' AND cfgnamespace = 'public'::regnamespace) THEN
    CREATE TEXT SEARCH CONFIGURATION public.mcp_mt_english (COPY = pg_catalog.simple);
    ALTER TEXT SEARCH CONFIGURATION public.mcp_mt_english
      ALTER MAPPING FOR asciiword, asciihword, hword_asciipart, word, hword, hword_part WITH public.unaccent, public.mcp_mt_english_stem;
  END IF;
END $$;
