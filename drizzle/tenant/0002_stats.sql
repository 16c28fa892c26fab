-- Running totals of the tenant's storage, kept by triggers so quota checks cost O(1).
CREATE TABLE `tenant_stats` (`id` integer PRIMARY KEY CHECK (id = 1), `documents` integer NOT NULL, `bytes` integer NOT NULL);
--> statement-breakpoint
INSERT INTO `tenant_stats` (id, documents, bytes) SELECT 1, count(*), coalesce(sum(bytes), 0) FROM documents;
--> statement-breakpoint
CREATE TRIGGER `documents_stats_ai` AFTER INSERT ON `documents` BEGIN
  UPDATE tenant_stats SET documents = documents + 1, bytes = bytes + new.bytes WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `documents_stats_ad` AFTER DELETE ON `documents` BEGIN
  UPDATE tenant_stats SET documents = documents - 1, bytes = bytes - old.bytes WHERE id = 1;
END;
--> statement-breakpoint
CREATE TRIGGER `documents_stats_au` AFTER UPDATE OF bytes ON `documents` BEGIN
  UPDATE tenant_stats SET bytes = bytes - old.bytes + new.bytes WHERE id = 1;
END;
