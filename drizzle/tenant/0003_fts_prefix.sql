-- Recreates the full-text index with prefix indexes of 2 and 3 characters, so that a short prefix query
-- (`ab*`, `abc*`) is one index lookup instead of a merge of every term that starts with it.
-- The migrator runs this whole file in one transaction: a tenant file either keeps its old index or gets the
-- new one, fully rebuilt from `documents` (the content table, which this migration does not touch).
DROP TRIGGER IF EXISTS `documents_ai`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `documents_ad`;
--> statement-breakpoint
DROP TRIGGER IF EXISTS `documents_au`;
--> statement-breakpoint
DROP TABLE IF EXISTS `documents_fts`;
--> statement-breakpoint
CREATE VIRTUAL TABLE `documents_fts` USING fts5(title, content, content='documents', content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2', prefix='2 3');
--> statement-breakpoint
CREATE TRIGGER `documents_ai` AFTER INSERT ON `documents` BEGIN
  INSERT INTO documents_fts(rowid, title, content) VALUES (new.seq, new.title, new.content);
END;
--> statement-breakpoint
CREATE TRIGGER `documents_ad` AFTER DELETE ON `documents` BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, content) VALUES ('delete', old.seq, old.title, old.content);
END;
--> statement-breakpoint
CREATE TRIGGER `documents_au` AFTER UPDATE OF title, content ON `documents` BEGIN
  INSERT INTO documents_fts(documents_fts, rowid, title, content) VALUES ('delete', old.seq, old.title, old.content);
  INSERT INTO documents_fts(rowid, title, content) VALUES (new.seq, new.title, new.content);
END;
--> statement-breakpoint
INSERT INTO documents_fts(documents_fts) VALUES ('rebuild');
