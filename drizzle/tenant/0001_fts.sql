-- Full-text index over title and content, kept in sync with documents by triggers.
CREATE VIRTUAL TABLE `documents_fts` USING fts5(title, content, content='documents', content_rowid='seq', tokenize='porter unicode61 remove_diacritics 2');
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
-- Index rows written before this migration.
INSERT INTO documents_fts(documents_fts) VALUES ('rebuild');
